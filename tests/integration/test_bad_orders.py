"""Every bad order gets its own code and the field at fault, and leaves every table untouched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from tests.factories import order_payload

ADDRESS = order_payload()["shipping_address"]


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


BAD_ORDERS: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    (
        "unknown sku",
        {"lines": [{"sku": "TEAPOT-UNOBTAINIUM", "quantity": 1}]},
        422,
        "unknown_sku",
        "lines[0].sku",
    ),
    (
        "price differs from catalog",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1, "unit_price": "9.99"}]},
        422,
        "price_mismatch",
        "lines[0].unit_price",
    ),
    (
        "zero quantity",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 0}]},
        422,
        "invalid_quantity",
        "lines[0].quantity",
    ),
    (
        "quantity above the limit",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 10_001}]},
        422,
        "quantity_above_limit",
        "lines[0].quantity",
    ),
    ("currency mismatch", {"currency": "USD"}, 422, "currency_mismatch", "currency"),
    ("unknown currency", {"currency": "XXX"}, 422, "unknown_currency", "currency"),
    (
        "duplicate lines",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1}, {"sku": "MUG-CERAMIC-BLUE", "quantity": 2}]},
        422,
        "duplicate_line",
        "lines[1].sku",
    ),
    (
        "too many lines",
        {"lines": [{"sku": f"SKU-{i}", "quantity": 1} for i in range(101)]},
        422,
        "too_many_lines",
        "lines",
    ),
    ("no lines", {"lines": []}, 422, "no_lines", "lines"),
    ("no customer", {"customer": None}, 422, "customer_required", "customer"),
    (
        "customer without email",
        {"customer": {"name": "Nameless Buyer"}},
        422,
        "customer_incomplete",
        "customer.email",
    ),
    (
        "malformed email",
        {"customer": {"name": "Ines", "email": "ines-at-example"}},
        422,
        "invalid_email",
        "customer.email",
    ),
    ("unknown customer id", {"customer": {"id": 424242}}, 422, "unknown_customer", "customer.id"),
    ("no address on file", {"shipping_address": None}, 422, "address_required", "shipping_address"),
    (
        "address without postal code",
        {"shipping_address": without(ADDRESS, "postal_code")},
        422,
        "address_incomplete",
        "shipping_address.postal_code",
    ),
    (
        "country not ISO",
        {"shipping_address": {**ADDRESS, "country": "D1"}},
        422,
        "invalid_country",
        "shipping_address.country",
    ),
    (
        "unknown shipping service",
        {"shipping_service": "teleport"},
        422,
        "unknown_shipping_service",
        "shipping_service",
    ),
    (
        "requested date in the past",
        {"requested_delivery_date": "2026-11-01"},
        422,
        "requested_date_in_past",
        "requested_delivery_date",
    ),
    ("empty external reference", {"external_ref": "  "}, 422, "external_ref_required", "external_ref"),
    ("unknown channel", {"channel": "carrier_pigeon"}, 422, "invalid_choice", "channel"),
    ("unknown field", {"discount_code": "FREE"}, 422, "unknown_field", "discount_code"),
    (
        "quantity is text",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": "two"}]},
        422,
        "invalid_type",
        "lines[0].quantity",
    ),
    (
        "more than is in stock",
        {"lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 86}]},
        409,
        "insufficient_stock",
        "lines[0].quantity",
    ),
    (
        "inactive product",
        {"lines": [{"sku": "RETIRED-TEAPOT", "quantity": 1}]},
        422,
        "inactive_sku",
        "lines[0].sku",
    ),
]


def row_counts(application) -> dict[str, int]:
    """Every table but the audit log, which records refusals on purpose."""
    with application.engine.connect() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
            if table is not t.audit_log
        }
        counts["stock.reserved"] = conn.execute(select(func.sum(t.stock.c.reserved))).scalar_one()
    return counts


@pytest.fixture
def store_with_retired_product(client):
    client.post(
        "/api/v1/products",
        json={
            "sku": "RETIRED-TEAPOT",
            "name": "Teapot (retired)",
            "price": "20.00",
            "currency": "EUR",
            "active": False,
        },
    )
    return client


def test_the_table_names_distinct_codes():
    codes = [code for _, _, _, code, _ in BAD_ORDERS]
    assert len(codes) >= 15 and len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    ("case", "change", "status", "code", "field"), BAD_ORDERS, ids=[c[0] for c in BAD_ORDERS]
)
def test_a_bad_order_is_refused_with_its_code_and_field_and_writes_nothing(
    store_with_retired_product, application, case, change, status, code, field
):
    client = store_with_retired_product
    before = row_counts(application)
    response = client.post("/api/v1/orders", json=order_payload(**change), headers={"Idempotency-Key": case})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert row_counts(application) == before
    [last] = client.get("/api/v1/audit", params={"limit": 1}).json()
    assert (last["method"], last["path"], last["status_code"], last["outcome"]) == (
        "POST",
        "/api/v1/orders",
        status,
        "refused",
    )


def test_an_oversized_body_is_refused_before_it_is_read(client, application):
    before = row_counts(application)
    payload = order_payload(note="x" * 300_000)
    response = client.post("/api/v1/orders", json=payload)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert row_counts(application) == before


def test_a_body_that_is_not_json_is_a_clear_error(client):
    response = client.post(
        "/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_json"


def test_every_problem_is_listed_when_there_are_several(client):
    response = client.post(
        "/api/v1/orders",
        json=order_payload(
            currency="EUR", lines=[{"sku": "NOPE-1", "quantity": 1}, {"sku": "NOPE-2", "quantity": -3}]
        ),
    )
    listed = response.json()["error"]["details"]["errors"]
    assert [(e["code"], e["field"]) for e in listed] == [
        ("unknown_sku", "lines[0].sku"),
        ("invalid_quantity", "lines[1].quantity"),
        ("unknown_sku", "lines[1].sku"),
    ]
