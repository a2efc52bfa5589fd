"""Replenishment over the API on the sample store: demand (served and lost) and the supplier's
lead time give each SKU and warehouse its reorder point; a suggestion accepted becomes a draft
purchase order, after which nothing more is suggested (what is on order counts); stock ages first
in, first out."""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.domain.purchasing import expected_date
from perfectorder.services import access
from tests.conftest import api_key
from tests.factories import order_payload
from tests.integration.test_purchasing import SKU, make_supplier


def units_asked(application, warehouse: str) -> int:
    with application.engine.connect() as conn:
        product = conn.execute(select(t.products.c.id).where(t.products.c.sku == SKU)).scalar_one()
        wid = conn.execute(select(t.warehouses.c.id).where(t.warehouses.c.code == warehouse)).scalar_one()
        served = conn.execute(
            select(func.coalesce(func.sum(t.allocations.c.quantity), 0)).where(
                t.allocations.c.product_id == product, t.allocations.c.warehouse_id == wid
            )
        ).scalar_one()
        lost = conn.execute(
            select(func.coalesce(func.sum(t.lost_demand.c.requested), 0)).where(
                t.lost_demand.c.product_id == product, t.lost_demand.c.warehouse_id == wid
            )
        ).scalar_one()
    return int(served) + int(lost)


def test_a_suggestion_follows_demand_and_lead_time_and_becomes_a_purchase_order(application, client):
    make_supplier(client)  # lead time 5 days, packs of 6
    for quantity in (4, 6, 3):
        assert (
            client.post(
                "/api/v1/orders",
                json=order_payload(lines=[{"sku": SKU, "quantity": quantity}], payment={"method": "invoice"}),
            ).status_code
            == 201
        )
    refused = client.post(
        "/api/v1/orders",
        json=order_payload(lines=[{"sku": SKU, "quantity": 400}], payment={"method": "invoice"}),
    )
    assert refused.status_code == 409  # lost demand: it counts as demand too

    plan = client.get("/api/v1/replenishment", params={"window_days": 7, "service_level": 0.5, "all": True})
    assert plan.status_code == 200, plan.text
    rows = {(r["sku"], r["warehouse"]): r for r in plan.json()}
    mug = rows[(SKU, "BER")]
    daily = units_asked(application, "BER") / 7
    assert mug["demand_per_day"] == round(daily, 3) and daily > 400 / 7
    # Quoted as five working days: demand runs on every calendar day until they are over.
    today = application.services.clock.now().date()
    lead = (expected_date(today, lead_time_days=5, working_days="12345") - today).days
    assert lead >= 7
    assert (mug["supplier"], mug["lead_time_days"], mug["lead_time_basis"]) == ("TIDEWATER", lead, "quoted")
    # At 50% there is no safety stock: the reorder point is the lead time's demand; the order
    # brings the position up to it plus a week's demand, in whole packs of 6.
    assert mug["safety_stock"] == 0 and mug["reorder_point"] == round(lead * daily, 2)
    assert mug["position"] <= mug["reorder_point"]
    wanted = lead * daily + 7 * daily - mug["position"]
    assert mug["quantity"] == 6 * math.ceil(wanted / 6 - 1e-9) and mug["basis"] == "review"
    assert mug["value"] == f"{mug['quantity'] * 4.2:.2f}"
    unlisted = next(r for r in plan.json() if r["sku"] != SKU)
    assert (
        unlisted["supplier"] is None
        and unlisted["quantity"] == 0
        and unlisted["lead_time_basis"] == "default"
    )

    accepted = client.post(
        "/api/v1/replenishment/accept",
        json={"lines": [{"sku": SKU, "warehouse": "BER"}], "window_days": 7, "service_level": 0.5},
    )
    assert accepted.status_code == 201, accepted.text
    [number] = accepted.json()["purchase_orders"]
    [po] = [p for p in client.get("/api/v1/purchase-orders").json() if p["number"] == number]
    assert (po["status"], po["ordered"], po["supplier"], po["warehouse"]) == (
        "draft",
        mug["quantity"],
        "TIDEWATER",
        "BER",
    )
    # On order now: nothing more to suggest, and accepting again is refused.
    again = {
        (r["sku"], r["warehouse"]): r
        for r in client.get(
            "/api/v1/replenishment", params={"window_days": 7, "service_level": 0.5, "all": True}
        ).json()
    }
    assert again[(SKU, "BER")]["position"] == mug["position"] + mug["quantity"]
    assert again[(SKU, "BER")]["quantity"] == 0
    twice = client.post(
        "/api/v1/replenishment/accept",
        json={"lines": [{"sku": SKU, "warehouse": "BER"}], "window_days": 7, "service_level": 0.5},
    )
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "nothing_to_order"

    # Tenants do not see the store's planning.
    client.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='web')}"
    assert client.get("/api/v1/replenishment").status_code == 403


