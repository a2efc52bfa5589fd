"""The pattern the OpenAPI document gives text fields refuses exactly what the API refuses."""

from __future__ import annotations

import re

import pytest

from perfectorder.domain.text import bad_character, text_pattern


@pytest.mark.parametrize("multiline", [False, True])
def test_the_documented_pattern_and_the_character_check_agree_on_every_character(multiline):
    pattern = re.compile(text_pattern(multiline=multiline))
    for point in range(0x3000):
        text = f"a{chr(point)}b"
        assert bool(pattern.fullmatch(text)) == (bad_character(text, multiline=multiline) is None), hex(point)


def test_a_non_blank_pattern_needs_one_character_that_is_not_white_space():
    pattern = re.compile(text_pattern(non_blank=True))
    assert pattern.fullmatch("  damaged  ")
    assert not pattern.fullmatch("   ")
    assert not pattern.fullmatch("")
