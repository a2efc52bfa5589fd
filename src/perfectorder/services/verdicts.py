"""Perfect Order verdicts and rates for stored orders: facts are read here, judged by `metrics`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.fulfilment import PARCEL_LOSSES
from perfectorder.domain.notifications import EmailKind, SentMessage
from perfectorder.metrics.kpi_rollup import kpis_from_rollups
from perfectorder.metrics.kpis import (
    CustomerBehaviour,
    Kpis,
    OrderKpiFacts,
    Turnover,
    customer_behaviour,
    first_shipment_fill,
    kpis,
    turnover,
)
from perfectorder.metrics.perfect_order import (
    FeedbackFact,
    IssueFact,
    LineFact,
    LineTiming,
    OnTimeBasis,
    OrderFacts,
    Settings,
    ShipmentFact,
    Verdict,
    delivered_at,
    evaluate,
    final_from,
)
from perfectorder.metrics.rates import Improvement, PerfectOrderRates, improvements, rates
from perfectorder.metrics.rollup import NEVER, Sums, VerdictRow, merge_sums, rates_from_sums, stored_state
from perfectorder.metrics.root_causes import lane_label
from perfectorder.services import loyalty
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.facts import order_facts
from perfectorder.services.fulfilment_ports import ShipmentRecord
from perfectorder.services.ports import OrderFilter, UnitOfWork
from perfectorder.services.verdict_ports import OrderRecords

GROUPS = ("channel", "warehouse", "carrier", "category", "tier")
GRANULARITIES = ("day", "week", "month")
ORDER_IDS_SHOWN = 50
EMPTY = Sums({}, 0, 0, 0)
DEFAULT_SETTINGS = Settings()
MAX_ORDERS = 100_000


def facts_for(uow: UnitOfWork, order_id: int) -> OrderFacts | None:
    found = uow.verdicts.records([order_id]).get(order_id)
    return None if found is None else facts_from(found, _warehouse_codes(uow))


def _warehouse_codes(uow: UnitOfWork) -> dict[int, str]:
    # Every warehouse, not the cached active ones: imported history ships from warehouses that the
    # import creates inactive, and a closed warehouse still shipped its past orders.
    return {w.id: w.code for w in uow.warehouses.all()}


def facts_from(r: OrderRecords, codes: Mapping[int, str]) -> OrderFacts:
    lost = {c.shipment_id: c.opened_at for c in r.claims if c.kind in PARCEL_LOSSES}
    arrivals = _line_arrivals(r, lost)
    lines = []
    for x in r.lines:
        own = r.schedules.get(x.line_no)
        arrived, never = arrivals.get(x.sku, (None, False))
        lines.append(
            LineFact(
                x.sku,
                x.quantity,
                x.shipped_qty,
                x.cancelled_qty,
                promised_on=own.promised_on if own else None,
                promised_by=own.promised_by if own else None,
                promised_from=own.promised_from if own else None,
                arrived_at=own.delivered_at if own and own.delivered_at else arrived,
                never_arrived=never,
            )
        )
    return OrderFacts(
        order_id=r.order_id,
        placed_at=r.placed_at,
        promised_date=r.promised_date,
        promised_ship_date=r.promised_ship_date,
        cancelled=r.status == "cancelled",
        lines=tuple(lines),
        shipments=tuple(
            ShipmentFact(
                s.carrier,
                codes.get(s.warehouse_id, "?"),
                s.shipped_at,
                # Delivered at a time nobody recorded (imported history): no earlier than it left.
                s.shipped_at if s.delivered_at is None and s.status == "delivered" else s.delivered_at,
                lost.get(s.id),
            )
            for s in r.shipments
        ),
        issues=tuple(IssueFact(i.criterion, i.stage, i.code, i.detail) for i in r.issues),
        messages=tuple(
            SentMessage(EmailKind(m.topic), m.created_at, m.delivered_at, _told_date(m.payload))
            for m in r.emails
        ),
        feedback=FeedbackFact(
            r.feedback.rating, r.feedback.arrived_complete, r.feedback.undamaged, r.feedback.as_described
        )
        if r.feedback
        else None,
        rescheduled_date=r.rescheduled_date,
        requested_date=r.requested_date,
        destination_timezone=r.timezone,
        unmeasured=r.unmeasured,
        promised_by=r.promised_by,
        promised_from=r.promised_from,
        on_time_basis=OnTimeBasis(r.on_time_basis),
        grace_minutes=r.grace_minutes,
    )


def _told_date(payload: Mapping[str, object]) -> date | None:
    told = payload.get("new_date")
    try:
        return date.fromisoformat(told) if isinstance(told, str) else None
    except ValueError:
        return None


def _line_arrivals(r: OrderRecords, lost: Mapping[int, datetime]) -> dict[str, tuple[datetime | None, bool]]:
    """When each SKU's last unit arrived, from what each parcel held: (time, never arrived). A SKU in
    a parcel still on its way has no time yet; imported parcels list no contents, so their lines
    take the order's last arrival."""
    carried: dict[str, list[ShipmentRecord]] = defaultdict(list)
    contents = {p.id: p.items for p in r.packages}
    for s in r.shipments:
        for sku, _ in contents.get(s.package_id, ()):
            carried[sku].append(s)
    out: dict[str, tuple[datetime | None, bool]] = {}
    for sku, parcels in carried.items():
        if any(s.id in lost and s.delivered_at is None for s in parcels):
            out[sku] = (None, True)
        elif all(s.delivered_at is not None for s in parcels):
            out[sku] = (max(s.delivered_at for s in parcels if s.delivered_at is not None), False)
    return out


