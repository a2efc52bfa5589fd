"""Every measure of the Perfect Order engine, declared once.

A measure says what it is (name, title, definition, unit), how one order counts in it (a numerator
and a denominator, or a value whose median and p90 are reported), the per-order facts it reads, the
slices it is reported by and whether it is a Perfect Order component. Everything else is generated
from this list: the daily KPI rollups an order adds (`metrics.kpi_rollup`), the figures computed
order by order (`metrics.kpis.kpis`) and from summed rollups, the API's KPI document, the
dashboard's KPI table and the table of definitions in docs/metrics.md
(`tests/unit/test_measures.py` fails when it is stale).

Adding a measure: one entry in MEASURES below (and a new field of `OrderKpiFacts`, here, if it needs
facts no order carries yet); the extraction of those facts in `services.verdicts.kpi_facts_from`; a
test. See docs/architecture.md, "Adding a measure".
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

# The per-order facts the measures read: extracted from each order's records by
# services.verdicts.kpi_facts_from and stored with its verdict.
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
    # Every parcel delivered or lost and nothing left to ship: the order's outcome is known.
    outcome_known: bool = False
    # Lines still wanted (not cancelled in full), and those whose every unit was delivered by the
    # promised date (the destination's calendar).
    lines_due: int = 0
    lines_on_time_in_full: int = 0
    lines_late: int = 0  # judged lines not on time: late, early for their window, or lost
    # Imported history: the file tells dates, not what each parcel held, a ship-by promise, returns
    # or backorders; the measures that need those leave such orders out rather than count zeros.
    history: bool = False


class Kind(enum.StrEnum):
    COMPONENT = "component"  # a Perfect Order component: judged per order by metrics.perfect_order
    PERFECT = "perfect"  # the perfect order rate and index, from the components
    RATE = "rate"  # sum of numerators / sum of denominators over the period's orders
    MEAN = "mean"  # the same, in the measure's unit rather than a share
    DISTRIBUTION = "distribution"  # median and p90 of a value per order
    RATE_BY_KEY = "rate_by_key"  # a rate per key (a return reason), over one denominator
    CUSTOMER = "customer"  # from each customer's purchases in the period
    STOCK = "stock"  # from the stock ledger, not from orders


ALL_SLICES = ("all", "channel", "warehouse", "carrier", "category", "tier")
WHOLE_STORE = ("all",)

Count = Callable[[OrderKpiFacts], int]


@dataclass(frozen=True, slots=True)
class Measure:
    name: str  # stable: the API's field, the rollups' key
    title: str
    definition: str
    kind: Kind
    unit: str  # "share", "hours", "rating", "orders", "customers", "times", "days"
    facts: tuple[str, ...] = ()  # the OrderKpiFacts fields it reads
    numerator: Count | None = None
    denominator: Count | None = None
    value: Callable[[OrderKpiFacts], float | None] | None = None
    keys: Callable[[OrderKpiFacts], Iterable[str]] | None = None  # RATE_BY_KEY: keys the order counts in
    group: tuple[str, str] | None = None  # reported as group[key] (the time in each stage)
    slices: tuple[str, ...] = WHOLE_STORE
    stage: str = ""  # COMPONENT: the stages its failures name

    @property
    def from_orders(self) -> bool:
        """Kept in the daily KPI rollups, from each order's facts."""
        return self.kind in (Kind.RATE, Kind.MEAN, Kind.DISTRIBUTION, Kind.RATE_BY_KEY)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _kept(o: OrderKpiFacts) -> int:
    return int(not o.cancelled)


def _shipped(o: OrderKpiFacts) -> int:
    return int(not o.cancelled and "shipped" in o.reached)


def _delivered(o: OrderKpiFacts) -> int:
    return int(not o.cancelled and "delivered" in o.reached)


def _shipped_live(o: OrderKpiFacts) -> int:
    return int(bool(_shipped(o)) and not o.history)


def _kept_live(o: OrderKpiFacts) -> int:
    return int(not o.cancelled and not o.history)


def _ended(o: OrderKpiFacts) -> int:
    return int(not o.cancelled and o.outcome_known)


