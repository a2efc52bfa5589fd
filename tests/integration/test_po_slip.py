"""A supplier's purchase order slips: the backorders waiting for it are promised again, marked at
risk, and each customer hears it once, by real e-mail (aiosmtpd); a second slip the same day is
told the next day, not twice in one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from perfectorder.adapters.db.tables import orders
from tests.factories import order_payload
from tests.integration.test_communication import dispatcher, drain, loopback_webhooks_application
from tests.integration.test_purchasing import SKU, make_supplier
from tests.receivers import smtp_server


@pytest.fixture
def application(migrated_database_url, clock):
    yield from loopback_webhooks_application(migrated_database_url, clock)


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


def waiting_order(client, email: str, quantity: int) -> dict:
    body = order_payload(
        lines=[{"sku": SKU, "quantity": quantity}],
        payment={"method": "invoice"},
        backorder_policy="allow",
        customer={"email": email, "name": email.split("@")[0].title()},
    )
    placed = client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["lines"][0]["backordered_qty"] > 0
    return placed.json()


def late_notices(inbox, email: str) -> int:
    return sum(1 for m in inbox.messages if m["To"] == email and str(m["Subject"]).endswith("will be late"))


def test_a_purchase_order_slip_repromises_its_backorders_and_tells_each_customer_once(
    client, application, smtp, clock
):
    inbox, port = smtp
    make_supplier(client)
    po = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 120}]},
    ).json()
    url = f"/api/v1/purchase-orders/{po['id']}"
    assert client.post(f"{url}/send").status_code == 200
    first = waiting_order(client, "ada.first@example.com", 90)  # more than the shelf holds
    second = waiting_order(client, "bo.second@example.com", 10)
    # Both promised from the purchase order's day (1 December), not the catalog's lead time.
    assert first["promised_date"] <= "2026-12-04" and second["promised_date"] <= "2026-12-04"
    mail = dispatcher(application, port)
    drain(mail, clock, rounds=3)

    moved = client.post(f"{url}/change-date", json={"promised_date": "2026-12-15", "reason": "kiln repair"})
    assert moved.status_code == 200, moved.text
    for order in (first, second):
        now = client.get(f"/api/v1/orders/{order['id']}").json()
        assert now["rescheduled_date"] > "2026-12-15" and now["promised_date"] == order["promised_date"]
        timeline = client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
        assert [e["type"] for e in timeline].count("order.delayed") == 1
    with application.engine.connect() as conn:
        flagged = dict(
            conn.execute(
                select(orders.c.id, orders.c.at_risk_reason).where(
                    orders.c.id.in_([first["id"], second["id"]])
                )
            ).all()
        )
    assert all("purchase order" in (why or "") for why in flagged.values()) and len(flagged) == 2
    # Slipping again the same day moves the dates but tells nobody twice in a day.
    assert (
        client.post(f"{url}/change-date", json={"promised_date": "2026-12-18", "reason": "kiln"}).status_code
        == 200
    )
    drain(mail, clock, rounds=3)
    assert late_notices(inbox, "ada.first@example.com") == 1
    assert late_notices(inbox, "bo.second@example.com") == 1
