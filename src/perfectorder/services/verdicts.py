"""Perfect Order verdicts and rates for stored orders: facts are read here, judged by `metrics`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.notifications import EmailKind, SentMessage
from perfectorder.metrics.kpis import CustomerBehaviour, Kpis, OrderKpiFacts, customer_behaviour, kpis
from perfectorder.metrics.perfect_order import (
    FeedbackFact,
    IssueFact,
    LineFact,
    OrderFacts,
    Settings,
    ShipmentFact,
    Verdict,
    evaluate,
)
from perfectorder.metrics.rates import Improvement, PerfectOrderRates, improvements, rates
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.facts import order_facts
from perfectorder.services.ports import OrderFilter, UnitOfWork

GROUPS = ("channel", "warehouse", "carrier")
DEFAULT_SETTINGS = Settings()
MAX_ORDERS = 100_000


def facts_for(uow: UnitOfWork, order_id: int) -> OrderFacts | None:
    order = uow.orders.get(order_id)
    if order is None:
        return None
    f = uow.fulfilment
    codes = {w.id: w.code for w in uow.warehouses.reference().warehouses}
    messages = tuple(
        SentMessage(EmailKind(m.topic), m.created_at, m.delivered_at)
        for m in uow.outbox.for_order(order_id)
        if m.kind == "email"
    )
    feedback = f.feedback(order_id)
    return OrderFacts(
        order_id=order.id,
        placed_at=order.placed_at,
        promised_date=order.promised_date,
        promised_ship_date=order.promised_ship_date,
        cancelled=order.status == "cancelled",
        lines=tuple(LineFact(x.sku, x.quantity, x.shipped_qty, x.cancelled_qty) for x in f.lines(order_id)),
        shipments=tuple(
            ShipmentFact(s.carrier, codes.get(s.warehouse_id, "?"), s.shipped_at, s.delivered_at)
            for s in f.shipments(order_id)
        ),
        issues=tuple(IssueFact(i.criterion, i.stage, i.code, i.detail) for i in f.issues(order_id)),
        messages=messages,
        feedback=FeedbackFact(
            feedback.rating, feedback.arrived_complete, feedback.undamaged, feedback.as_described
        )
        if feedback
        else None,
        rescheduled_date=order.rescheduled_date,
        requested_date=order.requested_delivery_date,
        destination_timezone=order.shipping_address.timezone,
        unmeasured=order.unmeasured,
    )


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
        out: list[tuple[OrderFacts, Verdict]] = []
        before: int | None = None
        flt = OrderFilter(placed_from=placed_from, placed_to=placed_to)
        while len(out) < MAX_ORDERS:
            page = uow.orders.page(flt, before_id=before, limit=500)
            for summary in page:
                found = facts_for(uow, summary.id)
                if found is not None:
                    out.append((found, evaluate(found, now=now, settings=settings)))
            if len(page) < 500:
                break
            before = page[-1].id
        return out

    return read(ctx, work)


def perfect_order_report(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    group_by: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> dict[str, PerfectOrderRates]:
    """Rates for the whole period (key "all"), or per channel / warehouse / carrier."""
    judged = verdicts_between(ctx, placed_from, placed_to, settings=settings)
    if group_by is None:
        return {"all": rates(v for _, v in judged)}
    groups: dict[str, list[Verdict]] = defaultdict(list)
    channels = _channels(ctx, [f.order_id for f, _ in judged]) if group_by == "channel" else {}
    for f, v in judged:
        for key in _keys(f, group_by, channels):
            groups[key].append(v)
    return {key: rates(vs) for key, vs in sorted(groups.items())}


def _channels(ctx: ServiceContext, order_ids: Sequence[int]) -> dict[int, str]:
    def work(uow: UnitOfWork) -> dict[int, str]:
        return {oid: state.channel for oid in order_ids if (state := uow.orders.state(oid)) is not None}

    return read(ctx, work)


def _keys(f: OrderFacts, group_by: str, channels: dict[int, str]) -> set[str]:
    if group_by == "channel":
        return {channels.get(f.order_id, "?")}
    if group_by == "warehouse":
        return {s.warehouse for s in f.shipments} or {"unshipped"}
    return {s.carrier for s in f.shipments} or {"unshipped"}


def improvement_report(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    limit: int = 10,
    settings: Settings = DEFAULT_SETTINGS,
) -> list[Improvement]:
    return improvements(
        (v for _, v in verdicts_between(ctx, placed_from, placed_to, settings=settings)), limit=limit
    )


STAGE_EVENTS = {
    "order.approved": "approved",
    "order.picked": "picked",
    "order.packed": "packed",
    "order.shipped": "shipped",
    "order.partially_shipped": "shipped",
    "order.delivered": "delivered",
}


def kpi_report(
    ctx: ServiceContext, placed_from: datetime, placed_to: datetime
) -> tuple[Kpis, CustomerBehaviour]:
    judged = verdicts_between(ctx, placed_from, placed_to)

    def work(uow: UnitOfWork) -> list[OrderKpiFacts]:
        out = []
        for facts, verdict in judged:
            reached: dict[str, datetime] = {}
            for e in uow.orders.timeline(facts.order_id):
                stage = STAGE_EVENTS.get(e.type)
                if stage is not None and stage not in reached:
                    reached[stage] = e.occurred_at
            state = uow.orders.state(facts.order_id)
            found = uow.fulfilment
            tasks = found.tasks(order_id=facts.order_id)
            first = min((s.shipped_at for s in facts.shipments), default=None)
            first_units = _units_in_first_shipment(uow, facts.order_id, first)
            out.append(
                OrderKpiFacts(
                    order_id=facts.order_id,
                    customer_id=state.customer_id if state else 0,
                    placed_at=facts.placed_at,
                    cancelled=facts.cancelled,
                    promised_ship_date=facts.promised_ship_date,
                    promised_date=facts.promised_date,
                    reached=reached,
                    lines_ordered=len(facts.lines),
                    units_ordered=sum(x.quantity - x.cancelled_qty for x in facts.lines),
                    lines_complete_first=sum(
                        1 for x in facts.lines if first_units.get(x.sku, 0) >= x.quantity - x.cancelled_qty
                    ),
                    units_first_shipment=sum(first_units.values()),
                    backordered=any(i.code == "short_pick" for i in facts.issues)
                    or any(e.type == "order.backordered" for e in uow.orders.timeline(facts.order_id)),
                    pick_lines=len(tasks),
                    pick_lines_correct=sum(t.correct for t in tasks),
                    accurate=verdict.components.get("accurate"),
                    returned_reasons=tuple(r.reason for r in found.returns(facts.order_id)),
                    rating=facts.feedback.rating if facts.feedback else None,
                    delivered_on=reached["delivered"].date() if "delivered" in reached else None,
                )
            )
        return out

    orders = read(ctx, work)
    return kpis(orders), customer_behaviour(orders)


def _units_in_first_shipment(uow: UnitOfWork, order_id: int, first: datetime | None) -> dict[str, int]:
    if first is None:
        return {}
    packages = {p.id: p for p in uow.fulfilment.packages(order_id)}
    units: dict[str, int] = defaultdict(int)
    for s in uow.fulfilment.shipments(order_id):
        if s.shipped_at == first and s.package_id in packages:
            for sku, quantity in packages[s.package_id].items:
                units[sku] += quantity
    return units
