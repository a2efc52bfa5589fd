"""Quantiles from mergeable log-spaced buckets stay within the stated relative error of the exact ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfectorder.metrics import quantiles
from perfectorder.metrics.kpi_rollup import (
    CUSTOMERS_BY_PURCHASES,
    MONTH_PURCHASES,
    PURCHASES,
    kpi_contributions,
    kpis_from_rollups,
)
from perfectorder.metrics.kpis import OrderKpiFacts, customer_behaviour, distribution, kpis
from perfectorder.metrics.measures import ORDER_MEASURES, Kind
from perfectorder.metrics.quantiles import RELATIVE_ERROR, bucket_of, buckets, quantile, value_of

# Float rounding in log() may put a value on a bucket's edge one bucket over: a hair beyond the bound.
SLACK = 1e-9
durations = st.floats(min_value=quantiles.SMALLEST * 1.001, max_value=1e5, allow_nan=False)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@given(st.lists(durations, min_size=1, max_size=300), st.floats(min_value=0, max_value=1))
def test_the_bucketed_quantile_of_random_samples_is_within_the_stated_relative_error(values, q):
    truth = exact(values, q)
    assert abs(quantile(buckets(values), q) - truth) <= (RELATIVE_ERROR + SLACK) * truth


@given(st.lists(durations, min_size=1, max_size=100), st.lists(durations, min_size=1, max_size=100))
def test_summed_buckets_of_two_days_give_the_quantiles_of_both_days_together(monday, tuesday):
    merged = Counter(buckets(monday)) + Counter(buckets(tuesday))
    for q in (0.5, 0.9):
        truth = exact(monday + tuesday, q)
        assert abs(quantile(merged, q) - truth) <= (RELATIVE_ERROR + SLACK) * truth


@given(durations)
def test_every_value_is_within_the_bound_of_what_its_bucket_stands_for(value):
    assert abs(value_of(bucket_of(value)) - value) <= (RELATIVE_ERROR + SLACK) * value
    assert value_of(bucket_of(-value)) == -value_of(bucket_of(value))


def test_a_single_value_is_every_quantile_and_no_value_is_none():
    assert quantile(buckets([48.0]), 0.9) == pytest.approx(48.0, rel=RELATIVE_ERROR)
    assert quantile({}, 0.5) is None
    assert value_of(bucket_of(0.0)) == 0.0


def test_the_median_of_two_values_interpolates_between_their_buckets():
    # Type 7: halfway between 10 h and 30 h.
    assert quantile(buckets([10.0, 30.0]), 0.5) == pytest.approx(20.0, rel=RELATIVE_ERROR)


T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STAGE_NAMES = ("approved", "picked", "packed", "shipped", "delivered")


@st.composite
def kpi_orders(draw: st.DrawFn, oid: int) -> OrderKpiFacts:
    reached_count = draw(st.integers(0, 5))
    hours = sorted(draw(st.lists(st.floats(0.01, 400), min_size=reached_count, max_size=reached_count)))
    reached = {s: T0 + timedelta(hours=h) for s, h in zip(STAGE_NAMES, hours, strict=False)}
    lines = draw(st.integers(1, 4))
    return OrderKpiFacts(
        order_id=oid,
        customer_id=draw(st.integers(1, 6)),
        placed_at=T0,
        cancelled=draw(st.booleans()),
        promised_ship_date=date(2026, 11, draw(st.integers(2, 5))),
        promised_date=date(2026, 11, draw(st.integers(3, 12))),
        reached=reached,
        lines_ordered=lines,
        units_ordered=lines * 2,
        lines_complete_first=draw(st.integers(0, lines)),
        units_first_shipment=draw(st.integers(0, lines * 2)),
        backordered=draw(st.booleans()),
        pick_lines=lines,
        pick_lines_correct=draw(st.integers(0, lines)),
        accurate=draw(st.none() | st.booleans()),
        returned_reasons=tuple(draw(st.lists(st.sampled_from(["damaged", "changed_mind"]), max_size=2))),
        rating=draw(st.none() | st.integers(1, 5)),
        delivered_on=reached["delivered"].date() if "delivered" in reached else None,
        replacement=draw(st.booleans()),
        outcome_known=draw(st.booleans()),
        lines_due=(due := draw(st.integers(0, lines))),
        lines_on_time_in_full=draw(st.integers(0, due)),
    )


# Drawing two dozen orders field by field is slow on a loaded machine; the check itself is quick.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_summed_kpi_rollups_give_the_kpis_of_the_orders(data):
    orders = [data.draw(kpi_orders(oid)) for oid in range(data.draw(st.integers(0, 25)))]
    summed: Counter[tuple[str, str, int]] = Counter()
    for i, o in enumerate(orders):
        for (_, *key), n in kpi_contributions(date(2026, 11, 1 + i % 3), o).items():
            summed[tuple(key)] += n  # type: ignore[index]
    got, behaviour = kpis_from_rollups(summed)
    expected = kpis(orders)
    assert asdict(behaviour) == pytest.approx(asdict(customer_behaviour(orders)))
    # As a database hands them over: customers counted by how many purchases they made.
    folded = Counter(n for (measure, _, _), n in summed.items() if measure == PURCHASES)
    read = {k: n for k, n in summed.items() if k[0] != PURCHASES}
    read |= {(CUSTOMERS_BY_PURCHASES, str(bought), 0): c for bought, c in folded.items()}
    assert kpis_from_rollups(read) == (got, behaviour)
    # A calendar month's report folds the customers' month rows instead: the same customers.
    monthly = Counter(n for (measure, _, _), n in summed.items() if measure == MONTH_PURCHASES)
    read = {k: n for k, n in summed.items() if k[0] not in (PURCHASES, MONTH_PURCHASES)}
    read |= {(CUSTOMERS_BY_PURCHASES, str(bought), 0): c for bought, c in monthly.items()}
    assert kpis_from_rollups(read)[1] == behaviour
    # Every measure of the registry: counts and rates exactly, quantiles within the bound.
    assert got.orders == expected.orders
    assert (
        got.rates.keys()
        == expected.rates.keys()
        == {m.name for m in ORDER_MEASURES if m.kind in (Kind.RATE, Kind.MEAN)}
    )
    for name, value in expected.rates.items():
        assert got.rates[name] == (pytest.approx(value) if value is not None else None), name
    assert got.by_key.keys() == expected.by_key.keys()
    for name, rates in expected.by_key.items():
        assert got.by_key[name] == pytest.approx(rates), name
    assert got.distributions.keys() == expected.distributions.keys()
    for name, truth in expected.distributions.items():
        mine = got.distributions[name]
        assert mine.count == truth.count, name
        for a, b in ((mine.median, truth.median), (mine.p90, truth.p90)):
            assert (a is None) == (b is None), name
            if b is not None:
                assert abs(a - b) <= (RELATIVE_ERROR + SLACK) * abs(b) + quantiles.SMALLEST, name


def test_distribution_and_buckets_agree_on_a_hand_worked_table():
    hours = [2.0, 4.0, 6.0, 8.0, 100.0]
    truth = distribution(hours)
    assert truth.median == 6.0 and truth.p90 == pytest.approx(63.2)
    assert quantile(buckets(hours), 0.5) == pytest.approx(6.0, rel=RELATIVE_ERROR)
    assert quantile(buckets(hours), 0.9) == pytest.approx(63.2, rel=RELATIVE_ERROR)
