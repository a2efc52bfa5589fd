"""Transit learned per lane: working days counted as a promise counts them, nearest-rank
quantiles, a minimum sample, and the promise's choice between learned and configured days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.domain.promise import WorkCalendar, delivery_date
from perfectorder.domain.transit import (
    Lane,
    LaneTransit,
    ParcelEta,
    Scan,
    TransitChoice,
    WorkdayIndex,
    choose_transit,
    learn,
    learning_terms,
    longest_gap_hours,
    nearest_rank,
    parcel_eta,
    region,
    signed_working_days,
    transit_working_days,
)

CALENDAR = WorkCalendar(frozenset({date(2026, 12, 25)}))
FRIDAY = date(2026, 12, 4)
LANE = Lane("standard", 1, "AT-10")


def test_transit_is_the_fewest_working_days_a_promise_would_have_needed():
    assert transit_working_days(FRIDAY, FRIDAY, CALENDAR) == 0
    assert transit_working_days(FRIDAY, FRIDAY + timedelta(days=1), CALENDAR) == 1  # Saturday: Monday's
    assert transit_working_days(FRIDAY, FRIDAY + timedelta(days=3), CALENDAR) == 1  # Monday
    assert transit_working_days(FRIDAY, FRIDAY + timedelta(days=4), CALENDAR) == 2
    assert transit_working_days(FRIDAY, FRIDAY - timedelta(days=1), CALENDAR) is None
    # Round trip with the promise: n working days out, n back, across a holiday and weekends.
    for start in (FRIDAY + timedelta(days=d) for d in range(20)):
        for n in range(6):
            assert transit_working_days(start, delivery_date(start, n, CALENDAR), CALENDAR) == n
    assert signed_working_days(FRIDAY + timedelta(days=3), FRIDAY, CALENDAR) == -1
    assert signed_working_days(FRIDAY, FRIDAY + timedelta(days=4), CALENDAR) == 2


def test_quantiles_are_nearest_rank_and_thin_lanes_are_not_learned():
    days = sorted([1, 2, 2, 3] * 10)
    assert (nearest_rank(days, 0.5), nearest_rank(days, 0.9), nearest_rank(days, 0.95)) == (2, 3, 3)
    thin = Lane("standard", 1, "ES-28")
    [learned] = learn([(LANE, d) for d in days] + [(thin, 9)] * 29, min_parcels=30)
    assert (learned.lane, learned.parcels, learned.p50, learned.p90) == (LANE, 40, 2, 3)


def test_the_promise_counts_the_learned_quantile_or_says_it_used_the_configured_days():
    [learned] = learn([(LANE, d) for d in [3, 4, 4, 5] * 10], min_parcels=30)
    lanes = {LANE: learned}
    assert choose_transit(LANE, 3, lanes, "p90") == learned_choice(5, "p90", 40)
    assert choose_transit(LANE, 3, lanes, "p50") == learned_choice(4, "p50", 40)
    assert choose_transit(LANE, 3, lanes, "configured").basis == "configured"
    assert choose_transit(Lane("express", 1, "AT-10"), 1, lanes, "p90") == learned_choice(1, "configured", 0)
    assert region("at", "1010", 2) == "AT-10" and region("IE", "", 2) == "IE"
    assert region("GB", "sw1a 1aa", 3) == "GB-SW1"


def learned_choice(days, basis, parcels):
    return TransitChoice(days, basis, parcels)


@pytest.mark.parametrize(
    ("quantile", "window", "parcels", "prefix"), [("p80", 56, 30, 2), ("p90", 0, 30, 2), ("p90", 56, 0, 2)]
)
def test_learning_terms_refuse_what_they_cannot_use(quantile, window, parcels, prefix):
    with pytest.raises(ValueError, match="PERFECTORDER_"):
        learning_terms(quantile, window, parcels, prefix)


MONDAY_NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


def eta(scans=(), *, now, learned=None, delivered=None):
    return parcel_eta(
        MONDAY_NOON, delivered, scans, learned=learned, configured_days=2, now=now, calendar=CALENDAR
    )


def test_a_parcels_eta_rests_on_the_carrier_then_the_lane_then_the_configured_days():
    lane = LaneTransit(LANE, 50, 3, 4, 5, gap_p95_hours=30.0)
    scan = Scan(MONDAY_NOON + timedelta(hours=14), "in_transit")
    tuesday = MONDAY_NOON + timedelta(days=1)
    # No learned lane: the service's two working days from Monday.
    assert eta([scan], now=tuesday) == ParcelEta(date(2026, 12, 9), "configured", False, 10.0)
    # Learned: the lane's typical (P50) three days; past the lane's P95 silence it is stalled.
    assert eta([scan], now=tuesday, learned=lane) == ParcelEta(date(2026, 12, 10), "p50", False, 10.0)
    assert eta([scan], now=tuesday + timedelta(hours=21), learned=lane).stalled
    # The carrier's own estimate wins while it lies ahead; a passed one no longer counts.
    said = Scan(tuesday, "delayed", estimated_delivery=date(2026, 12, 14))
    assert eta([scan, said], now=tuesday, learned=lane).basis == "carrier"
    assert eta([scan, said], now=tuesday, learned=lane).on == date(2026, 12, 14)
    late = eta([scan, said], now=datetime(2026, 12, 15, 12, tzinfo=UTC), learned=lane)
    assert (late.on, late.basis, late.stalled) == (date(2026, 12, 16), "overdue", True)
    # Delivered and lost parcels say so.
    assert eta(now=tuesday, delivered=tuesday).basis == "delivered"
    assert eta([Scan(tuesday, "lost")], now=tuesday) == ParcelEta(None, "lost", False, 0.0)
    assert (
        longest_gap_hours(MONDAY_NOON, [MONDAY_NOON + timedelta(hours=5)], MONDAY_NOON + timedelta(hours=29))
        == 24
    )


def test_the_workday_index_counts_transit_as_the_loop_does():
    first = date(2026, 12, 1)
    index = WorkdayIndex(CALENDAR, first, first + timedelta(days=60))
    for ship in (first + timedelta(days=d) for d in range(30)):
        for later in range(-1, 25):
            delivered = ship + timedelta(days=later)
            expected = transit_working_days(ship, delivered, CALENDAR)
            assert index.transit(ship, delivered) == expected, (ship, later)
