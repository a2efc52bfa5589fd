"""The simulator's suppliers restock through purchase orders: the store's POs, receipts and stock
ledger hold exactly what the simulated suppliers did, and following the replenishment suggestions
loses no more demand than the reorder rule on the same seed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.bootstrap import Application
from perfectorder.services import purchasing
from perfectorder.simulation.runner import Summary, simulate
from perfectorder.simulation.scenario import Scenario, scenario_from_dict
from tests.conftest import make_application

START = date(2026, 3, 2)
SLIP_DAY = 6
SMALL_SHOP = {
    "seed": 11,
    "start": START,
    "days": 14,
    "orders_per_day": 35,
    "products": 10,
    "customers": 120,
    # A few days' stock, so the suppliers are called on within days. (Opened nearly empty, the
    # suggestions trail the reorder rule: the plan's demand window is at least 7 days, so on the
    # first mornings it sees one or two days of demand spread over seven; docs/simulation.md.)
    "initial_stock": 60,
    "reorder_point": 15,
    "reorder_quantity": 40,
    "suppliers": {
        "Marrowfield": {"lead_time_days": [2, 3, 4], "fill": 0.9, "defect": 0.05, "pack_size": 6},
        # Quotes three days and keeps them, until from SLIP_DAY on it takes a week and more.
        "Tallowbrook": {
            "lead_time_days": [3],
            "degrade_day": SLIP_DAY,
            "degraded_lead_days": [7, 8],
        },
    },
}


@dataclass
class Run:
    summary: Summary
    application: Application
    url: str


def run(tmp_path_factory: pytest.TempPathFactory, scenario: Scenario) -> Iterator[Run]:
    url = f"sqlite:///{tmp_path_factory.mktemp('suppliers') / 'sim.db'}"
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(url, clock)
    try:
        yield Run(simulate(application, clock, scenario), application, url)
    finally:
        application.close()


@pytest.fixture(scope="module")
def by_rule(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield from run(tmp_path_factory, scenario_from_dict(SMALL_SHOP))


@pytest.fixture(scope="module")
def by_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield from run(tmp_path_factory, scenario_from_dict({**SMALL_SHOP, "replenish": True}))


def store_lines(application: Application) -> dict[tuple[int, str], tuple[int, int, int]]:
    """(PO, SKU) -> ordered, received, rejected, as the purchasing service reports them."""
    out = {}
    for summary in purchasing.list_purchase_orders(application.services, limit=10_000):
        detail = purchasing.get_purchase_order(application.services, summary.id)
        for line in detail.lines:
            out[(summary.id, line.sku)] = (line.quantity, line.received_qty, line.rejected_qty)
    return out


@pytest.mark.parametrize("name", ["by_rule", "by_plan"])
def test_the_store_holds_exactly_what_the_simulated_suppliers_delivered(name, request):
    got: Run = request.getfixturevalue(name)
    recorded = got.summary.supplied.lines
    assert recorded and {x.supplier for x in recorded} == {"Marrowfield", "Tallowbrook"}
    injected = {(x.po_id, x.sku): (x.ordered, x.delivered - x.rejected, x.rejected) for x in recorded}
    assert store_lines(got.application) == injected
    totals = got.summary.supplied.totals()["Marrowfield"]
    assert totals.delivered < totals.ordered and totals.rejected > 0  # short and partly damaged
    for summary in purchasing.list_purchase_orders(got.application.services, limit=10_000):
        detail = purchasing.get_purchase_order(got.application.services, summary.id)
        kinds = [e.type for e in detail.timeline]
        assert kinds[:3] == ["po.created", "po.sent", "po.confirmed"], kinds
        assert {r.reason for r in detail.receipts if r.rejected} <= {"damaged"}
        # A delivery closes its PO: received in full, or the missing rest cancelled.
        delivered = any(x.arrived for x in recorded if x.po_id == summary.id)
        assert summary.status in (("received", "cancelled") if delivered else ("confirmed",)), summary


def test_a_supplier_keeps_its_promise_until_it_slips(by_rule):
    lines = [x for x in by_rule.summary.supplied.lines if x.supplier == "Tallowbrook" and x.arrived]
    sent = {
        s.id: s.sent_at.date()
        for s in purchasing.list_purchase_orders(by_rule.application.services, limit=10_000)
    }
    before = [x.on_time for x in lines if (sent[x.po_id] - START).days < SLIP_DAY]
    after = [x.on_time for x in lines if (sent[x.po_id] - START).days >= SLIP_DAY]
    assert before and after and all(before) and not any(after)


@pytest.mark.parametrize("name", ["by_rule", "by_plan"])
def test_stock_never_goes_negative_and_the_ledger_sums_to_the_stock(name, request):
    got: Run = request.getfixturevalue(name)
    engine = create_engine(got.url)
    try:
        with engine.connect() as conn:
            moves = conn.execute(
                text("SELECT product_id, warehouse_id, on_hand_delta FROM stock_movements ORDER BY id")
            ).all()
            stock = conn.execute(text("SELECT product_id, warehouse_id, on_hand FROM stock")).all()
    finally:
        engine.dispose()
    level: Counter[tuple[int, int]] = Counter()
    lowest: dict[tuple[int, int], int] = defaultdict(int)
    for product, warehouse, delta in moves:
        level[(product, warehouse)] += delta
        lowest[(product, warehouse)] = min(lowest[(product, warehouse)], level[(product, warehouse)])
    assert min(lowest.values()) >= 0
    assert {(p, w): n for p, w, n in stock} == dict(level)


def test_following_the_suggestions_loses_no_more_demand_than_the_reorder_rule(by_rule, by_plan):
    # The same customers ask for the same things: the suppliers draw from their own stream.
    asked = by_rule.summary.orders + by_rule.summary.refused
    assert asked == by_plan.summary.orders + by_plan.summary.refused
    rule, plan = by_rule.summary.refused_lines, by_plan.summary.refused_lines
    assert plan <= rule, f"refused lines: {rule} by the reorder rule, {plan} by the suggestions"
