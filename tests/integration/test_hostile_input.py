"""Hostile and broken requests: each gets a 4xx with the error body, and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import order_payload
from tests.integration.test_bad_orders import row_counts

INJECTION = "x'); DROP TABLE orders; --"
NESTED = "[" * 20_000 + "]" * 20_000


def raw(body: bytes | str, content_type: str = "application/json") -> dict[str, Any]:
    return {
        "content": body.encode() if isinstance(body, str) else body,
        "headers": {"content-type": content_type},
    }


# A callable stands for a request that must be built afresh each time (a streamed body is used up).
HOSTILE: list[tuple[str, str, str, Any, int]] = [
    (
        "sql in sku",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(lines=[{"sku": INJECTION, "quantity": 1}])},
        422,
    ),
    ("sql in currency", "POST", "/api/v1/orders", {"json": order_payload(currency="EUR' OR '1'='1")}, 422),
    (
        "sql in customer id",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(customer={"id": "1 OR 1=1"})},
        422,
    ),
    (
        "sql in email",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(customer={"email": "a@b.c' OR 1=1 --", "name": "X"})},
        422,
    ),
    ("sql in channel", "POST", "/api/v1/orders", {"json": order_payload(channel="web' --")}, 422),
    ("sql in status filter", "GET", "/api/v1/orders?status=approved'%20OR%20'1'='1", {}, 422),
    ("sql in cursor", "GET", "/api/v1/orders?cursor=aWQ6MSBPUiAxPTE", {}, 422),
    ("sql in path id", "GET", "/api/v1/orders/1%3BDROP%20TABLE%20orders", {}, 422),
    (
        "sql in stock sku",
        "POST",
        "/api/v1/stock/receipts",
        {"json": {"sku": INJECTION, "warehouse": "BER", "quantity": 1}},
        404,
    ),
    ("oversized body", "POST", "/api/v1/orders", {"json": order_payload(note="n" * 400_000)}, 413),
    (
        "oversized without content-length",
        "POST",
        "/api/v1/orders",
        lambda: {
            "content": iter([b"{", b" " * 300_000, b"}"]),
            "headers": {"content-type": "application/json"},
        },
        413,
    ),
    ("deeply nested arrays", "POST", "/api/v1/orders", raw(NESTED), 422),
    ("deeply nested objects", "POST", "/api/v1/orders", raw('{"a":' * 5_000 + "1" + "}" * 5_000), 422),
    ("truncated json", "POST", "/api/v1/orders", raw('{"channel": "web", "lines": ['), 422),
    ("trailing comma", "POST", "/api/v1/orders", raw('{"channel": "web",}'), 422),
    ("json array at the root", "POST", "/api/v1/orders", raw("[1, 2, 3]"), 422),
    ("bare string", "POST", "/api/v1/orders", raw('"order please"'), 422),
    ("invalid utf-8", "POST", "/api/v1/orders", raw(b'{"channel": "\xff\xfe"}'), 422),
    (
        "form instead of json",
        "POST",
        "/api/v1/orders",
        raw("channel=web&lines=1", "application/x-www-form-urlencoded"),
        422,
    ),
    (
        "NaN price",
        "POST",
        "/api/v1/orders",
        raw(json.dumps(order_payload()).replace('"unit_price": "12.90"', '"unit_price": NaN')),
        422,
    ),
    (
        "infinite amount",
        "POST",
        "/api/v1/orders",
        raw(
            json.dumps(order_payload()).replace('"authorized_amount": "25.80"', '"authorized_amount": 1e999')
        ),
        422,
    ),
    (
        "quantity beyond 64 bits",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(lines=[{"sku": "MUG-CERAMIC-BLUE", "quantity": 2**80}])},
        422,
    ),
    (
        "huge sku string",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(lines=[{"sku": "S" * 5000, "quantity": 1}])},
        422,
    ),
    (
        "null byte in reference",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(external_ref="WEB-\x00-1")},
        422,
    ),
    (
        "unknown top-level field",
        "POST",
        "/api/v1/orders",
        {"json": {**order_payload(), "is_admin": True}},
        422,
    ),
    (
        "lines as an object",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(lines={"sku": "MUG-CERAMIC-BLUE"})},
        422,
    ),
    ("limit out of range", "GET", "/api/v1/orders?limit=100000000", {}, 422),
    ("nul in a query filter", "GET", "/api/v1/stock?sku=MUG%00", {}, 422),
    ("nul in a path", "GET", "/api/v1/products/MUG%00", {}, 422),
    (
        "negative receipt",
        "POST",
        "/api/v1/stock/receipts",
        {"json": {"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER", "quantity": -50}},
        422,
    ),
    (
        "oversized idempotency key",
        "POST",
        "/api/v1/orders",
        {"json": order_payload(), "headers": {"Idempotency-Key": "k" * 1000}},
        422,
    ),
]


def test_the_table_is_long_enough():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize(("case", "method", "url", "kwargs", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_request_is_refused_and_changes_nothing(
    client, application, case, method, url, kwargs, status
):
    before = row_counts(application)
    response = client.request(method, url, **(kwargs() if callable(kwargs) else kwargs))
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body["error"]) == {"code", "message", "field", "details"}
    text = response.text.lower()
    assert "traceback" not in text and "select " not in text and "sqlalchemy" not in text
    assert row_counts(application) == before


def test_injection_text_in_free_fields_is_stored_literally(client, application):
    sneaky = order_payload(
        external_ref=INJECTION,
        note="'; DELETE FROM stock; --",
        customer={"email": "robert@example.com", "name": "Robert'); DROP TABLE customers;--"},
    )
    created = client.post("/api/v1/orders", json=sneaky)
    assert created.status_code == 201
    again = client.get(f"/api/v1/orders/{created.json()['id']}").json()
    assert again["external_ref"] == INJECTION and again["note"] == "'; DELETE FROM stock; --"
    assert len(client.get("/api/v1/stock").json()) > 0


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59"]
)
def test_dates_at_the_ends_of_the_calendar_are_refused_or_answered_never_a_500(client, moment):
    response = client.get("/api/v1/orders", params={"placed_from": moment})
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert response.json()["error"]["code"] == "out_of_range"
        assert response.json()["error"]["field"] == "placed_from"


@pytest.mark.parametrize(
    ("moment", "status"),
    [("9999-12-31T23:59:59-23:59", 422), ("2026-11-24T10:00:00", 200), ("2026-11-24T10:00:00+02:00", 200)],
)
def test_carrier_event_times_are_normalised_to_utc_or_refused(client, moment, status):
    event = {
        "carrier": "DHL",
        "event_id": f"evt-{moment}",
        "tracking_number": "NO-SUCH-TRACKING",
        "type": "in_transit",
        "occurred_at": moment,
    }
    response = client.post("/api/v1/carrier-events", json={"events": [event, {**event, "event_id": "x"}]})
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["error"]["code"] == "out_of_range"
        assert response.json()["error"]["field"] == "events[0].occurred_at"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/metrics/perfect-order",
        "/api/v1/metrics/perfect-order/trend",
        "/api/v1/metrics/kpis",
        "/api/v1/metrics/improvements",
    ],
)
@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("9999-12-31", "9999-12-31", 422),
        ("0001-01-01", "0001-01-05", 200),
        # Years of history: the same rule as `perfectorder report` (a year at most before issue 18).
        ("2016-01-01", "2026-12-31", 200),
        ("2026-12-31", "2026-01-01", 422),  # reversed
        ("1900-01-01", "2026-12-31", 422),  # over a century
    ],
)
def test_report_periods_at_the_ends_of_the_calendar_never_give_a_500(client, path, start, end, status):
    response = client.get(path, params={"from": start, "to": end})
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["error"]["code"] == "invalid_period"
