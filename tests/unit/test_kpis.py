"""Hand-worked KPI tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.metrics.kpis import OrderKpiFacts, customer_behaviour, distribution, kpis, turnover

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def order(oid: int, *, customer: int = 1, hours: dict[str, float] | None = None, **changes) -> OrderKpiFacts:
    reached = {stage: T0 + timedelta(hours=h) for stage, h in (hours or {}).items()}
    base = {
        "order_id": oid,
        "customer_id": customer,
        "placed_at": T0,
        "cancelled": False,
        "promised_ship_date": date(2026, 11, 2),
        "promised_date": date(2026, 11, 4),
        "reached": reached,
        "lines_ordered": 2,
        "units_ordered": 3,
        "lines_complete_first": 2,
        "units_first_shipment": 3,
    }
    base.update(changes)
    return OrderKpiFacts(**base)


FULL = {"approved": 0.1, "picked": 2, "packed": 3, "shipped": 6, "delivered": 50}


def test_cycle_lead_and_stage_times_on_a_hand_worked_table():
    result = kpis(
        [
            order(1, hours=FULL, delivered_on=date(2026, 11, 4)),
            order(2, hours={**FULL, "shipped": 30, "delivered": 98}, delivered_on=date(2026, 11, 6)),
            order(3, hours={"approved": 0.1}),
        ]
    )
    assert result.cycle_time_hours.median == pytest.approx(74) and result.cycle_time_hours.count == 2
    # Order lead time is placed -> delivered (it read placed -> shipped, 18, before issue 17).
    assert result.lead_time_hours.median == pytest.approx(74)
    assert result.time_to_ship_hours.median == pytest.approx(18)
    assert result.stage_hours["packed"].median == pytest.approx(1)
    assert result.stage_hours["shipped"].median == pytest.approx((3 + 27) / 2)
    assert result.on_time_shipping_rate == 0.5  # order 2 left a day late
    assert result.on_time_delivery_rate == 0.5


def test_fill_backorder_accuracy_returns_cancellations_and_ratings():
    result = kpis(
        [
            order(
                1,
                hours=FULL,
                lines_complete_first=1,
                units_first_shipment=2,
                backordered=True,
                accurate=True,
                pick_lines=2,
                pick_lines_correct=2,
                rating=5,
            ),
            order(
                2,
                hours=FULL,
                accurate=False,
                pick_lines=2,
                pick_lines_correct=1,
                returned_reasons=("wrong_item",),
                rating=2,
            ),
            order(3, cancelled=True),
            order(4, hours={"approved": 1}),
        ]
    )
    assert (result.fill_rate_lines, result.fill_rate_units) == (3 / 4, 5 / 6)
    assert result.backorder_rate == pytest.approx(1 / 3)
    assert result.order_accuracy == 0.5 and result.picking_accuracy == 0.75
    assert result.return_rate == 0.5 and result.return_rate_by_reason == {"wrong_item": 0.5}
    assert result.cancellation_rate == 0.25 and result.average_rating == 3.5


def test_turnover_and_days_of_supply():
    t = turnover(
        cost_of_goods_shipped=Decimal("12000"),
        inventory_value_start=Decimal("5000"),
        inventory_value_end=Decimal("3000"),
        units_shipped=600,
        units_start=250,
        units_end=150,
        days=30,
    )
    assert t.inventory_turnover == 3.0 and t.inventory_turnover_units == 3.0
    assert t.days_of_supply == pytest.approx(150 / 20)


def test_repeat_purchase_rate_and_frequency():
    b = customer_behaviour(
        [
            order(1, customer=7),
            order(2, customer=7),
            order(3, customer=8),
            order(4, customer=9, cancelled=True),
        ]
    )
    assert (b.customers, b.repeat_purchase_rate, b.orders_per_customer) == (2, 0.5, 1.5)


def test_quantiles_interpolate():
    d = distribution([1, 2, 3, 4, 10])
    assert (d.median, d.p90) == (3, pytest.approx(7.6))
    assert distribution([]).median is None


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=50))
def test_median_never_above_p90(values):
    d = distribution(values)
    assert min(values) <= d.median <= d.p90 <= max(values)
