"""Replenishment: per SKU and warehouse, when to reorder and how much (domain/replenishment.py),
from the demand of a recent window (served and lost), the supplier's lead time as its recent
deliveries and overdue purchase orders show it (quoted until three are on record), and what is
on hand, reserved, owed and already on order; suggestions an operator accepts into draft purchase
orders; and the stock going stale."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Forbidden, InvalidInput
from perfectorder.domain.purchasing import expected_date
from perfectorder.domain.replenishment import (
    AGE_BUCKETS,
    DemandStats,
    LeadTime,
    Position,
    Receipt,
    Suggestion,
    Terms,
    ages,
    demand_stats,
    lead_time_of,
    suggest,
)
from perfectorder.domain.supplier_scorecard import LineFacts, SupplierScores, score
from perfectorder.services import purchasing
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.ports import UnitOfWork
from perfectorder.services.purchasing_ports import PODetail
from perfectorder.services.replenishment_ports import SkuAt, StockPoint, SupplyTerms
from perfectorder.services.verdicts import period_start

DEFAULT_LEAD_DAYS = 14  # a SKU no supplier lists: the catalog's usual lead time
SLOW_AFTER_DAYS = 90  # no sale for this long: a slow mover
DEFAULT_TERMS = Terms()


_Reads = tuple[
    list[StockPoint],
    Mapping[SkuAt, Mapping[date, int]],
    Mapping[SkuAt, int],
    Mapping[int, int],
    Mapping[int, SupplyTerms],
]


@dataclass(frozen=True, slots=True)
class PlanRow:
    sku: str
    warehouse: str
    supplier: str | None  # None: no supplier lists it, nothing can be ordered
    demand: DemandStats
    lead: LeadTime
    lead_basis: str  # measured, quoted, overdue (a late order set it), or default
    suggestion: Suggestion
    unit_cost: Decimal
    currency: str

    @property
    def value(self) -> Decimal:
        return self.unit_cost * self.suggestion.quantity


@dataclass(frozen=True, slots=True)
class AgeingRow:
    sku: str
    warehouse: str
    on_hand: int
    unit_cost: Decimal
    currency: str
    last_sale: date | None
    days_since_sale: int | None
    by_age: dict[int, int]  # AGE_BUCKETS lower bound -> units

    @property
    def slow(self) -> bool:
        return self.on_hand > 0 and (self.days_since_sale is None or self.days_since_sale >= SLOW_AFTER_DAYS)


def _staff(caller: Principal) -> None:
    if caller.is_tenant:
        raise Forbidden("forbidden", "replenishment is the store's own planning")


def plan(
    ctx: ServiceContext, *, window_days: int = 56, terms: Terms = DEFAULT_TERMS, caller: Principal = SYSTEM
) -> list[PlanRow]:
    """Every stocked SKU and warehouse with its reorder point and what to order now (0: nothing)."""
    _staff(caller)
    if not 7 <= window_days <= 365:
        raise InvalidInput("invalid_window_days", "a demand window of 7 to 365 days", field="window_days")
    if not 0.5 <= terms.service_level < 1:
        raise InvalidInput(
            "invalid_service_level", "a service level from 0.5 up to 0.999", field="service_level"
        )
    now = ctx.clock.now()
    today = now.astimezone(UTC).date()
    # Whole UTC days, today's so far included: the window's days are the demand's days.
    tomorrow = datetime.combine(today + timedelta(days=1), time(), UTC)
    since = tomorrow - timedelta(days=window_days)

    def work(uow: UnitOfWork) -> _Reads:
        reads = uow.replenishment
        return (
            reads.stock_points(),
            reads.daily_demand(since, tomorrow),
            reads.on_order(),
            reads.backordered(),
            reads.supply_terms(now),
        )

    points, demand, on_order, owed, supply = read(ctx, work)
    days = [today - timedelta(days=i) for i in range(window_days - 1, -1, -1)]  # today included
    owed_left = dict(owed)
    rows = []
    for p in points:
        daily = demand.get((p.product_id, p.warehouse_id), {})
        stats = demand_stats([daily.get(d, 0) for d in days])
        terms_of = supply.get(p.product_id)
        if terms_of is None:
            lead, basis = LeadTime(float(DEFAULT_LEAD_DAYS)), "default"
        else:
            # Quoted in the supplier's working days; demand runs every day.
            arrives = expected_date(
                today, lead_time_days=terms_of.lead_time_days, working_days=terms_of.working_days
            )
            quoted = LeadTime(float((arrives - today).days))
            lead, basis = lead_time_of(
                terms_of.measured_lead_days, quoted, overdue_days=terms_of.overdue_lead_days
            )
        # Units owed to customers count against the first warehouse listed (they wait for any).
        backordered = owed_left.pop(p.product_id, 0)
        position = Position(
            p.on_hand, p.reserved, on_order.get((p.product_id, p.warehouse_id), 0), backordered
        )
        suggestion = suggest(
            stats,
            lead,
            position,
            unit_cost=terms_of.unit_cost if terms_of else p.unit_cost,
            pack_size=terms_of.pack_size if terms_of else 1,
            minimum=terms_of.min_order_qty if terms_of else 0,
            terms=terms,
        )
        if terms_of is None:
            suggestion = Suggestion(
                suggestion.reorder_point,
                suggestion.safety_stock,
                suggestion.order_up_to,
                suggestion.position,
                0,
                suggestion.basis,
            )
        rows.append(
            PlanRow(
                p.sku,
                p.warehouse,
                terms_of.supplier if terms_of else None,
                stats,
                lead,
                basis,
                suggestion,
                terms_of.unit_cost if terms_of else p.unit_cost,
                terms_of.currency if terms_of else p.currency,
            )
        )
    return rows


def accept(
    ctx: ServiceContext,
    picks: Sequence[tuple[str, str]],
    *,
    window_days: int = 56,
    terms: Terms = DEFAULT_TERMS,
    caller: Principal = SYSTEM,
) -> list[PODetail]:
    """Draft purchase orders for the chosen (SKU, warehouse) suggestions, one per supplier and
    warehouse, at the quantities suggested now (recomputed, not taken from the caller)."""
    if not picks:
        raise InvalidInput("no_lines", "choose at least one suggestion", field="lines")
    wanted = set(picks)
    found = {(r.sku, r.warehouse): r for r in plan(ctx, window_days=window_days, terms=terms, caller=caller)}
    missing = sorted(wanted - {k for k, r in found.items() if r.suggestion.quantity > 0 and r.supplier})
    if missing:
        sku, warehouse = missing[0]
        raise InvalidInput(
            "nothing_to_order",
            f"{sku} at {warehouse} has no order suggested now: above its reorder point or no supplier",
            field="lines",
        )
    grouped: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for sku, warehouse in sorted(wanted):
        row = found[(sku, warehouse)]
        assert row.supplier is not None  # checked above
        grouped[(row.supplier, warehouse)].append((sku, row.suggestion.quantity))
    return [
        purchasing.create_purchase_order(
            ctx, supplier=supplier, warehouse=warehouse, lines=lines, actor=caller.actor
        )
        for (supplier, warehouse), lines in sorted(grouped.items())
    ]


def stock_ageing(ctx: ServiceContext, *, caller: Principal = SYSTEM) -> list[AgeingRow]:
    """Stock on hand by how long ago it came (first in, first out), with the last sale: the oldest
    value first."""
    _staff(caller)
    today = ctx.clock.now().astimezone(UTC).date()
    points, receipts, sales = read(
        ctx,
        lambda uow: (
            uow.replenishment.stock_points(),
            uow.replenishment.receipts(),
            uow.replenishment.last_sales(),
        ),
    )
    rows = []
    for p in points:
        key = (p.product_id, p.warehouse_id)
        last = sales.get(key)
        rows.append(
            AgeingRow(
                p.sku,
                p.warehouse,
                p.on_hand,
                p.unit_cost,
                p.currency,
                last,
                (today - last).days if last else None,
                ages(p.on_hand, [Receipt(d, n) for d, n in receipts.get(key, [])], today),
            )
        )
    oldest = AGE_BUCKETS[-1]
    return sorted(rows, key=lambda r: (-(r.by_age[oldest] * r.unit_cost), r.sku, r.warehouse))


@dataclass(frozen=True, slots=True)
class SupplierScorecard:
    suppliers: list[SupplierScores]
    # Per period (its first day) the suppliers' purchase order lines of orders made then.
    trend: list[tuple[date, list[SupplierScores]]]


def supplier_scorecard(
    ctx: ServiceContext,
    start: datetime,
    end: datetime,
    *,
    granularity: str = "month",
    caller: Principal = SYSTEM,
) -> SupplierScorecard:
    """Per supplier, the lines of the purchase orders created in [start, end) judged against their
    first promised dates, and customers' defective returns of its SKUs in the period against the
    units of them shipped (a SKU two suppliers list counts for both: no lot tells them apart)."""
    _staff(caller)
    if end <= start:
        raise InvalidInput("invalid_period", "the period ends after it starts", field="to")
    if granularity not in ("week", "month"):
        raise InvalidInput("invalid_granularity", "a trend is by week or month", field="granularity")
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> SupplierScorecard:
        reads = uow.replenishment
        lines = reads.po_lines(start, end)
        returned, shipped = reads.defective_returns(start, end), reads.shipped_units(start, end)
        by_supplier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for sku, suppliers in reads.listings().items():
            for name in suppliers:
                by_supplier[name][0] += returned.get(sku, 0)
                by_supplier[name][1] += shipped.get(sku, 0)
        quoted = dict(reads.quoted_lead_days())
        periods: dict[date, list[LineFacts]] = defaultdict(list)
        for line in lines:
            if line.created_on is not None:
                periods[period_start(line.created_on, granularity)].append(line)
        return SupplierScorecard(
            score(lines, now, quoted=quoted, returns={name: (d, s) for name, (d, s) in by_supplier.items()}),
            [(first, score(group, now, quoted=quoted)) for first, group in sorted(periods.items())],
        )

    return read(ctx, work)
