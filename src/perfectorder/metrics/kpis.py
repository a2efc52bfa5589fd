"""The KPIs around the Perfect Order. Pure functions over per-order facts; durations in hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

STAGES = ("approved", "picked", "packed", "shipped", "delivered")


@dataclass(frozen=True, slots=True)
class OrderKpiFacts:
    order_id: int
    customer_id: int
    placed_at: datetime
    cancelled: bool
    promised_ship_date: date
    promised_date: date
    # When the order first reached each stage ("approved", "picked", ...), from its timeline.
    reached: dict[str, datetime] = field(default_factory=dict)
    lines_ordered: int = 0
    units_ordered: int = 0
    lines_complete_first: int = 0  # lines shipped in full by the first shipment
    units_first_shipment: int = 0
    backordered: bool = False
    pick_lines: int = 0
    pick_lines_correct: int = 0
    accurate: bool | None = None
    returned_reasons: tuple[str, ...] = ()
    rating: int | None = None
    delivered_on: date | None = None
    replacement: bool = False  # an exchange or a reshipment, linked to the order it replaces


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    median: float | None
    p90: float | None


def distribution(values: Iterable[float]) -> Distribution:
    ordered = sorted(values)
    if not ordered:
        return Distribution(0, None, None)
    return Distribution(len(ordered), _quantile(ordered, 0.5), _quantile(ordered, 0.9))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the common 'type 7' definition)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _share(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


@dataclass(frozen=True, slots=True)
class Kpis:
    orders: int
    cycle_time_hours: Distribution
    lead_time_hours: Distribution  # placed -> delivered, as the customer waits
    time_to_ship_hours: Distribution  # placed -> first shipment, as the warehouse works
    stage_hours: dict[str, Distribution]
    on_time_shipping_rate: float | None
    on_time_delivery_rate: float | None
    fill_rate_lines: float | None
    fill_rate_units: float | None
    backorder_rate: float | None
    order_accuracy: float | None
    picking_accuracy: float | None
    return_rate: float | None
    return_rate_by_reason: dict[str, float]
    cancellation_rate: float | None
    average_rating: float | None


def kpis(orders: Sequence[OrderKpiFacts]) -> Kpis:
    kept = [o for o in orders if not o.cancelled]
    shipped = [o for o in kept if "shipped" in o.reached]
    delivered = [o for o in kept if "delivered" in o.reached]
    stage_hours = {}
    previous = "placed"
    for stage in STAGES:
        stage_hours[stage] = distribution(
            _hours(o.reached[previous] if previous != "placed" else o.placed_at, o.reached[stage])
            for o in kept
            if stage in o.reached and (previous == "placed" or previous in o.reached)
        )
        previous = stage
    reasons: Counter[str] = Counter(r for o in shipped for r in set(o.returned_reasons))
    accuracy_known = [o for o in delivered if o.accurate is not None]
    ratings = [o.rating for o in kept if o.rating is not None]
    return Kpis(
        orders=len(orders),
        cycle_time_hours=distribution(_hours(o.placed_at, o.reached["delivered"]) for o in delivered),
        lead_time_hours=distribution(_hours(o.placed_at, o.reached["delivered"]) for o in delivered),
        time_to_ship_hours=distribution(_hours(o.placed_at, o.reached["shipped"]) for o in shipped),
        stage_hours=stage_hours,
        on_time_shipping_rate=_share(
            sum(o.reached["shipped"].date() <= o.promised_ship_date for o in shipped), len(shipped)
        ),
        on_time_delivery_rate=_share(
            sum(o.delivered_on is not None and o.delivered_on <= o.promised_date for o in delivered),
            len(delivered),
        ),
        fill_rate_lines=_share(
            sum(o.lines_complete_first for o in shipped), sum(o.lines_ordered for o in shipped)
        ),
        fill_rate_units=_share(
            sum(o.units_first_shipment for o in shipped), sum(o.units_ordered for o in shipped)
        ),
        backorder_rate=_share(sum(o.backordered for o in kept), len(kept)),
        order_accuracy=_share(sum(bool(o.accurate) for o in accuracy_known), len(accuracy_known)),
        picking_accuracy=_share(sum(o.pick_lines_correct for o in kept), sum(o.pick_lines for o in kept)),
        return_rate=_share(sum(bool(o.returned_reasons) for o in shipped), len(shipped)),
        return_rate_by_reason={r: n / len(shipped) for r, n in sorted(reasons.items())},
        cancellation_rate=_share(len(orders) - len(kept), len(orders)),
        average_rating=sum(ratings) / len(ratings) if ratings else None,
    )


def first_shipment_fill(lines: Sequence[tuple[str, int]], shipped: Mapping[str, int]) -> tuple[int, int]:
    """(lines shipped in full, units shipped) by the first shipment. Each line takes its SKU's units
    up to what it asked for: a parcel with one unit too many fills no more than 100 %."""
    left = dict(shipped)
    complete = units = 0
    for sku, wanted in lines:
        took = min(left.get(sku, 0), max(wanted, 0))
        left[sku] = left.get(sku, 0) - took
        complete += took >= wanted
        units += took
    return complete, units


@dataclass(frozen=True, slots=True)
class Turnover:
    cost_of_goods_shipped: Decimal
    average_inventory_value: Decimal
    turnover: float | None  # times per period, by value
    units_shipped: int
    average_inventory_units: float
    turnover_units: float | None
    days_of_supply: float | None  # days the stock on hand lasts at the period's shipping pace


def turnover(
    *,
    cost_of_goods_shipped: Decimal,
    inventory_value_start: Decimal,
    inventory_value_end: Decimal,
    units_shipped: int,
    units_start: int,
    units_end: int,
    days: int,
) -> Turnover:
    average_value = (inventory_value_start + inventory_value_end) / 2
    average_units = (units_start + units_end) / 2
    per_day = units_shipped / days if days > 0 else 0
    return Turnover(
        cost_of_goods_shipped,
        average_value,
        float(cost_of_goods_shipped / average_value) if average_value else None,
        units_shipped,
        average_units,
        units_shipped / average_units if average_units else None,
        units_end / per_day if per_day else None,
    )


@dataclass(frozen=True, slots=True)
class CustomerBehaviour:
    customers: int
    repeat_purchase_rate: float | None  # customers with 2+ orders / customers with any
    orders_per_customer: float | None  # purchase frequency over the period


def customer_behaviour(orders: Sequence[OrderKpiFacts]) -> CustomerBehaviour:
    """Purchases only: an exchange or a reshipment is the same purchase made good, not a second one."""
    per_customer = Counter(o.customer_id for o in orders if not o.cancelled and not o.replacement)
    customers = len(per_customer)
    return CustomerBehaviour(
        customers,
        _share(sum(1 for n in per_customer.values() if n >= 2), customers),
        sum(per_customer.values()) / customers if customers else None,
    )


# One order's contribution to the KPIs, flattened so a database can sum it and take quantiles
# (PostgreSQL's percentile_cont is the same 'type 7' interpolation as _quantile above).
KPI_COLUMNS = (
    "k_cancelled",
    "k_shipped",
    "k_delivered",
    "k_cycle_hours",
    "k_lead_hours",
    "k_ship_hours",
    *(f"k_{stage}_hours" for stage in STAGES),
    "k_ship_on_time",
    "k_deliver_on_time",
    "k_lines_ordered",
    "k_lines_complete_first",
    "k_units_ordered",
    "k_units_first_shipment",
    "k_backordered",
    "k_pick_lines",
    "k_pick_lines_correct",
    "k_accurate",
    "k_returned",
    "k_return_reasons",
    "k_rating",
    "k_replacement",
)


def kpi_columns(o: OrderKpiFacts) -> dict[str, object]:
    """The order's values in the sums and quantiles of `kpis`; None where it does not count."""
    kept = not o.cancelled
    shipped = kept and "shipped" in o.reached
    delivered = kept and "delivered" in o.reached
    out: dict[str, object] = {
        "k_cancelled": o.cancelled,
        "k_shipped": shipped,
        "k_delivered": delivered,
        "k_cycle_hours": _hours(o.placed_at, o.reached["delivered"]) if delivered else None,
        "k_lead_hours": _hours(o.placed_at, o.reached["delivered"]) if delivered else None,
        "k_ship_hours": _hours(o.placed_at, o.reached["shipped"]) if shipped else None,
        "k_ship_on_time": o.reached["shipped"].date() <= o.promised_ship_date if shipped else None,
        "k_deliver_on_time": (o.delivered_on is not None and o.delivered_on <= o.promised_date)
        if delivered
        else None,
        "k_lines_ordered": o.lines_ordered if shipped else 0,
        "k_lines_complete_first": o.lines_complete_first if shipped else 0,
        "k_units_ordered": o.units_ordered if shipped else 0,
        "k_units_first_shipment": o.units_first_shipment if shipped else 0,
        "k_backordered": kept and o.backordered,
        "k_pick_lines": o.pick_lines if kept else 0,
        "k_pick_lines_correct": o.pick_lines_correct if kept else 0,
        "k_accurate": o.accurate if delivered else None,
        "k_returned": shipped and bool(o.returned_reasons),
        "k_return_reasons": ",".join(sorted(set(o.returned_reasons))) if shipped else "",
        "k_rating": o.rating if kept else None,
        "k_replacement": o.replacement,
    }
    previous = "placed"
    for stage in STAGES:
        since = o.placed_at if previous == "placed" else o.reached.get(previous)
        out[f"k_{stage}_hours"] = (
            _hours(since, o.reached[stage]) if kept and stage in o.reached and since is not None else None
        )
        previous = stage
    return out