def _placed_to(stage: str) -> Callable[[OrderKpiFacts], float | None]:
    def value(o: OrderKpiFacts) -> float | None:
        return _hours(o.placed_at, o.reached[stage]) if not o.cancelled and stage in o.reached else None

    return value


def _stage_hours(stage: str) -> Callable[[OrderKpiFacts], float | None]:
    previous = STAGES[STAGES.index(stage) - 1] if STAGES.index(stage) else None

    def value(o: OrderKpiFacts) -> float | None:
        since = o.placed_at if previous is None else o.reached.get(previous)
        if o.cancelled or stage not in o.reached or since is None:
            return None
        return _hours(since, o.reached[stage])

    return value


def _shipped_on_time(o: OrderKpiFacts) -> int:
    return int(bool(_shipped_live(o)) and o.reached["shipped"].date() <= o.promised_ship_date)


def _delivered_on_time(o: OrderKpiFacts) -> int:
    return int(bool(_delivered(o)) and o.delivered_on is not None and o.delivered_on <= o.promised_date)


def _if(condition: Count, count: Count) -> Count:
    return lambda o: count(o) if condition(o) else 0


_COMPONENTS = (
    Measure(
        "complete",
        "Complete",
        "Fails when units were never shipped; a parcel was lost (`lost_in_transit`); a `missing_item` "
        "return; backordered units (after a short pick) arrived after the promise; the customer says it "
        "arrived incomplete.",
        Kind.COMPONENT,
        "share",
        slices=ALL_SLICES,
        stage="picking, packing, shipping",
    ),
    Measure(
        "on_time",
        "On time",
        "Fails when delivered (calendar date in the destination's time zone) after the reference date + "
        "tolerance, or never: a parcel was lost (`lost_in_transit`). The orders board calls an open order "
        "late by the same rule (`perfect_order.overdue_before`).",
        Kind.COMPONENT,
        "share",
        slices=ALL_SLICES,
        stage="warehouse (left after the planned ship date), shipping",
    ),
    Measure(
        "accurate",
        "Accurate",
        "Fails on a packing difference (`packing_mismatch`), a `wrong_item`, `not_as_described` or "
        "`wrong_documents` return, or when the customer says it was not as described. A wrong scan refused "
        "at picking never reached the customer and does not count.",
        Kind.COMPONENT,
        "share",
        slices=ALL_SLICES,
        stage="packing, picking, catalog",
    ),
    Measure(
        "undamaged",
        "Undamaged",
        "Fails on a carrier damage event (a claim), a `damaged_in_transit` or `defective` return, or when "
        "the customer says it arrived damaged.",
        Kind.COMPONENT,
        "share",
        slices=ALL_SLICES,
        stage="shipping, supplier",
    ),
    Measure(
        "communicated",
        "Communicated",
        "Fails when the confirmation did not reach the customer within 15 minutes, the shipped notice "
        "within 4 hours of shipping, or, for a late order, no delay notice reached them before the "
        "promised day ended: `message_missing` when it never arrived, `message_late` when it arrived "
        "after its deadline. Not measured when what was sent is unknown (imported history).",
        Kind.COMPONENT,
        "share",
        slices=ALL_SLICES,
        stage="communication",
    ),
)

_PERFECT = (
    Measure(
        "perfect_order_rate",
        "Perfect order rate",
        "Perfect final orders / final orders with all five components measured.",
        Kind.PERFECT,
        "share",
        slices=ALL_SLICES,
    ),
    Measure(
        "perfect_order_index",
        "Perfect Order Index",
        "The product of the measured component rates.",
        Kind.PERFECT,
        "share",
        slices=ALL_SLICES,
    ),
)

