"""Placing orders through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from tests.factories import one_line, order_payload


def stock_row(client, sku: str, warehouse: str) -> dict:
    [row] = client.get("/api/v1/stock", params={"sku": sku, "warehouse": warehouse}).json()
    return row


def test_a_paid_order_is_verified_reserved_promised_and_approved(client):
    response = client.post("/api/v1/orders", json=order_payload())
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "approved"
    assert order["total"] == "25.80"
    assert order["lines"][0]["allocations"] == [
        {
            "warehouse": "BER",
            "quantity": 2,
            "reserves_stock": True,
            "status": "reserved",
            "planned_ship_date": "2026-11-24",
        }
    ]
    # Tuesday 09:00 in Berlin, before the 15:00 cut-off: ships today, DHL standard takes 2 working days.
    assert order["promised_date"] == "2026-11-26"
    assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert stock_row(client, "MUG-CERAMIC-BLUE", "BER")["reserved"] == 2
    assert client.get(f"/api/v1/orders/{order['id']}").json() == order


def test_the_timeline_records_each_step_in_order(client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    events = client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
    assert [e["type"] for e in events] == [
        "order.placed",
        "order.verified",
        "order.stock_reserved",
        "order.promised",
        "order.approved",
    ]
    assert events[0]["data"]["total"] == {"amount": "25.80", "currency": "EUR"}
    assert events[3]["data"] == {"promised_date": "2026-11-26", "ship_date": "2026-11-24"}


def test_an_unpaid_order_is_held_for_payment_and_released_by_an_operator(client):
    payload = order_payload(payment={"method": "card", "status": "pending"})
    order = client.post("/api/v1/orders", json=payload).json()
    assert order["status"] == "on_hold"
    [hold] = order["holds"]
    assert hold["reason"] == "payment"
    released = client.post(
        f"/api/v1/orders/{order['id']}/holds/{hold['id']}/release", json={"note": "paid by bank transfer"}
    )
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "approved"
    types = [e["type"] for e in client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]]
    assert types[-2:] == ["order.hold_released", "order.approved"]


def test_a_b2b_invoice_order_is_approved_within_credit_and_held_beyond_it(client):
    b2b = client.get("/api/v1/customers", params={"email": "purchasing@hotel-aurora.example"}).json()[0]
    base = order_payload(customer={"id": b2b["id"]}, payment={"method": "invoice"})
    base.pop("shipping_address")
    chairs = client.post(
        "/api/v1/orders", json={**base, "external_ref": "B2B-1", **one_line("CHAIR-BENTWOOD", 50)}
    )
    rugs = client.post(
        "/api/v1/orders", json={**base, "external_ref": "B2B-2", **one_line("RUG-WOOL-160", 40)}
    )
    assert [chairs.json()["status"], rugs.json()["status"]] == ["approved", "approved"], rugs.text
    tables = client.post(
        "/api/v1/orders", json={**base, "external_ref": "B2B-3", **one_line("TABLE-OAK-CUSTOM", 5)}
    )
    assert tables.json()["status"] == "on_hold"
    assert [h["reason"] for h in tables.json()["holds"]] == ["credit"]
    assert "exceeds the credit limit 20000" in tables.json()["holds"][0]["note"]
    history = client.get(f"/api/v1/customers/{b2b['id']}").json()
    # Credit in use: the approved invoice orders; the held one uses none until it is released.
    assert Decimal(history["open_balance"]) == Decimal("8950") + Decimal("9960")


def test_settling_an_earlier_invoice_releases_the_order_held_for_credit(client):
    b2b = client.get("/api/v1/customers", params={"email": "purchasing@hotel-aurora.example"}).json()[0]
    base = order_payload(customer={"id": b2b["id"]}, payment={"method": "invoice"})
    base.pop("shipping_address")
    chairs = client.post(
        "/api/v1/orders", json={**base, "external_ref": "B2B-11", **one_line("CHAIR-BENTWOOD", 50)}
    )
    client.post("/api/v1/orders", json={**base, "external_ref": "B2B-12", **one_line("RUG-WOOL-160", 40)})
    tables = client.post(
        "/api/v1/orders", json={**base, "external_ref": "B2B-13", **one_line("TABLE-OAK-CUSTOM", 5)}
    ).json()
    assert tables["status"] == "on_hold"
    part = client.post(
        f"/api/v1/orders/{chairs.json()['id']}/payments/settle",
        json={"amount": "1000.00", "reference": "SEPA-881"},
    )
    assert part.status_code == 200, part.text
    # 1,000 of 8,950 paid: 17,910 in use + 6,450 is still above the 20,000 limit.
    assert part.json()["released_orders"] == [] and part.json()["outstanding"] == "7950.00"
    rest = client.post(
        f"/api/v1/orders/{chairs.json()['id']}/payments/settle", json={"reference": "SEPA-882"}
    )
    assert rest.status_code == 200, rest.text
    assert rest.json() == {
        "order_id": chairs.json()["id"],
        "amount": "7950.00",
        "currency": "EUR",
        "outstanding": "0.00",
        "released_orders": [tables["id"]],
    }
    released = client.get(f"/api/v1/orders/{tables['id']}").json()
    assert released["status"] == "approved" and released["holds"][0]["released_at"] is not None
    again = client.post(
        f"/api/v1/orders/{chairs.json()['id']}/payments/settle", json={"reference": "SEPA-883"}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "nothing_outstanding")
    paid = client.get(f"/api/v1/orders/{chairs.json()['id']}").json()["payment"]
    assert (paid["status"], paid["paid"]) == ("paid", "8950.00")
    history = client.get(f"/api/v1/customers/{b2b['id']}/payments").json()["payments"]
    assert [(p["kind"], p["amount"], p["reference"]) for p in history] == [
        ("settlement", "7950.00", "SEPA-882"),
        ("settlement", "1000.00", "SEPA-881"),
    ]
    assert Decimal(client.get(f"/api/v1/customers/{b2b['id']}").json()["open_balance"]) == Decimal(
        "9960"
    ) + Decimal("6450")


def test_a_card_order_cannot_be_settled_like_an_invoice(client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    refused = client.post(f"/api/v1/orders/{order['id']}/payments/settle", json={"reference": "X-1"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_invoiced")


def test_an_order_larger_than_one_warehouse_is_split(client):
    order = client.post(
        "/api/v1/orders",
        json=order_payload(**one_line("KETTLE-STEEL-17", 70), payment={"method": "cash_on_delivery"}),
    ).json()
    sources = sorted((a["warehouse"], a["quantity"]) for a in order["lines"][0]["allocations"])
    assert sources == [("BER", 60), ("MAD", 10)]
    # Madrid hands over after one handling day, so the later parcel sets the promise.
    assert order["promised_ship_date"] == "2026-11-24"
    assert order["promised_date"] == "2026-11-27"


def test_a_backorder_is_held_for_stock_and_promised_after_the_supplier_lead_time(client):
    payload = order_payload(
        backorder_policy="allow", payment={"method": "cash_on_delivery"}, **one_line("LAMP-DESK-OAK", 90)
    )
    order = client.post("/api/v1/orders", json=payload).json()
    assert order["lines"][0]["backordered_qty"] == 5
    assert [h["reason"] for h in order["holds"]] == ["stock"]
    # 14 working days for the supplier, one to handle the receipt, 2 in transit.
    assert order["promised_date"] == "2026-12-17"


def test_made_to_order_lines_add_production_days_to_the_promise(client):
    order = client.post(
        "/api/v1/orders",
        json=order_payload(**one_line("TABLE-OAK-CUSTOM", 1), payment={"method": "cash_on_delivery"}),
    ).json()
    assert order["lines"][0]["allocations"][0]["reserves_stock"] is False
    assert order["promised_ship_date"] == "2026-12-08"
    assert order["promised_date"] == "2026-12-10"


def test_cancelling_before_picking_releases_the_stock_with_ledger_rows(client, application):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "customer changed mind"})
    assert cancelled.json()["status"] == "cancelled"
    assert stock_row(client, "MUG-CERAMIC-BLUE", "BER")["reserved"] == 0
    movements = client.get(
        "/api/v1/stock/ledger", params={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER"}
    ).json()
    assert [m["movement"] for m in movements] == ["receipt", "reservation", "release"]
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "twice"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_rescheduling_keeps_the_original_promise(client, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    clock.advance(timedelta(days=1))
    moved = client.post(
        f"/api/v1/orders/{order['id']}/reschedule",
        json={"new_date": "2026-12-01", "reason": "carrier strike"},
    ).json()
    assert moved["promised_date"] == order["promised_date"]
    assert moved["rescheduled_date"] == "2026-12-01"
    assert moved["reschedule_reason"] == "carrier strike"


def test_a_returning_customer_is_recognised_by_email_and_builds_a_history(client, clock):
    first = client.post("/api/v1/orders", json=order_payload()).json()
    clock.advance(timedelta(days=15))
    second = client.post("/api/v1/orders", json=order_payload(shipping_address=None)).json()
    assert second["customer_id"] == first["customer_id"]
    assert second["shipping_address"] == first["shipping_address"]
    history = client.get(f"/api/v1/customers/{first['customer_id']}").json()
    assert history["orders_count"] == 2
    assert history["total_spent"] == {"EUR": "51.60"}
    assert history["repeat_customer"] is True
    assert history["purchase_frequency_per_30d"] == 4.0


def test_orders_list_pages_with_a_cursor_and_filters(client):
    for _ in range(5):
        client.post("/api/v1/orders", json=order_payload())
    client.post("/api/v1/orders", json=order_payload(channel="phone"))
    first = client.get("/api/v1/orders", params={"limit": 4}).json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = client.get("/api/v1/orders", params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [o["id"] for o in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    phone = client.get("/api/v1/orders", params={"channel": "phone"}).json()["items"]
    assert [o["channel"] for o in phone] == ["phone"]
    bad = client.get("/api/v1/orders", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


def test_stock_receipts_and_adjustments_are_in_the_ledger_and_guarded(client, application):
    received = client.post(
        "/api/v1/stock/receipts",
        json={"sku": "VASE-GLASS-TALL", "warehouse": "MAD", "quantity": 15, "reason": "PO-7781"},
    )
    assert received.status_code == 201 and received.json()["on_hand"] == 40
    client.post(
        "/api/v1/orders",
        json=order_payload(**one_line("VASE-GLASS-TALL", 60), payment={"method": "cash_on_delivery"}),
    )
    too_much = client.post(
        "/api/v1/stock/adjustments",
        json={"sku": "VASE-GLASS-TALL", "warehouse": "BER", "delta": -1, "reason": "broken in aisle 4"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "adjustment_below_reserved"
    with application.engine.connect() as conn:
        on_hand, reserved = conn.execute(
            select(func.sum(t.stock_movements.c.on_hand_delta), func.sum(t.stock_movements.c.reserved_delta))
        ).one()
        stock_on_hand, stock_reserved = conn.execute(
            select(func.sum(t.stock.c.on_hand), func.sum(t.stock.c.reserved))
        ).one()
    assert (on_hand, reserved) == (stock_on_hand, stock_reserved)


def test_a_second_order_with_the_same_channel_reference_is_a_conflict(client):
    payload = order_payload()
    assert client.post("/api/v1/orders", json=payload).status_code == 201
    again = client.post("/api/v1/orders", json=payload)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "duplicate_order",
        "field": "external_ref",
        "details": {},
        "message": f"channel web already has an order {payload['external_ref']}; fetch it instead",
    }
