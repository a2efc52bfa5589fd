"""Turning one row of someone else's file into typed facts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from perfectorder.domain.imports import RowError, mapping_from_dict, parse_row

MAPPING = mapping_from_dict(
    {
        "file": {"timezone": "America/Sao_Paulo", "missing": ["Date Not Captured"]},
        "columns": {"order_ref": "id", "ordered_at": "t", "delivered_at": "d"},
        "formats": {"*": ["%Y-%m-%d %H:%M:%S", "%d-%b-%y"], "delivered_at": ["%Y-%m-%d", "%d/%m/%Y %H:%M"]},
    }
)


@pytest.mark.parametrize(
    ("ordered", "delivered", "expected"),
    [
        ("2017-10-02 10:56:33", "2017-10-10", datetime(2017, 10, 10)),
        ("02-Oct-17", "10/10/2017 21:25", datetime(2017, 10, 10, 21, 25)),
        ("2017-10-02 10:56:33", "Date Not Captured", None),
        ("2017-10-02 10:56:33", "  ", None),
    ],
)
def test_several_formats_per_column_and_missing_tokens(ordered, delivered, expected):
    order = parse_row(MAPPING, {"id": "A", "t": ordered, "d": delivered})
    zone = ZoneInfo("America/Sao_Paulo")
    assert order.ordered_at.tzinfo == zone
    assert order.delivered_at == (expected.replace(tzinfo=zone) if expected else None)


@pytest.mark.parametrize(
    "value",
    [
        "2017-10-02",
        "2017-10-02T10:56:33",
        "2017-10-02 10:56:33.5",
        "17-10-02 10:56:33",
        "2017-13-02 10:56:33",
    ],
)
def test_the_fast_iso_path_is_as_strict_as_the_pattern(value):
    strict = mapping_from_dict(
        {"columns": {"order_ref": "id", "ordered_at": "t"}, "formats": {"*": "%Y-%m-%d %H:%M:%S"}}
    )
    with pytest.raises(RowError) as e:
        parse_row(strict, {"id": "A", "t": value})
    assert (e.value.code, e.value.column) == ("invalid_date", "t")
    parsed = parse_row(strict, {"id": "A", "t": "2017-10-02 10:56:33"}).ordered_at
    assert parsed == datetime(2017, 10, 2, 10, 56, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.90", "12.90"),
        ("12,90", "12.90"),
        ("12,5", "12.5"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("$ 1,234.56", "1234.56"),
        ("R$ 12,50", "12.50"),
        ("12.90 EUR", "12.90"),
        ("1,234", "1234"),
        ("€0.99", "0.99"),
    ],
)
def test_prices_as_people_write_them(raw, expected):
    from decimal import Decimal

    from perfectorder.domain.imports import parse_money

    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "EUR", "1.2.3", "abc", "--"])
def test_what_is_no_price_is_refused(raw):
    from decimal import Decimal, InvalidOperation

    from perfectorder.domain.imports import parse_money

    with pytest.raises((InvalidOperation, ValueError)):
        Decimal(parse_money(raw))


def test_a_declared_decimal_comma_wins_over_the_guess():
    from decimal import Decimal

    from perfectorder.domain.imports import parse_money

    assert parse_money("1,234", ",") == Decimal("1.234")
    assert parse_money("1.234", ",") == Decimal("1234")


LINES = mapping_from_dict(
    {
        "columns": {
            "order_ref": "id",
            "ordered_at": "t",
            "sku": "sku",
            "quantity": "q",
            "unit_price": "p",
            "status": "s",
            "channel": "c",
            "rating": "r",
        },
        "formats": {"*": "iso"},
        "status": {"Shipped - Delivered to Buyer": "delivered"},
        "channel": {"Amazon.in": "marketplace"},
    }
)


def _row(**changes):
    row = {
        "id": "A",
        "t": "2022-04-30T10:00:00+05:30",
        "sku": "X",
        "q": "2",
        "p": "$1,299.00",
        "s": "Shipped",
        "r": "4",
    }
    return {**row, "c": "Amazon.in", **changes}


def test_real_world_values_map_to_ours():
    order = parse_row(LINES, _row())
    assert order.status == "shipped" and order.channel == "marketplace" and order.rating == 4
    assert parse_row(LINES, _row(r="5.0")).rating == 5
    assert order.ordered_at == datetime(2022, 4, 30, 4, 30, tzinfo=UTC)
    assert order.lines[0].quantity == 2 and str(order.lines[0].unit_price) == "1299.00"
    assert parse_row(LINES, _row(s="shipped - delivered to buyer")).status == "delivered"
    assert parse_row(LINES, _row(s="Partially Shipped", c="Customer-Service")).channel == "customer_service"
    assert parse_row(LINES, _row(q="3.0", t="2022-04-30")).lines[0].quantity == 3
    # A cancelled marketplace order lists its item with quantity 0: the order stays, the line does not.
    cancelled = parse_row(LINES, _row(q="0", s="Cancelled"))
    assert cancelled.status == "cancelled" and cancelled.lines == []


@pytest.mark.parametrize(
    ("change", "code", "column"),
    [
        ({"q": "2.5"}, "invalid_number", "q"),
        ({"q": "-1"}, "out_of_range", "q"),
        ({"s": "Pending - Waiting for Pick Up"}, "unknown_status", "s"),
        ({"c": "Non-Amazon"}, "unknown_channel", "c"),
        ({"t": "30/04/2022"}, "invalid_date", "t"),
        ({"p": "n/a"}, "invalid_number", "p"),
        # Whole stars only: 4.5 was once read as 4.
        ({"r": "4.5"}, "invalid_number", "r"),
        ({"r": "6"}, "out_of_range", "r"),
    ],
)
def test_what_cannot_be_read_is_rejected_naming_the_column(change, code, column):
    with pytest.raises(RowError) as e:
        parse_row(LINES, _row(**change))
    assert (e.value.code, e.value.column) == (code, column)


def test_a_channel_map_to_no_channel_is_a_mapping_mistake():
    from perfectorder.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as e:
        mapping_from_dict(
            {"columns": {"order_ref": "id", "ordered_at": "t"}, "channel": {"Amazon": "amazon"}}
        )
    assert e.value.field == "channel.Amazon"
