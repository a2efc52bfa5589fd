"""Lost demand: an order refused for lack of stock still writes nothing else, but every short line
is recorded once however often the order is retried, and not at all once the same order is placed
after all. On a simulated store the recorded lines equal the simulator's refused lines exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.tables import lost_demand, order_lines, orders, stock
from perfectorder.domain.access import Role
from perfectorder.services import inventory, replenishment
from perfectorder.services import lost_demand as lost
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Scenario
from tests.conftest import api_key, make_application
from tests.factories import order_payload

TWO_SHORT = [
    {"sku": "MUG-CERAMIC-BLUE", "quantity": 500, "unit_price": "12.90"},
    {"sku": "CANDLE-SOY-LARGE", "quantity": 1, "unit_price": "18.50"},
    {"sku": "VASE-GLASS-TALL", "quantity": 400, "unit_price": "32.00"},
]


def counts(application):
    with application.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(orders)).scalar_one(),
            conn.execute(select(func.count()).select_from(order_lines)).scalar_one(),
            conn.execute(select(func.sum(stock.c.reserved))).scalar_one(),
        )


def test_a_refused_order_records_each_short_line_once_and_nothing_else(application, client):
    before = counts(application)
    body = order_payload(lines=TWO_SHORT, payment={"method": "invoice"})
    for _ in range(3):  # the customer tries again, twice
        refused = client.post("/api/v1/orders", json=body)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "insufficient_stock"
        # What the caller sees names the first short line only, and none of our internals.
        assert set(refused.json()["error"]["details"]) == {"sku", "requested", "available", "line_index"}
    assert counts(application) == before  # no order, no line, no reservation
    with application.engine.connect() as conn:
        rows = conn.execute(select(lost_demand).order_by(lost_demand.c.line_no)).all()
    assert [(r.line_no, r.requested) for r in rows] == [(1, 500), (3, 400)]
    assert all(r.channel == "web" and r.external_ref == body["external_ref"] for r in rows)
    assert rows[0].available < 500 and rows[1].available < 400

    today = application.services.clock.now().date()
    shown = client.get("/api/v1/metrics/lost-demand", params={"from": str(today), "to": str(today)})
    assert shown.status_code == 200, shown.text
    figures = shown.json()
    assert (figures["lines_lost"], figures["units_lost"]) == (2, 900)
    assert figures["value_lost"] == [{"currency": "EUR", "amount": "19250.00"}]  # 500 x 12.90 + 400 x 32.00
    assert [(s["sku"], s["units"]) for s in figures["skus"]] == [
        ("MUG-CERAMIC-BLUE", 500),
        ("VASE-GLASS-TALL", 400),
    ]
    assert figures["stock_out_rate"] == 2 / (before[1] + 2)

    # Restocked, the same order goes through: its demand was served after all.
    for sku, units in (("MUG-CERAMIC-BLUE", 600), ("VASE-GLASS-TALL", 500)):
        inventory.receive_stock(application.services, sku=sku, warehouse="BER", quantity=units)
    assert client.post("/api/v1/orders", json=body).status_code == 201
    report = lost.report(application.services, *_day(today))
    assert (report.lines_lost, report.units_lost, report.by_sku) == (0, 0, ())

    # Tenants do not read the store's lost demand.
    client.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='web')}"
    assert (
        client.get("/api/v1/metrics/lost-demand", params={"from": str(today), "to": str(today)}).status_code
        == 403
    )


def _day(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


SHORT_STORE = Scenario(
    name="stock-outs",
    seed=3,
    start=date(2026, 3, 2),
    days=12,
    orders_per_day=40,
    products=20,
    customers=500,
    initial_stock=25,
    reorder_point=5,
    reorder_quantity=20,
    supplier_lead_days=6,
    feedback=0.0,
    feedback_when_wrong=0.0,
    return_when_damaged=0.0,
    return_changed_mind=0.0,
)


def test_lost_demand_equals_the_simulators_refused_lines(tmp_path):
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    application = make_application(f"sqlite:///{tmp_path}/short.db", clock)
    try:
        summary = simulate(application, clock, replace(SHORT_STORE))
        assert summary.refused_by_code.get("insufficient_stock", 0) > 10
        report = lost.report(application.services, datetime(2026, 3, 1, tzinfo=UTC), clock.now())
        assert report.lines_lost == summary.refused_lines
        assert 0 < report.stock_out_rate < 1
        # The same store's stock ageing and plan read its sales and receipts as days.
        ageing = replenishment.stock_ageing(application.services)
        assert any(r.last_sale is not None for r in ageing)
        assert all(sum(r.by_age.values()) == r.on_hand for r in ageing)
        assert replenishment.plan(application.services, window_days=7)
    finally:
        application.close()
