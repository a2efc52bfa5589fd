"""The improvement page slices failures by supplier: on a simulated store where customers find one
supplier's items faulty (and the other's sound), the defective returns' failure names that supplier
first, significant; the supplier rollups equal an order-by-order count of the stored verdicts and
the suppliers listing each order's products; the API and the page say the same."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db import tables as t
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.services import purchasing, root_causes, verdicts
from perfectorder.services.context import read
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import scenario_from_dict
from tests.conftest import api_key, make_application
from tests.factories import order_payload
from tests.integration.test_dashboard_pages import _login
from tests.integration.test_purchasing import SKU

START = date(2026, 3, 2)
DAYS = 21
STORE = {
    "seed": 17,
    "start": START,
    "days": DAYS,
    "orders_per_day": 40,
    "products": 20,
    "customers": 900,
    "initial_stock": 400,
    "reorder_point": 50,
    "reorder_quantity": 200,
    "return_changed_mind": 0.0,
    # Three categories against two suppliers taking products in turn: each supplier's products
    # span every category, so a category cannot stand in for the supplier.
    "categories": ["kitchen", "home", "garden"],
    "suppliers": {
        "Sturdy": {"lead_time_days": [2, 3]},
        # One in eight of the orders whose first item it supplied comes back faulty.
        "Brittle": {"lead_time_days": [2, 3], "faulty": 0.125},
    },
}
PERIOD = (
    datetime(2026, 3, 2, tzinfo=UTC),
    datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=DAYS),
)


def test_failures_slice_by_supplier_and_the_faulty_one_comes_first(tmp_path):
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    application = make_application(f"sqlite:///{tmp_path / 's.db'}", clock)
    try:
        simulate(application, clock, scenario_from_dict(STORE))
        clock.set(PERIOD[1] + timedelta(days=60))  # every verdict of the period final
        verdicts.refresh(application.services)
        today = clock.now().date()

        ranked = root_causes.ranked_failures(application.services, *PERIOD, limit=50)
        faulty = next(r for r in ranked if r.improvement.stage == "supplier")
        assert faulty.improvement.component == "undamaged" and faulty.improvement.orders >= 20
        top = faulty.causes.concentrations[0]
        brittle = "Brittle"  # the simulator's suppliers are known by their names
        assert {v.code for v in purchasing.list_suppliers(application.services)} == {"Brittle", "Sturdy"}
        assert (top.dimension, top.key) == ("supplier", brittle), faulty.causes.concentrations
        assert top.significant and top.share_of_failures > 0.9 and top.share_of_orders < 0.8
        assert "sturdy" not in {c.key.lower() for c in faulty.causes.concentrations if c.excess > 0}

        # The supplier rollups equal an order-by-order count of the stored verdicts, and each
        # verdict's suppliers are those listing its order's products.
        stored = read(
            application.services,
            lambda uow: uow.verdicts.failure_slice_sums(*(d.date() for d in PERIOD), today),
        )
        by_supplier = {k: v[0] for k, v in stored.items() if k[1] == "supplier"}
        with application.engine.connect() as conn:
            listed: dict[int, set[str]] = {}
            for order_id, code in conn.execute(
                select(t.order_lines.c.order_id, t.suppliers.c.code)
                .join(t.supplier_products, t.supplier_products.c.product_id == t.order_lines.c.product_id)
                .join(t.suppliers, t.suppliers.c.id == t.supplier_products.c.supplier_id)
            ):
                listed.setdefault(order_id, set()).add(code)
            final = conn.execute(
                select(t.order_verdicts.c.order_id, t.order_verdicts.c.suppliers).where(
                    t.order_verdicts.c.placed_on >= START,
                    t.order_verdicts.c.placed_on < START + timedelta(days=DAYS),
                    t.order_verdicts.c.state == "delivered",
                    t.order_verdicts.c.final_from <= today,
                )
            ).all()
            failures: dict[int, set[tuple[str, str, str]]] = {}
            for f in conn.execute(select(t.verdict_failures)):
                failures.setdefault(f.order_id, set()).add((f.component, f.code, f.stage))
        counted: Counter[tuple[tuple[str, str, str], str, str]] = Counter()
        for order_id, suppliers in final:
            assert set(suppliers) == listed.get(order_id, set())
            for failure in {("*", "*", "*"), *failures.get(order_id, set())}:
                for code in listed.get(order_id) or {"none"}:
                    counted[(failure, "supplier", code)] += 1
        assert by_supplier == dict(counted)

        period = {"from": str(START), "to": str(START + timedelta(days=DAYS - 1))}
        with TestClient(create_app(application=application)) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            answer = http.get("/api/v1/metrics/improvements", params={**period, "limit": 50})
        assert answer.status_code == 200, answer.text
        shown = next(i for i in answer.json() if i["stage"] == "supplier")
        assert (shown["concentrations"][0]["dimension"], shown["concentrations"][0]["key"]) == (
            "supplier",
            brittle,
        )
        assert shown["concentrations"][0]["sentence"] == top.sentence
        with _login(application, "rhea", Role.ANALYST) as page:
            html = page.get("/improvement", params=period).text
        assert top.sentence in html
    finally:
        application.close()


def test_any_supplier_code_and_any_number_of_them_round_trip_through_a_verdict(application, client):
    # Codes may hold commas, and one product may have many suppliers: the stored verdict keeps
    # the list as it is (it was joined text of 1,000 characters: "A,B" read back as two
    # suppliers, and forty long codes stopped every refresh on PostgreSQL).
    codes = ["A,B", *(f"{'LONG-SUPPLIER-CODE-' + str(n):<32}".replace(" ", "X") for n in range(40))]
    for code in codes:
        made = client.post(
            "/api/v1/suppliers", json={"code": code, "name": f"Supplier {code}", "lead_time_days": 3}
        )
        assert made.status_code == 201, made.text
        listed = client.post(
            f"/api/v1/suppliers/{quote(code, safe='')}/products",
            json={"sku": SKU, "supplier_sku": "X1", "unit_cost": "1.00", "currency": "EUR"},
        )
        assert listed.status_code == 201, listed.text
    placed = client.post("/api/v1/orders", json=order_payload(lines=[{"sku": SKU, "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    verdicts.refresh(application.services)
    stored = read(application.services, lambda uow: uow.verdicts.stored([order_id]))
    assert set(stored[order_id].suppliers) == set(codes)
    # Judged again after a change: the refresh goes through and the list is unchanged.
    assert client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "test"}).status_code == 200
    verdicts.refresh(application.services)
    again = read(application.services, lambda uow: uow.verdicts.stored([order_id]))
    assert again[order_id].state == "cancelled" and set(again[order_id].suppliers) == set(codes)