def order_verdict(
    ctx: ServiceContext, order_id: int, *, settings: Settings = DEFAULT_SETTINGS, caller: Principal = SYSTEM
) -> Verdict:
    order_facts(ctx, order_id, caller=caller)  # 404 for what the caller may not see
    found = read(ctx, lambda uow: facts_for(uow, order_id))
    assert found is not None
    return evaluate(found, now=ctx.clock.now(), settings=settings)


def verdicts_between(
    ctx: ServiceContext, placed_from: datetime, placed_to: datetime, *, settings: Settings = DEFAULT_SETTINGS
) -> list[tuple[OrderFacts, Verdict]]:
    """Every order placed in [from, to) with its verdict. Reads each order's facts: fine for a
    report, not yet for a dashboard over millions of orders (rollups are the next step)."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> list[tuple[OrderFacts, Verdict]]:
        codes = _warehouse_codes(uow)
        out: list[tuple[OrderFacts, Verdict]] = []
        for found in _records_between(uow, placed_from, placed_to):
            facts = facts_from(found, codes)
            out.append((facts, evaluate(facts, now=now, settings=settings)))
        return out

    return read(ctx, work)


def rows_between(
    ctx: ServiceContext, placed_from: datetime, placed_to: datetime, *, settings: Settings = DEFAULT_SETTINGS
) -> list[tuple[Verdict, VerdictRow]]:
    """Every order placed in [from, to) judged under `settings`, with its row as it would be stored
    (slices, lanes, refunds): for reports the stored rollups cannot answer."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> list[tuple[Verdict, VerdictRow]]:
        codes = _warehouse_codes(uow)
        out = []
        for found in _records_between(uow, placed_from, placed_to):
            facts = facts_from(found, codes)
            verdict = evaluate(facts, now=now, settings=settings)
            out.append((verdict, row_of(found, facts, verdict, codes, settings)))
        return out

    return read(ctx, work)


def _records_between(uow: UnitOfWork, placed_from: datetime, placed_to: datetime) -> Iterator[OrderRecords]:
    """The records of the orders placed in [from, to), a page at a time, at most MAX_ORDERS."""
    before: int | None = None
    flt = OrderFilter(placed_from=placed_from, placed_to=placed_to)
    seen = 0
    while seen < MAX_ORDERS:
        page = uow.orders.page(flt, before_id=before, limit=500)
        records = uow.verdicts.records([summary.id for summary in page])
        for summary in page:
            if (found := records.get(summary.id)) is not None:
                seen += 1
                yield found
        if len(page) < 500:
            return
        before = page[-1].id


