"""What one order adds to the daily KPI rollups, and how summed rollups become the KPIs again.

A KPI rollup row is (day, measure, key, bucket) -> n. Sums and counts use key "" and bucket 0; the
return reasons and each customer's purchases use the reason or the customer as key; every
Distribution of metrics.kpis keeps its values as counts per bucket of metrics.quantiles. All of them
add up across orders and days, so the incremental refresh subtracts an order's old contribution and
adds its new one, and a report sums the rows of its days: rates and counts come out exactly as
`kpis` computes them from the orders, quantiles within quantiles.RELATIVE_ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from perfectorder.metrics import quantiles
from perfectorder.metrics.kpis import (
    STAGES,
    CustomerBehaviour,
    Distribution,
    Kpis,
    OrderKpiFacts,
    kpi_columns,
)

# Flag columns of kpi_columns counted where true, and amount columns summed.
FLAGS = (
    "k_cancelled",
    "k_shipped",
    "k_delivered",
    "k_ship_on_time",
    "k_deliver_on_time",
    "k_backordered",
    "k_accurate",
    "k_returned",
)
AMOUNTS = (
    "k_lines_ordered",
    "k_lines_complete_first",
    "k_units_ordered",
    "k_units_first_shipment",
    "k_pick_lines",
    "k_pick_lines_correct",
    "k_rating",
)
DURATIONS = ("k_cycle_hours", "k_lead_hours", "k_ship_hours", *(f"k_{s}_hours" for s in STAGES))
ORDERS, ACCURACY_KNOWN, RATINGS, RETURNED_FOR, PURCHASES = (
    "orders",
    "accuracy_known",
    "ratings",
    "returned_for",
    "purchases",
)
# Read side only: how many customers made each number of purchases in the period (key: the number).
# A database folds the period's PURCHASES rows into these, so a report receives a few rows, not one
# per customer.
CUSTOMERS_BY_PURCHASES = "customers_by_purchases"
# Each customer's purchases again, on the first day of the month: a report of whole calendar months
# folds one row per active customer and month instead of one per customer and day.
MONTH_PURCHASES = "purchases_in_month"

Key = tuple[str, str, int]  # (measure, key, bucket)


def kpi_contributions(placed_on: date, kpi: OrderKpiFacts) -> dict[tuple[date, str, str, int], int]:
    """Rollup key (day, measure, key, bucket) -> what the order adds there."""
    out = {(placed_on, *key): n for key, n in _counts(kpi).items()}
    if not kpi.cancelled and not kpi.replacement:
        out[(placed_on.replace(day=1), MONTH_PURCHASES, str(kpi.customer_id), 0)] = 1
    return out


def _counts(kpi: OrderKpiFacts) -> dict[Key, int]:
    columns = kpi_columns(kpi)
    out: dict[Key, int] = {(ORDERS, "", 0): 1}
    for name in FLAGS:
        if columns[name]:
            out[(name, "", 0)] = 1
    for name in AMOUNTS:
        if value := columns[name]:
            out[(name, "", 0)] = int(value)  # type: ignore[call-overload]
    if columns["k_accurate"] is not None:
        out[(ACCURACY_KNOWN, "", 0)] = 1
    if columns["k_rating"] is not None:
        out[(RATINGS, "", 0)] = 1
    for reason in str(columns["k_return_reasons"]).split(","):
        if reason:
            out[(RETURNED_FOR, reason, 0)] = 1
    if not kpi.cancelled and not kpi.replacement:
        out[(PURCHASES, str(kpi.customer_id), 0)] = 1
    for name in DURATIONS:
        hours = columns[name]
        if hours is not None:
            out[(name, "", quantiles.bucket_of(float(hours)))] = 1  # type: ignore[arg-type]
    return out


def kpis_from_rollups(summed: Mapping[Key, int]) -> tuple[Kpis, CustomerBehaviour]:
    """The figures of metrics.kpis.kpis and customer_behaviour from a period's summed rollup rows."""

    def total(measure: str) -> int:
        return summed.get((measure, "", 0), 0)

    def share(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    histograms: dict[str, dict[int, int]] = {name: {} for name in DURATIONS}
    reasons: dict[str, int] = {}
    by_purchases: dict[int, int] = {}
    for (measure, key, bucket), n in summed.items():
        if measure in histograms and n:
            histograms[measure][bucket] = n
        elif measure == RETURNED_FOR and n:
            reasons[key] = n
        elif measure == PURCHASES and n:
            by_purchases[n] = by_purchases.get(n, 0) + 1
        elif measure == CUSTOMERS_BY_PURCHASES and n:
            by_purchases[int(key)] = by_purchases.get(int(key), 0) + n

    def dist(name: str) -> Distribution:
        counts = histograms[name]
        return Distribution(
            sum(counts.values()), quantiles.quantile(counts, 0.5), quantiles.quantile(counts, 0.9)
        )

    orders, shipped, delivered = total(ORDERS), total("k_shipped"), total("k_delivered")
    kept = orders - total("k_cancelled")
    customers = sum(by_purchases.values())
    return (
        Kpis(
            orders=orders,
            cycle_time_hours=dist("k_cycle_hours"),
            lead_time_hours=dist("k_lead_hours"),
            time_to_ship_hours=dist("k_ship_hours"),
            stage_hours={stage: dist(f"k_{stage}_hours") for stage in STAGES},
            on_time_shipping_rate=share(total("k_ship_on_time"), shipped),
            on_time_delivery_rate=share(total("k_deliver_on_time"), delivered),
            fill_rate_lines=share(total("k_lines_complete_first"), total("k_lines_ordered")),
            fill_rate_units=share(total("k_units_first_shipment"), total("k_units_ordered")),
            backorder_rate=share(total("k_backordered"), kept),
            order_accuracy=share(total("k_accurate"), total(ACCURACY_KNOWN)),
            picking_accuracy=share(total("k_pick_lines_correct"), total("k_pick_lines")),
            return_rate=share(total("k_returned"), shipped),
            return_rate_by_reason={r: n / shipped for r, n in sorted(reasons.items())} if shipped else {},
            cancellation_rate=share(orders - kept, orders),
            average_rating=total("k_rating") / total(RATINGS) if total(RATINGS) else None,
        ),
        CustomerBehaviour(
            customers,
            share(sum(c for k, c in by_purchases.items() if k >= 2), customers),
            sum(k * c for k, c in by_purchases.items()) / customers if customers else None,
        ),
    )
