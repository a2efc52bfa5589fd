"""On PostgreSQL the KPIs are summed by the database: they must equal metrics.kpis over the same orders."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.metrics.kpis import customer_behaviour, kpis
from perfectorder.services import verdicts
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier, Scenario
from tests.conftest import make_application

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


def flat(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


@pytest.mark.postgres
def test_the_database_sums_equal_the_pure_kpis(postgres_url):
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(postgres_url, clock)
    try:
        simulate(application, clock, SCENARIO)
        clock.advance(timedelta(days=10))
        verdicts.refresh(application.services)
        with application.services.uow(read_only=True) as uow:
            summed = uow.verdicts.kpi_sums(date(2026, 3, 1), date(2026, 4, 1))
            facts = uow.verdicts.kpi_facts(date(2026, 3, 1), date(2026, 4, 1))
    finally:
        application.close()
    assert summed is not None and len(facts) > 100
    from_sums, behaviour = verdicts.kpis_from_sums(summed)
    expected = flat(asdict(kpis(facts)))
    got = flat(asdict(from_sums))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value), key
    # The scenario really produced what the sums must handle.
    assert (
        expected["return_rate"] and expected["backorder_rate"] is not None and expected["cancellation_rate"]
    )
    assert asdict(behaviour) == pytest.approx(asdict(customer_behaviour(facts)))
