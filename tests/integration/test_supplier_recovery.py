"""The supplier scorecard recovers what the simulated suppliers did: on a simulated quarter, the
store's scorecard equals the simulator's line-by-line record exactly, and the injected on-time,
fill and defect rates lie within 4 binomial standard deviations of what the scorecard measured."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.services import replenishment
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import scenario_from_dict
from tests.conftest import make_application

START = date(2026, 1, 5)
# Steady suppliers over a quarter: Marrowfield takes 2 to 5 working days against its quoted 4
# (on time with probability 3/4), delivers 90% of each line's units and 6% of them damaged.
QUARTER = {
    "seed": 31,
    "start": START,
    "days": 91,
    "orders_per_day": 25,
    "products": 12,
    "customers": 800,
    "initial_stock": 40,
    "reorder_point": 15,
    "reorder_quantity": 30,
    "feedback": 0.0,
    "feedback_when_wrong": 0.0,
    "return_when_damaged": 0.0,
    "return_changed_mind": 0.0,
    "suppliers": {
        "Marrowfield": {
            "lead_time_days": [2, 3, 4, 5],
            "quoted_lead_days": 4,
            "fill": 0.9,
            "defect": 0.06,
            "pack_size": 6,
        },
    },
}
ON_TIME, FILL, DEFECT = 3 / 4, 0.9, 0.06


def within(measured: float, expected: float, n: int) -> bool:
    return abs(measured - expected) <= 4 * math.sqrt(expected * (1 - expected) / n)


def test_the_scorecard_recovers_the_injected_supplier(tmp_path):
    clock = SimulatedClock(datetime(2026, 1, 4, tzinfo=UTC))
    application = make_application(f"sqlite:///{tmp_path}/quarter.db", clock)
    try:
        summary = simulate(application, clock, scenario_from_dict(QUARTER))
        record = summary.supplied.totals()["Marrowfield"]
        period = (datetime.combine(START, datetime.min.time(), UTC), clock.now() + timedelta(days=1))
        card = replenishment.supplier_scorecard(application.services, *period)
        [scores] = card.suppliers
        # Exactly what the simulated supplier did, line by line summed.
        assert scores.lines == record.lines > 40
        assert scores.accepted == record.delivered - record.rejected and scores.rejected == record.rejected
        arrived = [x for x in summary.supplied.lines if x.arrived is not None]
        assert scores.due == len(arrived) and scores.on_time == sum(x.on_time for x in arrived)
        # And what was injected, within 4 standard deviations.
        assert within(scores.on_time_rate, ON_TIME, scores.due), scores.on_time_rate
        assert within(scores.rejection_rate, DEFECT, scores.accepted + scores.rejected), scores.rejection_rate
        delivered = scores.accepted + scores.rejected
        assert within(delivered / scores.ordered_due, FILL, scores.ordered_due), (
            delivered / scores.ordered_due
        )
        assert within(scores.fill_rate, FILL * (1 - DEFECT), scores.ordered_due), scores.fill_rate
    finally:
        application.close()
