"""Transit learned per lane: working days counted as a promise counts them, nearest-rank
quantiles, a minimum sample, and the promise's choice between learned and configured days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from perfectorder.domain.promise import WorkCalendar, delivery_date
from perfectorder.domain.transit import (
    Lane,
    TransitChoice,
    choose_transit,
    learn,
    learning_terms,
    nearest_rank,
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
