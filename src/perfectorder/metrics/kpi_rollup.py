"""What one order adds to the daily KPI rollups, and how summed rollups become the KPIs again.

A KPI rollup row is (day, measure, key, bucket) -> n, generated from metrics.measures: a rate's
numerator and denominator are "<name>/n" and "<name>/d" (key "", bucket 0; a rate by key keeps its
numerator per key), a distribution keeps its values as counts per bucket of metrics.quantiles under
its name, and each customer's purchases sit under the customer's id. All of them add up across
orders and days, so the incremental refresh subtracts an order's old contribution and adds its new
one, and a report sums the rows of its days: rates and counts come out exactly as `kpis` computes
them from the orders, quantiles within quantiles.RELATIVE_ERROR.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date

from perfectorder.metrics import quantiles
from perfectorder.metrics.kpis import (
    CustomerBehaviour,
    Distribution,
    Kpis,
    KpiSums,
    OrderKpiFacts,
)
from perfectorder.metrics.measures import ORDER_MEASURES, Kind

ORDERS, PURCHASES = ("orders", "purchases")
# How many customers made each number of purchases (key: the number). Stored per calendar month (day:
# its first), kept by the refresh from each customer's MONTH_PURCHASES count as it moves
# (customers_by_purchases_moves), so a report of one calendar month reads a few rows. A report of
# any other period receives the same rows folded by the database from its PURCHASES or
# MONTH_PURCHASES rows: one per customer who bought in the period, not summable across months.
CUSTOMERS_BY_PURCHASES = "customers_by_purchases"
# Each customer's purchases again, on the first day of the month: a report of whole calendar months
# folds one row per active customer and month instead of one per customer and day.
MONTH_PURCHASES = "purchases_in_month"
NUMERATOR, DENOMINATOR = "/n", "/d"

Key = tuple[str, str, int]  # (measure, key, bucket)


def kpi_contributions(placed_on: date, kpi: OrderKpiFacts) -> dict[tuple[date, str, str, int], int]:
    """Rollup key (day, measure, key, bucket) -> what the order adds there."""
    out = {(placed_on, *key): n for key, n in _counts(kpi).items()}
    if not kpi.cancelled and not kpi.replacement:
        out[(placed_on.replace(day=1), MONTH_PURCHASES, str(kpi.customer_id), 0)] = 1
    return out


def customers_by_purchases_moves(
    moved: Iterable[tuple[date, int, int]],
) -> dict[tuple[date, str, str, int], int]:
    """Rollup key (month, CUSTOMERS_BY_PURCHASES, purchases, 0) -> change, for customers whose
    purchase count in the month went from `before` to `after` ((month, before, after) each): one
    customer fewer at `before`, one more at `after`, where those are purchases at all."""
    out: dict[tuple[date, str, str, int], int] = {}
    for month, before, after in moved:
        for count, change in ((before, -1), (after, 1)):
            if count > 0 and before != after:
                key = (month, CUSTOMERS_BY_PURCHASES, str(count), 0)
                out[key] = out.get(key, 0) + change
    return {key: n for key, n in out.items() if n}


def _counts(kpi: OrderKpiFacts) -> dict[Key, int]:
    out: dict[Key, int] = {(ORDERS, "", 0): 1}

    def put(key: Key, n: int) -> None:
        if n:
            out[key] = out.get(key, 0) + n

    for m in ORDER_MEASURES:
        if m.value is not None:
            value = m.value(kpi)
            if value is not None:
                put((m.name, "", quantiles.bucket_of(value)), 1)
            continue
        if m.numerator is not None:
            put((m.name + NUMERATOR, "", 0), m.numerator(kpi))
        if m.keys is not None:
            for key in m.keys(kpi):
                put((m.name + NUMERATOR, key, 0), 1)
        if m.denominator is not None:
            put((m.name + DENOMINATOR, "", 0), m.denominator(kpi))
    if not kpi.cancelled and not kpi.replacement:
        out[(PURCHASES, str(kpi.customer_id), 0)] = 1
    return out


_MEASURE_OF = {
    **{m.name + NUMERATOR: m for m in ORDER_MEASURES},
    **{m.name + DENOMINATOR: m for m in ORDER_MEASURES},
    **{m.name: m for m in ORDER_MEASURES if m.kind is Kind.DISTRIBUTION},
}


def kpis_from_rollups(summed: Mapping[Key, int]) -> tuple[Kpis, CustomerBehaviour]:
    """The figures of metrics.kpis.kpis and customer_behaviour from a period's summed rollup rows."""
    sums = KpiSums()
    histograms: dict[str, dict[int, int]] = {
        m.name: {} for m in ORDER_MEASURES if m.kind is Kind.DISTRIBUTION
    }
    by_purchases: dict[int, int] = {}
    for (measure, key, bucket), n in summed.items():
        if not n:
            continue
        if measure == ORDERS:
            sums.orders += n
        elif measure == PURCHASES:
            by_purchases[n] = by_purchases.get(n, 0) + 1
        elif measure == CUSTOMERS_BY_PURCHASES:
            by_purchases[int(key)] = by_purchases.get(int(key), 0) + n
        elif (m := _MEASURE_OF.get(measure)) is not None:
            if m.kind is Kind.DISTRIBUTION:
                histograms[m.name][bucket] = n
            elif measure.endswith(DENOMINATOR):
                sums.denominators[m.name] += n
            elif m.kind is Kind.RATE_BY_KEY:
                sums.keyed.setdefault(m.name, Counter())[key] += n
            else:
                sums.numerators[m.name] += n
    distributions = {
        name: Distribution(
            sum(counts.values()), quantiles.quantile(counts, 0.5), quantiles.quantile(counts, 0.9)
        )
        for name, counts in histograms.items()
    }
    customers = sum(by_purchases.values())
    return (
        sums.figures(distributions),
        CustomerBehaviour(
            customers,
            sum(c for k, c in by_purchases.items() if k >= 2) / customers if customers else None,
            sum(k * c for k, c in by_purchases.items()) / customers if customers else None,
        ),
    )