def lead_of(client) -> tuple[float, str]:
    rows = client.get("/api/v1/replenishment", params={"all": True}).json()
    mug = next(r for r in rows if (r["sku"], r["warehouse"]) == (SKU, "BER"))
    return mug["lead_time_days"], mug["lead_time_basis"]


def test_the_lead_time_follows_the_suppliers_deliveries_and_its_overdue_orders(application, client, clock):
    make_supplier(client)  # quotes five working days: a week from Tuesday 24 November
    assert lead_of(client) == (7.0, "quoted")

    def sent(quantity: int = 6) -> str:
        made = client.post(
            "/api/v1/purchase-orders",
            json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": quantity}]},
        ).json()
        url = f"/api/v1/purchase-orders/{made['id']}"
        assert client.post(f"{url}/send").json()["status"] == "sent"
        return url

    # Three deliveries that took 10 days each: measured, no longer the quote.
    for _ in range(3):
        url = sent()
        clock.advance(timedelta(days=10))
        assert client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 6}).status_code == 201
    assert lead_of(client) == (10.0, "measured")
    # One out 16 days past its sending (9 past its promise) and nothing came: at least 16 now.
    sent()
    clock.advance(timedelta(days=16))
    assert lead_of(client) == (16.0, "overdue")


def test_stock_ages_first_in_first_out_and_unsold_stock_is_slow(application, client):
    ageing = client.get("/api/v1/stock-ageing")
    assert ageing.status_code == 200, ageing.text
    rows = ageing.json()
    for r in rows:
        assert sum(r["units_by_age"].values()) == r["on_hand"]
    # The sample store's opening stock came today, and nothing has been picked yet.
    stocked = [r for r in rows if r["on_hand"] > 0]
    assert stocked and all(r["units_by_age"]["0-30"] == r["on_hand"] for r in stocked)
    assert all(r["slow"] and r["last_sale"] is None for r in stocked)
    slow = client.get("/api/v1/stock-ageing", params={"slow": True}).json()
    assert len(slow) == len(stocked)


def test_the_replenishment_page_shows_the_apis_suggestions(application, client):
    make_supplier(client)
    refused = client.post(
        "/api/v1/orders",
        json=order_payload(lines=[{"sku": SKU, "quantity": 400}], payment={"method": "invoice"}),
    )
    assert refused.status_code == 409
    suggested = client.get("/api/v1/replenishment").json()
    assert suggested and suggested[0]["sku"] == SKU
    access.create_user(
        application.services,
        application.passwords,
        username="rhea",
        password="correct horse battery",
        role=Role.ANALYST,
    )
    with TestClient(create_app(application=application), base_url="https://testserver") as page:
        assert (
            page.post("/login", data={"username": "rhea", "password": "correct horse battery"}).status_code
            == 200
        )
        html = page.get("/replenishment").text
        rows = html.split('<table id="replenishment">')[1].split("</tbody>")[0].split("<tr>")[2:]
        assert len(rows) == len(suggested)
        for row, api in zip(rows, suggested, strict=True):
            assert f"<td>{api['sku']}</td><td>{api['warehouse']}</td>" in row
            assert f"<strong>{api['quantity']}</strong>" in row
        ageing = page.get("/replenishment", params={"view": "ageing"}).text
        assert 'id="ageing"' in ageing and "never" in ageing
