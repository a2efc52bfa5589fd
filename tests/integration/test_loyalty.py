"""Loyalty figures recover the loyalty the simulator injected: customers come back after an order
with a probability cut by a factor k when it went wrong, and the measured ratio of repeat rates
(imperfect / perfect) has k in its 95% interval: 0.6 (and then not 1), or 1."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.services import access, verdicts
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier, Scenario
from tests.conftest import api_key, make_application

START = date(2026, 3, 2)
PASSWORD = "correct horse battery"
LOYAL = Scenario(
    name="loyal",
    seed=11,
    start=START,
    days=35,
    orders_per_day=60,
    products=40,
    customers=5000,
    next_order=0.5,
    next_order_days=20,
    packing_error=0.05,
    feedback=0.0,
    feedback_when_wrong=0.0,
    return_when_damaged=0.0,
    return_changed_mind=0.0,
    initial_stock=2000,
    reorder_point=500,
    reorder_quantity=2000,
    carriers=(Carrier("DHL", "standard", 1.0, (1, 2), delay=0.15, delay_days=3, damage=0.05),),
)


# The report below measures the first ten days' orders and the comebacks they cause. After those
# days no new customer arrives (a "peak" of no orders): the comebacks still do, so the run holds the
# same measured orders as the whole scenario in a third of the orders and time.
MEASURED_DAYS = 10
ONLY_COMEBACKS_AFTER = {
    "peak_day": MEASURED_DAYS,
    "peak_days": LOYAL.days - MEASURED_DAYS,
    "peak_factor": 0.0,
}


@pytest.mark.parametrize("factor", [0.6, 1.0])
def test_the_repeat_rate_ratio_recovers_the_injected_factor(migrated_sqlite_url, factor):
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated_sqlite_url, clock)
    try:
        simulate(application, clock, replace(LOYAL, imperfect_factor=factor, **ONLY_COMEBACKS_AFTER))
        verdicts.refresh(application.services)
        access.create_user(
            application.services, application.passwords, username="lou", password=PASSWORD, role=Role.ANALYST
        )
        with TestClient(create_app(application=application), base_url="https://testserver") as page:
            assert page.post("/login", data={"username": "lou", "password": PASSWORD}).status_code == 200
            shown = page.get("/loyalty", params={"from": "2026-03-02", "to": "2026-03-11", "window_days": 25})
            customer = page.get("/customers/1")
        with TestClient(create_app(application=application)) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            # The first ten days: every reorder they cause (delivery + up to 20 days) lies inside
            # the run and inside the 25-day window.
            answer = http.get(
                "/api/v1/metrics/loyalty",
                params={"from": "2026-03-02", "to": "2026-03-11", "window_days": 25},
            )
        assert answer.status_code == 200, answer.text
        report = answer.json()
    finally:
        application.close()
    perfect, imperfect, ratio = report["perfect"]["repeat"], report["imperfect"]["repeat"], report["ratio"]
    assert perfect["orders"] > 300 and imperfect["orders"] > 60, report
    assert ratio["low"] <= factor <= ratio["high"], ratio
    if factor < 1:
        assert ratio["high"] < 1, ratio  # and the test can tell it from no effect at all
    # Each failure reason has its own repeat rate; the injected ones are there.
    # The dashboard shows the API's figures; a customer's page shows their rhythm.
    assert shown.status_code == 200 and f"{perfect['rate'] * 100:.1f}%" in shown.text
    assert 'id="lapsed"' in shown.text and customer.status_code == 200 and "Rhythm" in customer.text
    reasons = {g["name"] for g in report["by_reason"]}
    assert {"on_time:late_delivery", "undamaged:damaged_in_transit"} <= reasons
