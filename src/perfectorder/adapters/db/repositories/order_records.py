"""The records verdicts are computed from, read for many orders at once.

Refreshing verdicts one order at a time cost some twenty queries per order; read in batches it
costs a dozen queries per batch, whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.repositories.fulfilment import (
    SHIPMENTS_OF,
    TASKS,
    claim_record,
    feedback_record,
    issue_record,
    line_record,
    package_record,
    shipment_record,
    task_record,
)
from perfectorder.adapters.db.repositories.orders import unmeasured_of
from perfectorder.adapters.db.repositories.outbox import message_record, messages
from perfectorder.services.verdict_ports import LineSchedule, OrderRecords

o = t.orders
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_HEADS = (
    select(
        o.c.id,
        o.c.status,
        o.c.channel,
        o.c.customer_id,
        t.customers.c.tier,
        o.c.placed_at,
        o.c.promised_ship_date,
        o.c.promised_date,
        o.c.rescheduled_date,
        o.c.requested_delivery_date,
        o.c.ship_timezone,
        o.c.unmeasured,
        o.c.origin,
        o.c.promised_by,
        o.c.promised_from,
        o.c.on_time_basis,
        o.c.grace_minutes,
        o.c.ship_country,
        o.c.currency,
        o.c.refunded_amount,
    )
    .join(t.customers, t.customers.c.id == o.c.customer_id)
    .where(o.c.id.in_(_IDS))
)
_CATEGORIES = (
    select(t.order_lines.c.order_id, t.products.c.category)
    .join(t.products, t.products.c.id == t.order_lines.c.product_id)
    .where(t.order_lines.c.order_id.in_(_IDS))
    .distinct()
)
# Every supplier listing one of the order's products: no lot says which one's units it got.
_SUPPLIERS = (
    select(t.order_lines.c.order_id, t.suppliers.c.code)
    .join(t.supplier_products, t.supplier_products.c.product_id == t.order_lines.c.product_id)
    .join(t.suppliers, t.suppliers.c.id == t.supplier_products.c.supplier_id)
    .where(t.order_lines.c.order_id.in_(_IDS))
    .distinct()
)
_LINES = (
    select(t.order_lines)
    .where(t.order_lines.c.order_id.in_(_IDS))
    .order_by(t.order_lines.c.order_id, t.order_lines.c.line_no)
)
_ISSUES = select(t.order_issues).where(t.order_issues.c.order_id.in_(_IDS)).order_by(t.order_issues.c.id)
_EMAILS = (
    select(messages)
    .where(messages.c.order_id.in_(_IDS) & (messages.c.kind == "email"))
    .order_by(messages.c.id)
)
_FEEDBACK = select(t.feedback).where(t.feedback.c.order_id.in_(_IDS))
_TIMELINE = (
    select(t.order_events.c.order_id, t.order_events.c.type, t.order_events.c.occurred_at)
    .where(t.order_events.c.order_id.in_(_IDS))
    .order_by(t.order_events.c.id)
)
_TASKS = TASKS.where(t.pick_tasks.c.order_id.in_(_IDS)).order_by(t.pick_tasks.c.id)
_PACKAGES = select(t.packages).where(t.packages.c.order_id.in_(_IDS)).order_by(t.packages.c.id)
_PACKAGE_ITEMS = (
    select(t.package_items)
    .join(t.packages, t.packages.c.id == t.package_items.c.package_id)
    .where(t.packages.c.order_id.in_(_IDS))
    .order_by(t.package_items.c.id)
)
_RETURNS = (
    select(t.returns.c.order_id, t.returns.c.reason)
    .where(t.returns.c.order_id.in_(_IDS))
    .order_by(t.returns.c.id)
)
_CLAIMS = select(t.claims).where(t.claims.c.order_id.in_(_IDS)).order_by(t.claims.c.id)
_REPLACED = (
    select(t.returns.c.exchange_order_id.label("replacement"), t.returns.c.order_id.label("original"))
    .where(t.returns.c.exchange_order_id.in_(_IDS))
    .union_all(
        select(t.claims.c.replacement_order_id, t.claims.c.order_id).where(
            t.claims.c.replacement_order_id.in_(_IDS)
        )
    )
)
# The orders shipping an order's units again, counted per original.
_REPLACEMENTS = (
    select(t.returns.c.order_id)
    .where(t.returns.c.order_id.in_(_IDS) & t.returns.c.exchange_order_id.is_not(None))
    .union_all(
        select(t.claims.c.order_id).where(
            t.claims.c.order_id.in_(_IDS) & t.claims.c.replacement_order_id.is_not(None)
        )
    )
)
# SQLite allows 32,766 parameters per statement; PostgreSQL 65,535.
CHUNK = 5000


def read_records(conn: Connection, order_ids: Sequence[int]) -> Mapping[int, OrderRecords]:
    found: dict[int, OrderRecords] = {}
    unique = sorted(set(order_ids))
    for start in range(0, len(unique), CHUNK):
        found.update(_chunk(conn, unique[start : start + CHUNK]))
    return found


def _chunk(conn: Connection, ids: list[int]) -> dict[int, OrderRecords]:
    key = {"ids": ids}

    def grouped(stmt: Any, make: Any) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = defaultdict(list)
        for r in conn.execute(stmt, key):
            out[r.order_id].append(make(r))
        return out

    heads = list(conn.execute(_HEADS, key))
    if not heads:
        return {}
    categories = grouped(_CATEGORIES, lambda r: r.category or "none")
    suppliers = grouped(_SUPPLIERS, lambda r: r.code)
    lines: dict[int, list[Any]] = defaultdict(list)
    schedules: dict[int, dict[int, LineSchedule]] = defaultdict(dict)
    for r in conn.execute(_LINES, key):
        lines[r.order_id].append(line_record(r))
        if r.promised_on is not None or r.delivered_at is not None:
            schedules[r.order_id][r.line_no] = LineSchedule(
                r.promised_on, r.promised_by, r.promised_from, r.delivered_at
            )
    shipments = grouped(SHIPMENTS_OF, shipment_record)
    issues = grouped(_ISSUES, issue_record)
    emails = grouped(_EMAILS, message_record)
    feedback = {r.order_id: feedback_record(r) for r in conn.execute(_FEEDBACK, key)}
    timeline = grouped(_TIMELINE, lambda r: (r.type, r.occurred_at))
    tasks = grouped(_TASKS, task_record)
    items: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for r in conn.execute(_PACKAGE_ITEMS, key):
        items[r.package_id].append((r.sku, r.quantity))
    packages = grouped(_PACKAGES, lambda r: package_record(r, tuple(items[r.id])))
    returns = grouped(_RETURNS, lambda r: r.reason)
    claims = grouped(_CLAIMS, claim_record)
    replaced = {r.replacement: r.original for r in conn.execute(_REPLACED, key)}
    replaced_by: dict[int, int] = defaultdict(int)
    for r in conn.execute(_REPLACEMENTS, key):
        replaced_by[r.order_id] += 1
    return {
        h.id: OrderRecords(
            order_id=h.id,
            status=h.status,
            channel=h.channel,
            customer_id=h.customer_id,
            tier=h.tier,
            placed_at=h.placed_at,
            promised_ship_date=h.promised_ship_date,
            promised_date=h.promised_date,
            rescheduled_date=h.rescheduled_date,
            requested_date=h.requested_delivery_date,
            timezone=h.ship_timezone,
            unmeasured=unmeasured_of(h.unmeasured),
            history=h.origin == "history",
            categories=tuple(sorted(categories.get(h.id, ()))),
            suppliers=tuple(sorted(suppliers.get(h.id, ()))),
            lines=tuple(lines.get(h.id, ())),
            shipments=tuple(shipments.get(h.id, ())),
            issues=tuple(issues.get(h.id, ())),
            emails=tuple(emails.get(h.id, ())),
            feedback=feedback.get(h.id),
            timeline=tuple(timeline.get(h.id, ())),
            tasks=tuple(tasks.get(h.id, ())),
            packages=tuple(packages.get(h.id, ())),
            return_reasons=tuple(returns.get(h.id, ())),
            claims=tuple(claims.get(h.id, ())),
            replaces_order_id=replaced.get(h.id),
            promised_by=h.promised_by,
            promised_from=h.promised_from,
            on_time_basis=h.on_time_basis,
            grace_minutes=h.grace_minutes,
            schedules=schedules.get(h.id, {}),
            ship_country=h.ship_country,
            currency=h.currency,
            refunded=h.refunded_amount,
            replaced_by=replaced_by.get(h.id, 0),
        )
        for h in heads
    }
