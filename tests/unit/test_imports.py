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
