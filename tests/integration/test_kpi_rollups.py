"""The KPI report reads the daily KPI rollups only, and they equal metrics.kpis over the same orders:
rates and counts exactly, quantiles within metrics.quantiles.RELATIVE_ERROR."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.metrics.kpis import customer_behaviour, kpis
from perfectorder.metrics.quantiles import RELATIVE_ERROR, SMALLEST
from perfectorder.services import verdicts
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier, Scenario
from tests.conftest import database_copy, make_application, migrated_database

SCENARIO = Scenario(
    name="kpis",
    seed=11,
    start=date(2026, 3, 2),
    days=4,
    orders_per_day=40,
    products=12,
    customers=40,
    repeat=0.6,
    initial_stock=25,
    wrong_pick=0.1,
    packing_error=0.1,
    payment_decline=0.1,
    return_changed_mind=0.2,
    carriers=(Carrier("DHL", "standard", 1.0, (1, 2, 3), delay=0.2, damage=0.1, loss=0.05),),
)

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def flat(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def simulated(request):
    """The store, simulated once per database; the moment it was left at."""
    with migrated_database(request, request.param) as url:
        clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
        application = make_application(url, clock)
        try:
            simulate(application, clock, SCENARIO)
            clock.advance(timedelta(days=10))
            verdicts.refresh(application.services)
        finally:
            application.close()
        yield url, clock.now()


@pytest.fixture
def store(simulated):
    """A copy of the simulated store of our own: one test judges every order again."""
    url, now = simulated
    with database_copy(url) as copy:
        clock = SimulatedClock(now)
        yield make_application(copy, clock), clock


def test_the_kpi_report_from_rollups_equals_the_kpis_of_the_orders(store):
    application, clock = store
    try:
        # Every order judged again: the refresh subtracts what each added before and adds it anew.
        with application.services.uow() as uow:
            uow.verdicts.enqueue(uow.verdicts.order_ids(0, 10_000), at=clock.now())
            uow.commit()
        verdicts.refresh(application.services)
        got, behaviour = verdicts.kpi_report(application.services, *MARCH)
        with application.services.uow(read_only=True) as uow:
            facts = uow.verdicts.kpi_facts(MARCH[0].date(), MARCH[1].date())
    finally:
        application.close()
    assert len(facts) > 100
    expected = flat(asdict(kpis(facts)))
    mine = flat(asdict(got))
    assert mine.keys() == expected.keys()
    quantiles_seen = 0
    for key, value in expected.items():
        if key.endswith((".median", ".p90")) and value is not None:
            quantiles_seen += 1
            bound = RELATIVE_ERROR * abs(value) + 1e-9 * abs(value) + SMALLEST
            assert abs(mine[key] - value) <= bound, key
        else:
            assert mine[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key
    assert quantiles_seen >= 10
    # The scenario really produced what the rollups must handle.
    assert (
        expected["rates.return_rate"]
        and expected["rates.backorder_rate"] is not None
        and expected["rates.cancellation_rate"]
        and expected["rates.otif_lines_rate"]
    )
    assert asdict(behaviour) == pytest.approx(asdict(customer_behaviour(facts)), rel=1e-12)


def test_the_kpi_report_reads_no_per_order_row(store):
    application, _ = store
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(application.engine, "before_cursor_execute", seen)
    try:
        kpis_read, _ = verdicts.kpi_report(application.services, *MARCH)
    finally:
        event.remove(application.engine, "before_cursor_execute", seen)
        application.close()
    assert kpis_read.orders > 100
    per_order = ("order_verdicts", "orders", "verdict_failures", "shipments", "order_lines")
    touching = [s for s in statements if any(f" {table}" in s for table in per_order)]
    assert touching == []
    assert any("kpi_rollups" in s for s in statements)