def perfect_order_report(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    group_by: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> dict[str, PerfectOrderRates]:
    """Rates for the whole period (key "all"), or per slice. Read from the daily rollups; a period
    that does not start and end at midnight UTC, or non-default on-time settings, are judged order
    by order instead (the rollups hold the default verdicts)."""
    days = whole_days(placed_from, placed_to)
    if days is None or settings != DEFAULT_SETTINGS:
        return _scanned_report(ctx, placed_from, placed_to, group_by=group_by, settings=settings)
    today = ctx.clock.now().astimezone(UTC).date()
    found = read(ctx, lambda uow: uow.verdicts.sums(*days, group_by or "all", today))
    if group_by is None:
        return {"all": rates_from_sums(found.get(("", None), EMPTY))}
    return {key: rates_from_sums(sums) for (key, _), sums in sorted(found.items())}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: date  # first day of the day, ISO week (Monday) or month
    key: str
    rates: PerfectOrderRates


def perfect_order_trend(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    granularity: str = "day",
    group_by: str | None = None,
) -> list[TrendPoint]:
    """Rates per day, week or month of the period (by the day orders were placed), from the rollups."""
    if granularity not in GRANULARITIES:
        raise InvalidInput("invalid_granularity", "granularity is day, week or month", field="granularity")
    days = whole_days(placed_from, placed_to)
    if days is None:
        raise InvalidInput("invalid_period", "a trend runs over whole UTC days", field="from")
    today = ctx.clock.now().astimezone(UTC).date()
    found = read(ctx, lambda uow: uow.verdicts.sums(*days, group_by or "all", today, by_day=True))
    buckets: dict[tuple[date, str], list[Sums]] = defaultdict(list)
    for (key, day), sums in found.items():
        assert day is not None
        buckets[(period_start(day, granularity), key)].append(sums)
    return [
        TrendPoint(period, key, rates_from_sums(merge_sums(parts)))
        for (period, key), parts in sorted(buckets.items())
    ]


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def previous_period(placed_from: datetime, placed_to: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before, for comparison."""
    try:
        return placed_from - (placed_to - placed_from), placed_from
    except OverflowError:  # a period starting in year 1 has nothing before it
        return placed_from, placed_from


# History analysis spans years; past a century a period is a typo, and its day-by-day reads grow.
MAX_REPORT_DAYS = 36_525


def report_period(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC bounds of the days `first` to `last`, both included: the one rule of the API and the
    command line. A reversed period is refused, a long one allowed."""
    if last < first:
        raise InvalidInput(
            "invalid_period",
            f"the period starts on {first}, after its last day {last}: swap them",
            field="to",
        )
    if last >= date.max or (last - first).days > MAX_REPORT_DAYS:
        raise InvalidInput(
            "invalid_period", "use a period of at most 100 years, before year 9999", field="to"
        )
    return datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC)


def last_placed_on(ctx: ServiceContext) -> date | None:
    """The last day (UTC) any judged order was placed; None for an empty store."""
    return read(ctx, lambda uow: uow.verdicts.last_placed_on())


def placed_span(ctx: ServiceContext) -> tuple[date, date] | None:
    """The first and last day (UTC) any judged order was placed; None for an empty store."""
    return read(ctx, lambda uow: uow.verdicts.placed_span())


def whole_days(placed_from: datetime, placed_to: datetime) -> tuple[date, date] | None:
    """The period as [first day, day after the last) when it starts and ends at midnight UTC: what
    the daily rollups can answer."""
    start, end = placed_from.astimezone(UTC), placed_to.astimezone(UTC)
    if start.time() != time() or end.time() != time():
        return None
    return start.date(), end.date()


def _scanned_report(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    group_by: str | None,
    settings: Settings,
) -> dict[str, PerfectOrderRates]:
    judged = verdicts_between(ctx, placed_from, placed_to, settings=settings)
    if group_by is None:
        return {"all": rates(v for _, v in judged)}
    groups: dict[str, list[Verdict]] = defaultdict(list)
    keys = _slice_keys(ctx, [f.order_id for f, _ in judged])
    for f, v in judged:
        for key in _keys(f, group_by, keys):
            groups[key].append(v)
    return {key: rates(vs) for key, vs in sorted(groups.items())}


def _slice_keys(
    ctx: ServiceContext, order_ids: Sequence[int]
) -> dict[int, tuple[str, int, str, tuple[str, ...]]]:
    def work(uow: UnitOfWork) -> dict[int, tuple[str, int, str, tuple[str, ...]]]:
        return {
            r.order_id: (r.channel, r.customer_id, r.tier, r.categories)
            for r in uow.verdicts.records(order_ids).values()
        }

    return read(ctx, work)


def _keys(f: OrderFacts, group_by: str, keys: dict[int, tuple[str, int, str, tuple[str, ...]]]) -> set[str]:
    channel, _, tier, categories = keys.get(f.order_id, ("?", 0, "?", ()))
    if group_by == "channel":
        return {channel}
    if group_by == "tier":
        return {tier}
    if group_by == "category":
        return set(categories) or {"none"}
    if group_by == "warehouse":
        return {s.warehouse for s in f.shipments} or {"unshipped"}
    return {s.carrier for s in f.shipments} or {"unshipped"}


RankKey = Callable[[Improvement], Any]


def by_orders(i: Improvement) -> tuple[object, ...]:
    """The ranking of metrics.rates.improvements: most orders first, then the most rescued."""
    return (-i.orders, -i.rate_without, i.component, i.code, i.stage)


def improvement_report(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    limit: int = 10,
    settings: Settings = DEFAULT_SETTINGS,
    rank: RankKey = by_orders,
) -> list[Improvement]:
    """Failures ranked by the final orders they made imperfect (or by `rank`, a sort key). From
    the rollups, each carries up to ORDER_IDS_SHOWN of its orders; `orders_with_failure` pages
    through the rest."""
    days = whole_days(placed_from, placed_to)
    if days is None or settings != DEFAULT_SETTINGS:
        judged = verdicts_between(ctx, placed_from, placed_to, settings=settings)
        return sorted(improvements((v for _, v in judged), limit=len(judged)), key=rank)[:limit]
    today = ctx.clock.now().astimezone(UTC).date()

    def work(uow: UnitOfWork) -> list[Improvement]:
        totals = uow.verdicts.sums(*days, "all", today).get(("", None), EMPTY).final
        whole, perfect = totals.get("whole", 0), totals.get("perfect", 0)
        ranked = [
            Improvement(component, code, stage, orders, (perfect + sole) / whole if whole else 0.0, ())
            for component, code, stage, orders, sole in uow.verdicts.failure_counts(*days, today)
        ]
        ranked.sort(key=rank)
        return [
            replace(
                i,
                order_ids=tuple(
                    uow.verdicts.orders_with_failure(
                        *days, today, (i.component, i.code, i.stage), ORDER_IDS_SHOWN
                    )
                ),
            )
            for i in ranked[:limit]
        ]

    return read(ctx, work)


def orders_with_failure(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    failure: tuple[str, str, str],
    *,
    limit: int = 200,
) -> list[int]:
    """Final orders of the period that failed with (component, code, stage): the orders behind an
    improvement, for the dashboard and the API."""
    days = whole_days(placed_from, placed_to)
    if days is None:
        raise InvalidInput("invalid_period", "a period runs over whole UTC days", field="from")
    today = ctx.clock.now().astimezone(UTC).date()
    return read(ctx, lambda uow: uow.verdicts.orders_with_failure(*days, today, failure, limit))


STAGE_EVENTS = {
    "order.approved": "approved",
    "order.picked": "picked",
    "order.packed": "packed",
    "order.shipped": "shipped",
    "order.partially_shipped": "shipped",
    "order.delivered": "delivered",
}


def kpi_facts_from(r: OrderRecords, facts: OrderFacts, verdict: Verdict) -> OrderKpiFacts:
    """The per-order facts the KPIs are computed from: the order's timeline, tasks and parcels."""
    reached: dict[str, datetime] = {}
    for kind, at in r.timeline:
        stage = STAGE_EVENTS.get(kind)
        if stage is not None and stage not in reached:
            reached[stage] = at
    first = min((s.shipped_at for s in facts.shipments), default=None)
    lines_complete, units_first = first_shipment_fill(
        [(x.sku, x.quantity - x.cancelled_qty) for x in facts.lines], _units_in_first_shipment(r, first)
    )
    return OrderKpiFacts(
        order_id=facts.order_id,
        customer_id=r.customer_id,
        placed_at=facts.placed_at,
        cancelled=facts.cancelled,
        promised_ship_date=facts.promised_ship_date,
        promised_date=facts.promised_date,
        reached=reached,
        lines_ordered=len(facts.lines),
        units_ordered=sum(x.quantity - x.cancelled_qty for x in facts.lines),
        lines_complete_first=lines_complete,
        units_first_shipment=units_first,
        backordered=any(i.code == "short_pick" for i in facts.issues)
        or any(kind == "order.backordered" for kind, _ in r.timeline),
        pick_lines=len(r.tasks),
        pick_lines_correct=sum(t.correct for t in r.tasks),
        accurate=verdict.components.get("accurate"),
        returned_reasons=r.return_reasons,
        rating=facts.feedback.rating if facts.feedback else None,
        delivered_on=reached["delivered"].date() if "delivered" in reached else None,
        replacement=r.replaces_order_id is not None,
        outcome_known=delivered_at(facts) is not None,
        # Lines are judged on time against a promise and a delivery time: without either, not at all.
        lines_due=0
        if "on_time" in facts.unmeasured
        else sum(x.quantity > x.cancelled_qty for x in facts.lines),
        lines_on_time_in_full=_lines_on_time_in_full(facts, verdict),
        lines_late=verdict.lines_late,
        history=r.history,
    )


def _lines_on_time_in_full(facts: OrderFacts, verdict: Verdict) -> int:
    """Lines that arrived by their own promise, as the verdict judged them, and shipped in full."""
    return sum(
        t is LineTiming.ON_TIME and x.shipped_qty >= x.quantity - x.cancelled_qty
        for x, t in zip(facts.lines, verdict.lines, strict=False)
    )


def kpi_report(
    ctx: ServiceContext, placed_from: datetime, placed_to: datetime
) -> tuple[Kpis, CustomerBehaviour]:
    days = whole_days(placed_from, placed_to)
    if days is not None:
        # Whole days read the daily rollups only, however many orders they hold; their quantiles are
        # within metrics.quantiles.RELATIVE_ERROR of the exact ones.
        return kpis_from_rollups(read(ctx, lambda uow: uow.verdicts.kpi_rollup_sums(*days)))
    judged = verdicts_between(ctx, placed_from, placed_to)

    def work(uow: UnitOfWork) -> list[OrderKpiFacts]:
        records = uow.verdicts.records([f.order_id for f, _ in judged])
        return [kpi_facts_from(records[f.order_id], f, v) for f, v in judged if f.order_id in records]

    orders = read(ctx, work)
    return kpis(orders), customer_behaviour(orders)


def _units_in_first_shipment(r: OrderRecords, first: datetime | None) -> dict[str, int]:
    if first is None:
        return {}
    packages = {p.id: p for p in r.packages}
    units: dict[str, int] = defaultdict(int)
    for s in r.shipments:
        if s.shipped_at == first and s.package_id in packages:
            for sku, quantity in packages[s.package_id].items:
                units[sku] += quantity
    return units


REFRESH_BATCH = 200


def verdict_row(r: OrderRecords, codes: Mapping[int, str], now: datetime) -> VerdictRow:
    """The order's verdict under the default settings, with the slices it counts in."""
    facts = facts_from(r, codes)
    return row_of(r, facts, evaluate(facts, now=now), codes)


def row_of(
    r: OrderRecords,
    facts: OrderFacts,
    verdict: Verdict,
    codes: Mapping[int, str],
    settings: Settings = DEFAULT_SETTINGS,
) -> VerdictRow:
    """The verdict as stored, with the slices it counts in and what it cost beyond itself."""
    state = stored_state(verdict)
    arrived = delivered_at(facts) if state == "delivered" else None
    lanes = {
        lane_label(s.carrier, s.service, codes.get(s.warehouse_id, "?"), r.ship_country) for s in r.shipments
    }
    return VerdictRow(
        order_id=r.order_id,
        placed_on=facts.placed_at.astimezone(UTC).date(),
        channel=r.channel,
        customer_id=r.customer_id,
        tier=r.tier,
        warehouses=tuple(sorted({s.warehouse for s in facts.shipments})),
        carriers=tuple(sorted({s.carrier for s in facts.shipments})),
        categories=r.categories,
        state=state,
        final_from=final_from(arrived, settings.settlement) if arrived else NEVER,
        components=verdict.components,
        failures=verdict.failures,
        kpi=kpi_facts_from(r, facts, verdict),
        lanes=tuple(sorted(lanes)),
        currency=r.currency,
        refunded=r.refunded,
        reshipped=r.replaced_by,
        suppliers=r.suppliers,
    )


def refresh(
    ctx: ServiceContext, *, batch: int = REFRESH_BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Re-judges every order whose facts changed since its verdict was stored and moves the rollups
    with it; returns how many were refreshed. A job of the worker, the importers, the simulator and
    the CLI: reports only read what it stored, and say as of when (`figures_as_of`)."""
    done = 0

    def work(uow: UnitOfWork) -> int:
        now = ctx.clock.now()
        claimed = uow.verdicts.queued(batch)
        if len(claimed) < batch:
            # The last batch: what was queued when it started is judged now (or held by another
            # refresher, whose commit follows shortly).
            uow.verdicts.mark_refreshed(at=now)
        old = uow.verdicts.stored(claimed)
        records = uow.verdicts.records(claimed)
        codes = _warehouse_codes(uow)
        changes = [
            (old.get(order_id), verdict_row(found, codes, now))
            for order_id in claimed
            if (found := records.get(order_id)) is not None
        ]
        uow.verdicts.replace(changes, at=now)
        loyalty.keep_up(uow, {new.order_id: new.customer_id for _, new in changes})
        uow.verdicts.dequeue(claimed)
        return len(claimed)

    run_transaction(ctx, lambda uow: loyalty.rebuild_if_missing(uow, ctx.clock.now()))
    while True:
        refreshed = run_transaction(ctx, work)
        done += refreshed
        if progress is not None:
            progress(done)
        if refreshed < batch:
            return done


def figures_as_of(ctx: ServiceContext) -> datetime | None:
    """When the stored verdicts and rollups that reports read were last refreshed; None if never.
    Read inside the report's own transaction (`context.reading`) it dates the figures beside it."""
    return read(ctx, lambda uow: uow.verdicts.refreshed_at())


def rebuild(ctx: ServiceContext) -> int:
    """Throws the stored verdicts and rollups away and builds them again from every order's facts."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> None:
        uow.verdicts.clear()
        after = 0
        while ids := uow.verdicts.order_ids(after, 5000):
            uow.verdicts.enqueue(ids, at=now)
            after = ids[-1]

    run_transaction(ctx, work)
    return refresh(ctx)


def inventory_turnover(ctx: ServiceContext, start: datetime, end: datetime) -> Turnover:
    """Turnover and days of supply of the period, from the stock ledger (see metrics.kpis.turnover)."""
    flow = read(ctx, lambda uow: uow.stock.flow(start, end))
    return turnover(
        cost_of_goods_shipped=flow.value_out,
        inventory_value_start=flow.value_start,
        inventory_value_end=flow.value_end,
        units_shipped=flow.units_out,
        units_start=flow.units_start,
        units_end=flow.units_end,
        days=max((end - start).days, 1),
    )
