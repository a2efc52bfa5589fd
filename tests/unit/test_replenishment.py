"""Reorder points, safety stock, order quantities and stock ageing, by hand-worked numbers."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.domain.replenishment import (
    DemandStats,
    LeadTime,
    Position,
    Receipt,
    Terms,
    ages,
    demand_stats,
    economic_order_quantity,
    lead_time_of,
    reorder_point,
    round_to_packs,
    safety_stock,
    suggest,
    z_score,
)


def test_demand_counts_the_quiet_days_too():
    stats = demand_stats([4, 0, 0, 8])
    assert stats.mean == 3.0 and stats.std == pytest.approx(math.sqrt((1 + 9 + 9 + 25) / 4))
    assert demand_stats([]) == DemandStats(0, 0.0, 0.0)


def test_safety_stock_and_reorder_point_by_hand():
    # d = 10/day, sigma_d = 3, L = 4 days, sigma_L = 1, 95%: z = 1.6449
    demand, lead = DemandStats(56, 10.0, 3.0), LeadTime(4.0, 1.0)
    spread = math.sqrt(4 * 9 + 100 * 1)
    assert safety_stock(demand, lead, 0.95) == pytest.approx(1.6449 * spread, rel=1e-4)
    assert reorder_point(demand, lead, 0.95) == pytest.approx(40 + 1.6449 * spread, rel=1e-4)
    assert z_score(0.5) == 0.0
    with pytest.raises(ValueError):
        z_score(1.0)


def test_a_supplier_is_taken_at_its_word_until_three_deliveries_are_measured():
    quoted = LeadTime(5.0)
    assert lead_time_of([7.0, 9.0], quoted) == (quoted, "quoted")
    assert lead_time_of([7.0, 9.0, 8.0], quoted) == (
        LeadTime(8.0, pytest.approx(math.sqrt(2 / 3))),
        "measured",
    )


def test_a_slipping_supplier_shows_in_its_last_deliveries_and_its_overdue_orders():
    quoted = LeadTime(7.0)
    steady = [7.0] * 20
    # Only the last eight deliveries count: two slow ones among them move the mean at once.
    lead, basis = lead_time_of([*steady, 16.0, 17.0], quoted)
    assert lead.mean_days == pytest.approx((6 * 7 + 33) / 8) and basis == "measured"
    # A purchase order out for 12 days and not come is evidence before it arrives: at least 12.
    assert lead_time_of(steady, quoted, overdue_days=[12.0]) == (LeadTime(12.0), "overdue")
    # It is a bound, not a delivery: one out for less than the usual (sent late, after its promise
    # had passed) shortens nothing.
    assert lead_time_of([10.0, 10.0, 10.0], quoted, overdue_days=[0.1]) == (LeadTime(10.0), "measured")
    # Before three are on record the quote stands, unless an overdue order already outlasted it.
    assert lead_time_of([], quoted, overdue_days=[5.0]) == (quoted, "quoted")
    assert lead_time_of([6.0], quoted, overdue_days=[10.0]) == (LeadTime(10.0), "overdue")


def test_eoq_by_hand_and_unknown_costs():
    # D = 3650/year, S = 50, H = 2: sqrt(2 * 3650 * 50 / 2) = 427.2
    assert economic_order_quantity(3650, Decimal(50), Decimal(2)) == pytest.approx(427.2, abs=0.1)
    assert economic_order_quantity(3650, Decimal(0), Decimal(2)) == 0.0


def test_orders_round_up_to_whole_packs_and_the_minimum():
    assert round_to_packs(13, 6, 0) == 18
    assert round_to_packs(2, 6, 20) == 24
    assert round_to_packs(12, 6, 0) == 12


def test_a_suggestion_orders_up_to_the_point_plus_a_batch_only_at_or_below_the_point():
    demand, lead = DemandStats(56, 10.0, 0.0), LeadTime(4.0)
    terms = Terms(service_level=0.5, review_days=7)
    low = suggest(
        demand, lead, Position(30, 5, 0, 0), unit_cost=Decimal(3), pack_size=10, minimum=0, terms=terms
    )
    # Point 40 (no spread at 50%), batch 70 (a week, no costs known): up to 110 from 25 -> 85 -> 90.
    assert (low.reorder_point, low.order_up_to, low.position, low.quantity, low.basis) == (
        40,
        110,
        25,
        90,
        "review",
    )
    high = suggest(
        demand, lead, Position(60, 0, 0, 0), unit_cost=Decimal(3), pack_size=10, minimum=0, terms=terms
    )
    assert high.quantity == 0
    on_order = suggest(
        demand, lead, Position(10, 0, 50, 0), unit_cost=Decimal(3), pack_size=1, minimum=0, terms=terms
    )
    assert on_order.quantity == 0  # what is already coming counts
    none = suggest(
        DemandStats(56, 0.0, 0.0),
        lead,
        Position(0, 0, 0, 0),
        unit_cost=Decimal(3),
        pack_size=1,
        minimum=5,
        terms=terms,
    )
    assert none.quantity == 0  # no demand, no order, whatever the minimum


def test_stock_ages_first_in_first_out():
    today = date(2026, 12, 6)
    receipts = [Receipt(date(2026, 12, 1), 10), Receipt(date(2026, 10, 1), 20), Receipt(date(2026, 1, 1), 50)]
    assert ages(25, receipts, today) == {0: 10, 31: 15, 91: 0, 181: 0}
    assert ages(100, receipts, today) == {0: 10, 31: 20, 91: 0, 181: 70}


@given(st.integers(0, 500), st.lists(st.tuples(st.integers(0, 400), st.integers(1, 50)), max_size=8))
def test_ageing_accounts_for_every_unit_on_hand(on_hand, raw):
    today = date(2026, 12, 6)
    receipts = [Receipt(date.fromordinal(today.toordinal() - d), n) for d, n in raw]
    assert sum(ages(on_hand, receipts, today).values()) == on_hand
