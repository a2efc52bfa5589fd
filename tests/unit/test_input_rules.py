"""The pure rules behind strict input and safe output: text, countries, e-mail, history rows and
spreadsheet cells."""

from __future__ import annotations

import pytest

from perfectorder.adapters.files.csv_files import spreadsheet_safe
from perfectorder.domain.countries import country_code
from perfectorder.domain.emails import email_problem
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.imports import RowError, mapping_from_dict, parse_row
from perfectorder.domain.text import check_text

HISTORY = {"columns": {"order_ref": "id", "ordered_at": "at", "destination_country": "to"}}


@pytest.mark.parametrize("bad", ["\x00", "\r", "\n", "\t", "\x1b", "\x7f", "\x85", "\u2028"])
def test_one_line_text_refuses_every_control_character(bad):
    with pytest.raises(InvalidInput) as refused:
        check_text(f"ACME{bad}42", "external_ref")
    assert (refused.value.code, refused.value.field) == ("invalid_characters", "external_ref")
    assert refused.value.details["character"] == f"U+{ord(bad):04X}"


def test_multi_line_text_keeps_line_feed_and_tab_only():
    check_text("first line\n\tsecond line — ünïcödé ✓", "note", multiline=True)
    for bad in ("\r", "\x00", "\x0b"):
        with pytest.raises(InvalidInput):
            check_text(f"a{bad}b", "note", multiline=True)


def test_country_codes_are_iso_3166_with_uk_read_as_gb():
    assert [country_code(c) for c in ("de", " DE ", "UK", "gb", "BR")] == ["DE", "DE", "GB", "GB", "BR"]
    assert [country_code(c) for c in ("ZZ", "XX", "EU", "UN", "D", "DEU", "")] == [None] * 7


def test_an_email_is_one_plain_ascii_mailbox():
    assert email_problem("margot.fenwick@example.com") is None
    assert email_problem("info@münchen.de") is None  # the domain travels as IDNA
    for bad in ("a@b.com, c@d.com", '"x" <a@b.com>', "a@[10.0.0.1]", '"a b"@c.com', "a@localhost", "a@b"):
        assert email_problem(bad) is not None, bad


def test_a_history_row_with_an_unknown_country_or_a_control_character_is_rejected():
    mapping = mapping_from_dict(HISTORY)
    assert parse_row(mapping, {"id": "H-1", "at": "2026-01-05", "to": "uk"}).country == "GB"
    with pytest.raises(RowError) as unknown:
        parse_row(mapping, {"id": "H-2", "at": "2026-01-05", "to": "EU"})
    assert (unknown.value.code, unknown.value.column) == ("invalid_country", "to")
    with pytest.raises(RowError) as control:
        parse_row(mapping, {"id": "H-3\x00", "at": "2026-01-05", "to": "DE"})
    assert (control.value.code, control.value.column) == ("invalid_characters", "id")


def test_a_history_mapping_default_country_is_iso_or_zz_for_unknown():
    assert mapping_from_dict(HISTORY).country == "ZZ"
    assert mapping_from_dict({**HISTORY, "defaults": {"country": "br"}}).country == "BR"
    with pytest.raises(InvalidInput) as refused:
        mapping_from_dict({**HISTORY, "defaults": {"country": "EU"}})
    assert refused.value.field == "defaults.country"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://x.example")', '\'=HYPERLINK("http://x.example")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+2", "'\uff1d1+2"),
        ("-3", "-3"),
        ("+4.50", "+4.50"),
        ("IMP-7", "IMP-7"),
        (7, 7),
    ],
)
def test_a_spreadsheet_formula_is_written_as_text_and_a_plain_number_as_it_is(cell, written):
    assert spreadsheet_safe(cell) == written
