"""Signed status-page links: only a genuine, unexpired token names its order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.domain.status_links import parse_tracking_urls, sign, tracking_url, verify

SECRET = "a" * 64
NOW = 1_800_000_000


def test_a_genuine_token_names_its_order_until_it_expires():
    token = sign(SECRET, 42, NOW + 60)
    assert verify(SECRET, token, NOW) == 42
    assert verify(SECRET, token, NOW + 60) is None  # expired at the second it names
    assert verify("b" * 64, token, NOW) is None  # a rotated secret revokes it


def test_another_order_or_a_longer_life_needs_a_new_signature():
    order_id, expires, mac = sign(SECRET, 42, NOW + 60).split(".")
    assert verify(SECRET, f"43.{expires}.{mac}", NOW) is None
    assert verify(SECRET, f"{order_id}.{NOW + 10**6}.{mac}", NOW) is None
    for odd in (
        "",
        "42",
        "42.1",
        "a.b.c",
        "42..x",
        f"42.{expires}.{mac}.x",
        "٤٢.1.x",
        f"-42.{expires}.{mac}",
    ):
        assert verify(SECRET, odd, NOW) is None, odd


@given(st.text(max_size=80))
def test_no_string_but_a_signed_one_opens_a_page(token):
    assert verify(SECRET, token, NOW) is None


def test_carrier_tracking_pages_are_configured_per_carrier():
    pages = parse_tracking_urls(
        "DHL=https://carrier.example/track?n={number}, UPS=https://ups.example/{number}"
    )
    assert tracking_url(pages, "DHL", "00 34/5") == "https://carrier.example/track?n=00%2034%2F5"
    assert tracking_url(pages, "GLS", "1") is None
    for bad in ("DHL", "DHL=https://carrier.example/track", "=https://x/{number}", "DHL=ftp://x/{number}"):
        with pytest.raises(ValueError, match="PERFECTORDER_TRACKING_URLS"):
            parse_tracking_urls(bad)
