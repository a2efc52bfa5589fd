"""Suppliers and purchase orders over the API: the life cycle, receipts into stock with their ledger
rows, rejections that add nothing, the original date kept, the roles, and receipts racing on
PostgreSQL that never pass ordered plus the allowance."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.domain.errors import Conflict
from perfectorder.sample_data import load_sample_store
from perfectorder.services import purchasing
from tests.conftest import api_key, command_line, make_application

SKU = "MUG-CERAMIC-BLUE"


def make_supplier(client: TestClient, code: str = "TIDEWATER") -> None:
    made = client.post(
        "/api/v1/suppliers",
        json={
            "code": code,
            "name": "Tidewater Ceramics",
            "lead_time_days": 5,
            "working_days": "12345",
            "contact_email": "orders@tidewater.example",
        },
    )
    assert made.status_code == 201, made.text
    listed = client.post(
        f"/api/v1/suppliers/{code}/products",
        json={
            "sku": SKU,
            "supplier_sku": "TW-BLU-01",
            "unit_cost": "4.20",
            "currency": "EUR",
            "pack_size": 6,
        },
    )
    assert listed.status_code == 201, listed.text


def on_hand(application, sku: str = SKU, warehouse: str = "BER") -> int:
    with application.engine.connect() as conn:
        return conn.execute(
            select(t.stock.c.on_hand)
            .join(t.products, t.products.c.id == t.stock.c.product_id)
            .join(t.warehouses, t.warehouses.c.id == t.stock.c.warehouse_id)
            .where(t.products.c.sku == sku, t.warehouses.c.code == warehouse)
        ).scalar_one()


def ledger_for(application, po_id: int) -> list[int]:
    with application.engine.connect() as conn:
        return list(
            conn.execute(
                select(t.stock_movements.c.on_hand_delta)
                .where(
                    t.stock_movements.c.purchase_order_id == po_id, t.stock_movements.c.movement == "receipt"
                )
                .order_by(t.stock_movements.c.id)
            ).scalars()
        )


def test_a_purchase_order_lives_from_draft_to_received_with_its_timeline(application, client):
    make_supplier(client)
    created = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 24}]},
    )
    assert created.status_code == 201, created.text
    po = created.json()
    # Five working days of the supplier's from Tuesday 24 November: Tuesday 1 December.
    assert po["status"] == "draft" and po["promised_date"] == "2026-12-01"
    assert po["value"] == "100.80" and po["number"] == f"PO-{po['id']:06d}"
    url = f"/api/v1/purchase-orders/{po['id']}"
    assert client.post(f"{url}/send").json()["status"] == "sent"
    confirmed = client.post(f"{url}/confirm", json={"promised_date": "2026-12-03"}).json()
    assert confirmed["status"] == "confirmed" and confirmed["promised_date"] == "2026-12-03"
    moved = client.post(
        f"{url}/change-date", json={"promised_date": "2026-12-08", "reason": "kiln repair"}
    ).json()
    assert moved["promised_date"] == "2026-12-08" and moved["original_promised_date"] == "2026-12-01"

    before = on_hand(application)
    partial = client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 10})
    assert partial.status_code == 201 and partial.json()["status"] == "partially_received"
    rejected = client.post(
        f"{url}/receipts", json={"sku": SKU, "accepted": 0, "rejected": 4, "reason": "damaged"}
    )
    assert rejected.status_code == 201 and on_hand(application) == before + 10  # rejected units add nothing
    over = client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 15})
    assert over.status_code == 409 and over.json()["error"]["code"] == "over_receipt"
    assert over.json()["error"]["details"]["receivable"] == 14
    done = client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 14}).json()

    assert done["status"] == "received" and done["received"] == 24 and done["rejected"] == 4
    assert on_hand(application) == before + 24 and ledger_for(application, po["id"]) == [10, 14]
    assert [r["reason"] for r in done["receipts"]] == [None, "damaged", None]
    assert [e["type"] for e in done["timeline"]] == [
        "po.created",
        "po.sent",
        "po.confirmed",
        "po.date_changed",
        "po.received",
        "po.rejected",
        "po.received",
    ]
    assert done["timeline"][3]["data"] == {"old": "2026-12-03", "new": "2026-12-08", "reason": "kiln repair"}
    assert client.post(f"{url}/cancel", json={}).json()["error"]["code"] == "po_state_conflict"
    listed = client.get("/api/v1/purchase-orders", params={"status": "received"}).json()
    assert [x["id"] for x in listed] == [po["id"]]


def test_orders_that_break_the_suppliers_terms_are_refused_naming_the_field(application, client):
    make_supplier(client)
    odd = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 7}]},
    )
    assert odd.status_code == 422 and odd.json()["error"]["code"] == "invalid_order_quantity"
    unlisted = client.post(
        "/api/v1/purchase-orders",
        json={
            "supplier": "TIDEWATER",
            "warehouse": "BER",
            "lines": [{"sku": "VASE-GLASS-TALL", "quantity": 6}],
        },
    )
    assert unlisted.json()["error"] == {
        "code": "not_supplied",
        "message": "supplier TIDEWATER does not list SKU 'VASE-GLASS-TALL'",
        "field": "lines",
        "details": {},
    }
    assert (
        client.post(
            "/api/v1/suppliers", json={"code": "TIDEWATER", "name": "x", "lead_time_days": 1}
        ).status_code
        == 409
    )
    no_reason = client.post("/api/v1/purchase-orders/1/receipts", json={"sku": SKU, "rejected": 2}).json()[
        "error"
    ]
    assert no_reason["code"] == "invalid_rejection_reason" and no_reason["field"] == "reason"


def test_a_cancelled_purchase_order_takes_no_receipts(application, client):
    make_supplier(client)
    po = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 6}]},
    ).json()
    url = f"/api/v1/purchase-orders/{po['id']}"
    client.post(f"{url}/send")
    assert client.post(f"{url}/cancel", json={"reason": "found cheaper"}).json()["status"] == "cancelled"
    refused = client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 6})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "po_not_receivable"


def test_analysts_read_purchasing_operators_run_it_and_tenants_see_none_of_it(application, client):
    make_supplier(client)
    with TestClient(create_app(application=application), raise_server_exceptions=False) as other:
        other.headers["Authorization"] = f"Bearer {api_key(application, Role.ANALYST)}"
        assert other.get("/api/v1/suppliers").status_code == 200
        assert (
            other.post("/api/v1/suppliers", json={"code": "X", "name": "X", "lead_time_days": 1}).status_code
            == 403
        )
        other.headers["Authorization"] = f"Bearer {api_key(application, Role.OPERATOR)}"
        made = other.post(
            "/api/v1/purchase-orders",
            json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 6}]},
        )
        assert made.status_code == 201
        other.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='web')}"
        assert other.get("/api/v1/suppliers").status_code == 403
        assert other.get(f"/api/v1/purchase-orders/{made.json()['id']}").status_code == 403
        assert other.get("/api/v1/purchase-orders").status_code == 403


THREADS = 12


@pytest.mark.postgres
def test_receipts_racing_on_one_po_never_pass_ordered_plus_the_allowance(migrated_postgres_url, clock):
    """Twelve clients at once, 3 units each, on a line of 20 with 10 % allowance (22): seven fit."""
    application = make_application(migrated_postgres_url, clock, po_over_receipt_percent=Decimal(10))
    try:
        load_sample_store(application.services)
        ctx = application.services
        purchasing.create_supplier(ctx, purchasing.SupplierInput("RACEWARE", "Raceware Ltd", 3))
        purchasing.add_supplier_product(
            ctx, purchasing.SupplierProductView("RACEWARE", SKU, "RW-1", Decimal("2.00"), "EUR", 1, 1)
        )
        po = purchasing.create_purchase_order(ctx, supplier="RACEWARE", warehouse="BER", lines=[(SKU, 20)])
        po_id = po.summary.id
        purchasing.send(ctx, po_id)
        before = on_hand(application)
        start = Barrier(THREADS)

        def receive(_: int) -> bool:
            start.wait()
            try:
                purchasing.receive(ctx, po_id, purchasing.Receipt(SKU, accepted=3), actor="dock")
                return True
            except Conflict as e:
                assert e.code == "over_receipt", e.code
                return False

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(receive, range(THREADS)))

        detail = purchasing.get_purchase_order(ctx, po_id)
        assert sum(results) == 7 and detail.lines[0].received_qty == 21
        assert on_hand(application) == before + 21 and sum(ledger_for(application, po_id)) == 21
        assert len(detail.receipts) == 7 and detail.summary.status == "received"
        with application.engine.connect() as conn:
            events = conn.execute(
                select(func.count()).select_from(t.po_events).where(t.po_events.c.type == "po.received")
            ).scalar_one()
        assert events == 7
    finally:
        application.close()


def test_the_command_line_runs_a_po_from_supplier_to_receipt(monkeypatch, sqlite_url):
    run = command_line(monkeypatch, sqlite_url, seed=True)
    assert run("suppliers", "add", "NORDKERAMIK", "Nordkeramik AB", "--lead-time-days", "4").exit_code == 0
    assert (
        run(
            "suppliers", "add-product", "NORDKERAMIK", SKU, "NK-77", "3.90", "EUR", "--pack-size", "4"
        ).exit_code
        == 0
    )
    assert "NORDKERAMIK" in run("suppliers", "list").output
    created = run("po", "create", "NORDKERAMIK", "BER", f"{SKU}=8")
    assert created.exit_code == 0 and "draft" in created.output, created.output
    po_id = created.output.split("(id ")[1].split(")")[0]
    assert run("po", "send", po_id).exit_code == 0
    assert run("po", "confirm", po_id, "--promised-date", "2030-01-07").exit_code == 0
    received = run("po", "receive", po_id, SKU, "--accepted", "5", "--rejected", "1", "--reason", "damaged")
    assert received.exit_code == 0 and "partially_received" in received.output
    over = run("po", "receive", po_id, SKU, "--accepted", "4")
    assert over.exit_code == 2 and "over_receipt" in over.output
    assert "partially_received" in run("po", "list", "--status", "partially_received").output
