"""Repeat purchases after perfect and imperfect orders, with intervals, and lapsed customers."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import date, timedelta

import pytest

from perfectorder.domain.loyalty import (
    Purchase,
    Rhythm,
    days_to_next,
    lapsed_from,
    loyalty,
    rate_ratio,
    report,
    rhythm,
    wilson,
)

D0 = date(2026, 1, 5)


def buy(customer: int, order: int, day: int, perfect: bool | None, *failures: str) -> Purchase:
    return Purchase(customer, order, D0 + timedelta(days=day), perfect, failures)


def test_repeat_rates_split_by_the_experience_of_the_order_before():
    purchases = [
        # Customer 1: perfect, back 10 days later (perfect again), then nothing.
        buy(1, 1, 0, True),
        buy(1, 2, 10, True),
        # Customer 2: late order, never back.
        buy(2, 3, 0, False, "on_time:late"),
        # Customer 3: damaged, back after 100 days: outside a 90-day window, so not a repeat.
        buy(3, 4, 0, False, "undamaged:damaged_in_transit"),
        buy(3, 5, 100, None),
        # Customer 4: perfect, back after 30 days with an order not judged yet (still a purchase).
        buy(4, 6, 5, True),
        buy(4, 7, 35, None),
        # Too recent to know: placed 20 days before today.
        buy(5, 8, 180, True),
        # An unjudged order is never counted itself.
        buy(6, 9, 0, None),
    ]
    report = loyalty(purchases, start=D0, end=D0 + timedelta(days=365), today=D0 + timedelta(days=200))
    # Perfect: orders 1 (back in 10), 2 (never), 6 (back in 30); order 8 is too recent.
    assert (report.perfect.repeat.hits, report.perfect.repeat.n) == (2, 3)
    assert report.perfect.median_days_to_next == 20
    assert (report.imperfect.repeat.hits, report.imperfect.repeat.n) == (0, 2)
    assert {g.name: (g.repeat.hits, g.repeat.n) for g in report.by_reason} == {
        "on_time:late": (0, 1),
        "undamaged:damaged_in_transit": (0, 1),
    }
    assert report.ratio.value is None  # no imperfect repeat: the ratio has no interval


def test_lapsed_customers_are_silent_for_k_times_their_own_rhythm():
    purchases = [
        buy(1, 1, 0, True),
        buy(1, 2, 10, True),
        buy(1, 3, 20, False, "complete:short_shipped"),  # every 10 days, silent since day 20
        buy(2, 4, 0, True),
        buy(2, 5, 60, True),  # every 60 days: 100 days of silence is not yet 3 x 60
        buy(3, 6, 0, True),  # one order: no rhythm to lapse from
    ]
    report = loyalty(purchases, start=D0, end=D0, today=D0 + timedelta(days=160), k=3)
    [lapsed] = report.lapsed
    assert (lapsed.customer_id, lapsed.usual_interval_days, lapsed.days_since) == (1, 10.0, 140)
    assert lapsed.last_imperfect_order_id == 3 and lapsed.last_imperfect_reasons == (
        "complete:short_shipped",
    )
    assert report.lapsed_customers == 1


def test_intervals_are_wilson_and_katz():
    p = wilson(30, 100)
    assert (
        p.rate == 0.3
        and p.low == pytest.approx(0.2189, abs=1e-4)
        and p.high == pytest.approx(0.3958, abs=1e-4)
    )
    assert wilson(0, 0).rate is None and wilson(0, 10).low == 0.0
    ratio = rate_ratio(wilson(18, 100), wilson(30, 100))
    assert ratio.value == pytest.approx(0.6)
    assert ratio.low == pytest.approx(0.3587, abs=1e-4) and ratio.high == pytest.approx(1.0036, abs=1e-4)


def test_days_to_next_and_the_rhythm_of_one_customer():
    history = [buy(1, 3, 30, False, "complete:short_shipped"), buy(1, 1, 0, True), buy(1, 2, 10, None)]
    assert days_to_next(history) == {1: 10, 2: 20, 3: None}
    assert days_to_next([]) == {} and rhythm([]) is None
    found = rhythm(history)
    assert found == Rhythm(1, 3, D0 + timedelta(days=30), 15.0, 3)
    # Silent for 46 days: more than 3 x 15, so lapsed; at 45 days not yet.
    assert lapsed_from(found, D0 + timedelta(days=75), 3) is None
    lapsed = lapsed_from(found, D0 + timedelta(days=76), 3, ("complete:short_shipped",))
    assert lapsed is not None and (lapsed.days_since, lapsed.last_imperfect_reasons) == (
        46,
        ("complete:short_shipped",),
    )


def test_the_report_from_tallies_caps_the_window_and_takes_the_median_of_the_counted_days():
    rng = random.Random(5)
    days = [rng.choice([None, *range(0, 40)]) for _ in range(501)]
    tallies = [("perfect", d, 1) for d in days]
    # The same days summed into counts, as storage answers them.
    summed = [("perfect", d, n) for d, n in Counter(days).items()]
    for window in (10, 25, 40):
        repeated = [d for d in days if d is not None and d <= window]
        for given in (tallies, summed):
            group = report(given, window_days=window, k=3).perfect
            assert (group.repeat.hits, group.repeat.n) == (len(repeated), len(days))
            assert group.median_days_to_next == statistics.median(repeated)
    assert report([], window_days=5, k=3).perfect.median_days_to_next is None