_TIMES = (
    Measure(
        "cycle_time_hours",
        "Order cycle time",
        "Placed → delivered, hours: count, median, p90, over delivered orders.",
        Kind.DISTRIBUTION,
        "hours",
        facts=("placed_at", "reached", "cancelled"),
        value=_placed_to("delivered"),
    ),
    Measure(
        "lead_time_hours",
        "Order lead time",
        "Placed → delivered, hours, as the customer waits (the same span as the cycle time).",
        Kind.DISTRIBUTION,
        "hours",
        facts=("placed_at", "reached", "cancelled"),
        value=_placed_to("delivered"),
    ),
    Measure(
        "time_to_ship_hours",
        "Time to ship",
        "Placed → first shipment, hours, over shipped orders.",
        Kind.DISTRIBUTION,
        "hours",
        facts=("placed_at", "reached", "cancelled"),
        value=_placed_to("shipped"),
    ),
    *(
        Measure(
            f"stage_{stage}_hours",
            f"Time to {stage}",
            f"{STAGES[i - 1] if i else 'placed'} → {stage}, hours (first time each was reached, from the "
            "timeline).",
            Kind.DISTRIBUTION,
            "hours",
            facts=("placed_at", "reached", "cancelled"),
            value=_stage_hours(stage),
            group=("stage_hours", stage),
        )
        for i, stage in enumerate(STAGES)
    ),
)

_RATES = (
    Measure(
        "on_time_shipping_rate",
        "On-time shipping",
        "Orders whose first shipment left on or before the planned ship date / shipped orders "
        "(imported history has no planned ship date and is left out).",
        Kind.RATE,
        "share",
        facts=("reached", "promised_ship_date", "cancelled", "history"),
        numerator=_shipped_on_time,
        denominator=_shipped_live,
    ),
    Measure(
        "on_time_delivery_rate",
        "On-time delivery",
        "Delivered on or before the promised date / delivered orders.",
        Kind.RATE,
        "share",
        facts=("reached", "delivered_on", "promised_date", "cancelled"),
        numerator=_delivered_on_time,
        denominator=_delivered,
    ),
    Measure(
        "otif_lines_rate",
        "On time in full (lines)",
        "Lines whose every unit was delivered by the line's promise (the order's on-time terms: the "
        "destination's calendar, or the promised time plus grace; never before a delivery window's start) "
        "/ lines still wanted (not cancelled in full) of the orders whose outcome is known (every "
        "parcel delivered or lost). A lost parcel's lines, lines shipped short and late lines all fail.",
        Kind.RATE,
        "share",
        facts=("lines_due", "lines_on_time_in_full", "outcome_known", "cancelled"),
        numerator=_if(_ended, lambda o: o.lines_on_time_in_full),
        denominator=_if(_ended, lambda o: o.lines_due),
    ),
    Measure(
        "fill_rate_lines",
        "Fill rate (lines)",
        "Lines shipped complete in the first shipment / lines ordered, over shipped orders (not "
        "imported history, whose files do not say what each parcel held).",
        Kind.RATE,
        "share",
        facts=("lines_ordered", "lines_complete_first", "reached", "cancelled", "history"),
        numerator=_if(_shipped_live, lambda o: o.lines_complete_first),
        denominator=_if(_shipped_live, lambda o: o.lines_ordered),
    ),
    Measure(
        "fill_rate_units",
        "Fill rate (units)",
        "Units shipped in the first shipment / units ordered, over shipped orders; each line counts at "
        "most the units it asked for, so a parcel with one unit too many never fills beyond 100 %.",
        Kind.RATE,
        "share",
        facts=("units_ordered", "units_first_shipment", "reached", "cancelled", "history"),
        numerator=_if(_shipped_live, lambda o: o.units_first_shipment),
        denominator=_if(_shipped_live, lambda o: o.units_ordered),
    ),
    Measure(
        "backorder_rate",
        "Backorder rate",
        "Orders with backordered units (at capture or after a short pick) / orders not cancelled "
        "(not imported history).",
        Kind.RATE,
        "share",
        facts=("backordered", "cancelled", "history"),
        numerator=_if(_kept_live, lambda o: int(o.backordered)),
        denominator=_kept_live,
    ),
    Measure(
        "order_accuracy",
        "Order accuracy",
        "Delivered orders accurate / delivered orders with an accuracy verdict.",
        Kind.RATE,
        "share",
        facts=("accurate", "reached", "cancelled"),
        numerator=_if(_delivered, lambda o: int(o.accurate is True)),
        denominator=_if(_delivered, lambda o: int(o.accurate is not None)),
    ),
    Measure(
        "picking_accuracy",
        "Picking accuracy",
        "Pick lines picked in full with no refused scan / all pick lines.",
        Kind.RATE,
        "share",
        facts=("pick_lines", "pick_lines_correct", "cancelled"),
        numerator=_if(_kept, lambda o: o.pick_lines_correct),
        denominator=_if(_kept, lambda o: o.pick_lines),
    ),
    Measure(
        "return_rate",
        "Return rate",
        "Shipped orders with a return / shipped orders (not imported history).",
        Kind.RATE,
        "share",
        facts=("returned_reasons", "reached", "cancelled", "history"),
        numerator=_if(_shipped_live, lambda o: int(bool(o.returned_reasons))),
        denominator=_shipped_live,
    ),
    Measure(
        "return_rate_by_reason",
        "Return rate by reason",
        "Shipped orders with a return of that reason / shipped orders (an order with two reasons counts "
        "in both).",
        Kind.RATE_BY_KEY,
        "share",
        facts=("returned_reasons", "reached", "cancelled", "history"),
        keys=lambda o: sorted(set(o.returned_reasons)) if _shipped_live(o) else (),
        denominator=_shipped_live,
    ),
    Measure(
        "cancellation_rate",
        "Cancellation rate",
        "Cancelled orders / all orders placed.",
        Kind.RATE,
        "share",
        facts=("cancelled",),
        numerator=lambda o: int(o.cancelled),
        denominator=lambda o: 1,
    ),
    Measure(
        "average_rating",
        "Average rating",
        "Mean feedback rating (1-5) of the orders not cancelled.",
        Kind.MEAN,
        "rating",
        facts=("rating", "cancelled"),
        numerator=_if(_kept, lambda o: o.rating or 0),
        denominator=_if(_kept, lambda o: int(o.rating is not None)),
    ),
)

_CUSTOMERS = (
    Measure(
        "customers",
        "Customers",
        "Customers with at least one purchase in the period.",
        Kind.CUSTOMER,
        "customers",
        facts=("customer_id", "replacement", "cancelled"),
    ),
    Measure(
        "repeat_purchase_rate",
        "Repeat purchase rate",
        "Customers with 2+ purchases / customers. Purchases only: an exchange "
        "(`returns.exchange_order_id`) or a reshipment (`claims.replacement_order_id`) is not a second "
        "order.",
        Kind.CUSTOMER,
        "share",
        facts=("customer_id", "replacement", "cancelled"),
    ),
    Measure(
        "orders_per_customer",
        "Orders per customer",
        "Purchases / customers: the purchase frequency over the period.",
        Kind.CUSTOMER,
        "orders",
        facts=("customer_id", "replacement", "cancelled"),
    ),
)

_STOCK = (
    Measure(
        "inventory_turnover",
        "Inventory turnover",
        "Cost of goods picked in the period (unit cost, else price) / average inventory value (mean of "
        "the value on hand at the period's start and end, reconstructed from the stock ledger).",
        Kind.STOCK,
        "times",
    ),
    Measure(
        "inventory_turnover_units",
        "Inventory turnover (units)",
        "Units picked in the period / average units on hand.",
        Kind.STOCK,
        "times",
    ),
    Measure(
        "days_of_supply",
        "Days of supply",
        "Units on hand at the end of the period / units picked per day in the period.",
        Kind.STOCK,
        "days",
    ),
)

MEASURES: tuple[Measure, ...] = (*_COMPONENTS, *_PERFECT, *_TIMES, *_RATES, *_CUSTOMERS, *_STOCK)
BY_NAME = {m.name: m for m in MEASURES}
COMPONENTS: tuple[str, ...] = tuple(m.name for m in MEASURES if m.kind is Kind.COMPONENT)
ORDER_MEASURES: tuple[Measure, ...] = tuple(m for m in MEASURES if m.from_orders)


def definitions_table() -> str:
    """The Markdown table of docs/metrics.md, generated from MEASURES."""
    rows = ["| measure | kind | unit | definition | slices |", "|---|---|---|---|---|"]
    for m in MEASURES:
        definition = m.definition + (f" Stage named: {m.stage}." if m.stage else "")
        slices = "all slices" if m.slices == ALL_SLICES else "whole store"
        rows.append(f"| `{m.name}` ({m.title}) | {m.kind.value} | {m.unit} | {definition} | {slices} |")
    return "\n".join(rows) + "\n"
