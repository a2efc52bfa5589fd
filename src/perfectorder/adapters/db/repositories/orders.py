"""Orders, their lines, allocations, holds and timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, func, insert, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.domain.order import Allocation, Line, OpenHold, Order
from perfectorder.domain.orders import OrderStatus
from perfectorder.services.ports import (
    NewAllocation,
    NewEvent,
    NewHold,
    NewLine,
    NewOrder,
    OrderFilter,
    OrderState,
    TransientConflict,
)
from perfectorder.services.views import (
    AllocationView,
    EventView,
    HoldView,
    LineView,
    OrderSummary,
    OrderView,
    order_view,
)

o, ln, al, h, ev = t.orders, t.order_lines, t.allocations, t.order_holds, t.order_events
# Built once: reading an order is the most frequent query, and building a statement costs more
# in Python than running it.
_GET_ORDER = select(o).where(o.c.id == bindparam("order_id"))
_GET_ALLOCATIONS = (
    select(al, t.warehouses.c.code)
    .select_from(al.join(t.warehouses))
    .where(al.c.order_id == bindparam("order_id"))
    .order_by(al.c.id)
)
_GET_LINES = select(ln).where(ln.c.order_id == bindparam("order_id")).order_by(ln.c.line_no)
_GET_HOLDS = select(h).where(h.c.order_id == bindparam("order_id")).order_by(h.c.id)
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_MANY_ORDERS = select(o).where(o.c.id.in_(_IDS))
_MANY_ALLOCATIONS = (
    select(al, t.warehouses.c.code)
    .select_from(al.join(t.warehouses))
    .where(al.c.order_id.in_(_IDS))
    .order_by(al.c.id)
)
_MANY_LINES = select(ln).where(ln.c.order_id.in_(_IDS)).order_by(ln.c.order_id, ln.c.line_no)
_MANY_HOLDS = select(h).where(h.c.order_id.in_(_IDS)).order_by(h.c.id)
_SUMMARY = select(
    o.c.id,
    o.c.channel,
    o.c.external_ref,
    o.c.customer_id,
    o.c.status,
    o.c.currency,
    o.c.total,
    o.c.promised_date,
    o.c.placed_at,
)
# Built once, executed with a parameter dict per call (see PerDialect): the capture's hot path.
_ADD_ORDER = PerDialect(lambda conn: insert_or_nothing(conn, o).returning(o.c.id))
_ADD_LINES = insert(ln).returning(ln.c.id, ln.c.line_no, sort_by_parameter_order=True)
_ADD_ALLOCATIONS = insert(al)
_ADD_HOLDS = insert(h).returning(h.c.id, sort_by_parameter_order=True)
_ADD_EVENTS = insert(ev)
# The header an OrderState is made of; the lock below reads it with what `load` needs besides.
_STATE_COLUMNS = (
    o.c.id,
    o.c.status,
    o.c.channel,
    o.c.customer_id,
    o.c.promised_date,
    o.c.rescheduled_date,
    o.c.told_date,
    o.c.told_at,
)
_STATE = select(*_STATE_COLUMNS).where(o.c.id == bindparam("oid"))
# Every change to an order starts here: its row is locked before anything about it is decided, so
# two changes to one order run one after the other (SQLite: BEGIN IMMEDIATE already serialises).
_LOCK = (
    select(
        *_STATE_COLUMNS,
        o.c.version,
        o.c.currency,
        o.c.payment_method,
        o.c.payment_status,
        o.c.paid_amount,
        o.c.invoiced_amount,
        o.c.refunded_amount,
    )
    .where(o.c.id == bindparam("oid"))
    .with_for_update()
)
_LOCKED_LINES = select(
    ln.c.id,
    ln.c.line_no,
    ln.c.product_id,
    ln.c.sku,
    ln.c.quantity,
    ln.c.backordered_qty,
    ln.c.cancelled_qty,
    ln.c.shipped_qty,
    ln.c.unit_price,
).where(ln.c.order_id == bindparam("oid"))
_LOCKED_ALLOCATIONS = select(al).where(al.c.order_id == bindparam("oid")).order_by(al.c.id)
_LOCKED_HOLDS = (
    select(h.c.id, h.c.reason, h.c.note)
    .where((h.c.order_id == bindparam("oid")) & h.c.released_at.is_(None))
    .order_by(h.c.id)
)
_SAVE_LINE = (
    update(ln)
    .where(ln.c.id == bindparam("_id"))
    .values(
        backordered_qty=bindparam("_backordered"),
        cancelled_qty=bindparam("_cancelled"),
        shipped_qty=bindparam("_shipped"),
    )
)
# Guarded: an allocation changes only if it is still what the decision was made on.
_SAVE_ALLOCATION = (
    update(al)
    .where(
        (al.c.id == bindparam("_id"))
        & (al.c.status == bindparam("_was_status"))
        & (al.c.quantity == bindparam("_was_quantity"))
    )
    .values(status=bindparam("_status"), quantity=bindparam("_quantity"))
)
_RELEASE_HOLD = (
    update(h)
    .where((h.c.id == bindparam("_id")) & h.c.released_at.is_(None))
    .values(released_at=bindparam("_at"), released_by=bindparam("_by"), release_note=bindparam("_note"))
)
_ADD_PAYMENTS = insert(t.payments)
_OWNERS = select(o.c.id, o.c.channel, o.c.customer_id).where(o.c.id.in_(bindparam("ids", expanding=True)))


class SqlOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def load(self, order_id: int) -> Order | None:
        """The whole order, its row locked until the transaction ends."""
        key = {"oid": order_id}
        row = self._conn.execute(_LOCK, key).first()
        if row is None:
            return None
        lines = [
            Line(
                r.id,
                r.line_no,
                r.product_id,
                r.sku,
                r.quantity,
                r.backordered_qty,
                r.cancelled_qty,
                r.shipped_qty,
                r.unit_price,
            )
            for r in self._conn.execute(_LOCKED_LINES, key)
        ]
        lines.sort(key=lambda x: x.line_no)
        allocations = [
            Allocation(
                r.id,
                r.order_line_id,
                r.product_id,
                r.warehouse_id,
                r.quantity,
                r.reserves_stock,
                r.status,
                r.planned_ship_date,
                r.books_capacity,
            )
            for r in self._conn.execute(_LOCKED_ALLOCATIONS, key)
        ]
        holds = [OpenHold(r.id, r.reason, r.note) for r in self._conn.execute(_LOCKED_HOLDS, key)]
        return Order(
            id=row.id,
            status=OrderStatus(row.status),
            channel=row.channel,
            customer_id=row.customer_id,
            promised_date=row.promised_date,
            rescheduled_date=row.rescheduled_date,
            version=row.version,
            lines=lines,
            allocations=allocations,
            holds=holds,
            currency=row.currency,
            payment_method=row.payment_method,
            payment_status=row.payment_status,
            paid=row.paid_amount,
            invoiced=row.invoiced_amount,
            refunded=row.refunded_amount,
        )

    def save(self, order: Order, *, at: Any, by: str) -> list[int]:
        """Writes what the order's methods changed; returns the ids of holds it placed.

        Every write is guarded (the version, each allocation's status and quantity, each hold still
        open): under the row lock they always hold, and if a path ever changed the order without the
        lock, the loser would be retried from the start instead of writing over the winner.
        """
        if not order.changed:
            return []
        conn = self._conn
        changes = {"version": order.version + 1, **order.header_changes}
        params = {"_oid": order.id, "_v": order.version, **{f"_v_{k}": v for k, v in changes.items()}}
        if conn.execute(_save_header(tuple(sorted(changes))), params).rowcount != 1:
            raise TransientConflict(f"order {order.id} changed concurrently")
        order.version += 1
        if order.line_changes:
            by_id = {x.id: x for x in order.lines}
            conn.execute(
                _SAVE_LINE,
                [
                    {
                        "_id": line_id,
                        "_backordered": by_id[line_id].backordered,
                        "_cancelled": by_id[line_id].cancelled,
                        "_shipped": by_id[line_id].shipped,
                    }
                    for line_id in sorted(order.line_changes)
                ],
            )
        for change in order.allocation_changes:
            guarded = {
                "_id": change.allocation_id,
                "_was_status": change.was_status,
                "_was_quantity": change.was_quantity,
                "_status": change.status,
                "_quantity": change.quantity,
            }
            if conn.execute(_SAVE_ALLOCATION, guarded).rowcount != 1:
                raise TransientConflict(f"allocation {change.allocation_id} changed concurrently")
        for hold_id, note in order.released_holds:
            released = {"_id": hold_id, "_at": at, "_by": by, "_note": note[:500]}
            if conn.execute(_RELEASE_HOLD, released).rowcount != 1:
                raise TransientConflict(f"hold {hold_id} released concurrently")
        self.add_allocations(
            order.id,
            [
                NewAllocation(
                    x.line_id,
                    x.product_id,
                    x.warehouse_id,
                    x.quantity,
                    True,
                    x.planned_ship_date,
                    books_capacity=False,
                )
                for x in order.new_allocations
            ],
        )
        if order.new_payments:
            conn.execute(
                _ADD_PAYMENTS,
                [
                    {
                        "order_id": order.id,
                        "customer_id": order.customer_id,
                        "kind": x.kind,
                        "amount": x.amount,
                        "currency": order.currency,
                        "method": order.payment_method,
                        "reference": x.reference[:100],
                        "return_id": x.return_id,
                        "occurred_at": at,
                        "actor": by[:100],
                    }
                    for x in order.new_payments
                ],
            )
        hold_ids = self.add_holds(order.id, [NewHold(x.reason, x.note, at, by) for x in order.new_holds])
        order.holds.extend(
            OpenHold(i, x.reason, x.note) for i, x in zip(hold_ids, order.new_holds, strict=True)
        )
        order.header_changes.clear()
        order.line_changes.clear()
        order.allocation_changes.clear()
        order.released_holds.clear()
        order.new_holds.clear()
        order.new_allocations.clear()
        order.new_payments.clear()
        return hold_ids

    def add(self, order: NewOrder) -> int | None:
        row = self._conn.execute(_ADD_ORDER(self._conn), order.columns()).first()
        return row.id if row is not None else None

    def add_lines(self, order_id: int, lines: Sequence[NewLine]) -> list[int]:
        rows = self._conn.execute(
            _ADD_LINES,
            [
                {
                    "order_id": order_id,
                    "line_no": x.line_no,
                    "product_id": x.product_id,
                    "sku": x.sku,
                    "quantity": x.quantity,
                    "unit_price": x.unit_price,
                    "backordered_qty": x.backordered_qty,
                    "cancelled_qty": 0,
                }
                for x in lines
            ],
        )
        return [row.id for row in rows]

    def add_allocations(self, order_id: int, allocations: Sequence[NewAllocation]) -> None:
        if allocations:
            self._conn.execute(
                _ADD_ALLOCATIONS,
                [
                    {
                        "order_id": order_id,
                        "order_line_id": x.order_line_id,
                        "product_id": x.product_id,
                        "warehouse_id": x.warehouse_id,
                        "quantity": x.quantity,
                        "reserves_stock": x.reserves_stock,
                        "status": "reserved",
                        "planned_ship_date": x.planned_ship_date,
                        "books_capacity": x.books_capacity,
                    }
                    for x in allocations
                ],
            )

    def add_holds(self, order_id: int, holds: Sequence[NewHold]) -> list[int]:
        if not holds:
            return []
        rows = self._conn.execute(
            _ADD_HOLDS,
            [
                {
                    "order_id": order_id,
                    "reason": x.reason,
                    "note": x.note[:500],
                    "placed_at": x.placed_at,
                    "placed_by": x.placed_by,
                }
                for x in holds
            ],
        )
        return [row.id for row in rows]

    def add_events(self, order_id: int, events: Sequence[NewEvent]) -> None:
        if events:
            self._conn.execute(
                _ADD_EVENTS,
                [
                    {
                        "order_id": order_id,
                        "type": e.type,
                        "occurred_at": e.occurred_at,
                        "actor": e.actor,
                        "data": dict(e.data),
                    }
                    for e in events
                ],
            )

    def state(self, order_id: int, *, lock: bool = False) -> OrderState | None:
        """The order's header; with `lock`, its row stays locked until the transaction ends, so a
        use case that changes the order decides on what no other writer can move under it."""
        row = self._conn.execute(_LOCK if lock else _STATE, {"oid": order_id}).first()
        return (
            OrderState(
                row.id,
                row.status,
                row.channel,
                row.customer_id,
                row.promised_date,
                row.rescheduled_date,
                row.told_date,
                row.told_at,
            )
            if row
            else None
        )

    def transition(self, order_id: int, *, expected: str, target: str, changes: Mapping[str, Any]) -> bool:
        params = {"_oid": order_id, "_expected": expected, "_target": target}
        params.update({f"_v_{k}": v for k, v in changes.items()})
        return self._conn.execute(_transition(tuple(sorted(changes))), params).rowcount == 1

    def owners(self, order_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not order_ids:
            return {}
        rows = self._conn.execute(_OWNERS, {"ids": list(order_ids)})
        return {r.id: {"channel": r.channel, "customer_id": r.customer_id} for r in rows}

    def mark_at_risk(self, order_id: int, *, at: Any, reason: str) -> bool:
        stmt = (
            update(o)
            .where((o.c.id == order_id) & o.c.at_risk_since.is_(None))
            .values(at_risk_since=at, at_risk_reason=reason[:500])
        )
        return self._conn.execute(stmt).rowcount == 1

    def unshipped_past_ship_date(self, today: Any, statuses: Sequence[str]) -> list[tuple[int, str]]:
        # Already at risk too once the date it is expected by has come unshipped: it slips again.
        expected = func.coalesce(o.c.rescheduled_date, o.c.promised_date)
        rows = self._conn.execute(
            select(o.c.id, o.c.shipping_service)
            .where(
                (o.c.promised_ship_date < today)
                & o.c.status.in_(list(statuses))
                & (o.c.at_risk_since.is_(None) | (expected <= today))
            )
            .order_by(o.c.id)
            .limit(1000)
        )
        return [(r.id, r.shipping_service) for r in rows]

    def overdue_in_transit(self, today: Any, statuses: Sequence[str]) -> list[int]:
        expected = func.coalesce(o.c.rescheduled_date, o.c.promised_date)
        rows = self._conn.execute(
            select(o.c.id)
            .where(o.c.status.in_(list(statuses)) & (expected <= today))
            .order_by(o.c.id)
            .limit(1000)
        )
        return [r.id for r in rows]

    def told(self, order_id: int, *, expected: Any, at: Any) -> None:
        self._conn.execute(update(o).where(o.c.id == order_id).values(told_date=expected, told_at=at))

    def untold_slips(self, *, told_before: Any, statuses: Sequence[str]) -> list[int]:
        # Expected later than what the customer was last told, and not told yet today.
        expected = func.coalesce(o.c.rescheduled_date, o.c.promised_date)
        rows = self._conn.execute(
            select(o.c.id)
            .where(
                o.c.status.in_(list(statuses))
                & o.c.rescheduled_date.is_not(None)
                & (expected > func.coalesce(o.c.told_date, o.c.promised_date))
                & (o.c.told_at.is_(None) | (o.c.told_at < told_before))
            )
            .order_by(o.c.id)
            .limit(1000)
        )
        return [r.id for r in rows]

    def get(self, order_id: int) -> OrderView | None:
        key = {"order_id": order_id}
        row = self._conn.execute(_GET_ORDER, key).first()
        if row is None:
            return None
        return _assemble(
            row,
            self._conn.execute(_GET_ALLOCATIONS, key),
            self._conn.execute(_GET_LINES, key),
            self._conn.execute(_GET_HOLDS, key),
        )

    def get_many(self, order_ids: Sequence[int]) -> dict[int, OrderView]:
        key = {"ids": sorted(set(order_ids))}
        rows = list(self._conn.execute(_MANY_ORDERS, key)) if key["ids"] else []
        if not rows:
            return {}
        allocations, lines, holds = defaultdict(list), defaultdict(list), defaultdict(list)
        for r in self._conn.execute(_MANY_ALLOCATIONS, key):
            allocations[r.order_id].append(r)
        for r in self._conn.execute(_MANY_LINES, key):
            lines[r.order_id].append(r)
        for r in self._conn.execute(_MANY_HOLDS, key):
            holds[r.order_id].append(r)
        return {row.id: _assemble(row, allocations[row.id], lines[row.id], holds[row.id]) for row in rows}

    def page(self, flt: OrderFilter, *, before_id: int | None, limit: int) -> list[OrderSummary]:
        stmt = _SUMMARY.order_by(o.c.id.desc()).limit(limit)
        if flt.status is not None:
            stmt = stmt.where(o.c.status == flt.status)
        if flt.channel is not None:
            stmt = stmt.where(o.c.channel == flt.channel)
        if flt.customer_id is not None:
            stmt = stmt.where(o.c.customer_id == flt.customer_id)
        if flt.placed_from is not None:
            stmt = stmt.where(o.c.placed_at >= flt.placed_from)
        if flt.placed_to is not None:
            stmt = stmt.where(o.c.placed_at < flt.placed_to)
        if before_id is not None:
            stmt = stmt.where(o.c.id < before_id)
        return [
            OrderSummary(
                r.id,
                r.channel,
                r.external_ref,
                r.customer_id,
                r.status,
                r.currency,
                r.total,
                r.promised_date,
                r.placed_at,
            )
            for r in self._conn.execute(stmt)
        ]

    def timeline(self, order_id: int) -> list[EventView]:
        rows = self._conn.execute(select(ev).where(ev.c.order_id == order_id).order_by(ev.c.id))
        return [EventView(r.id, r.type, r.occurred_at, r.actor, dict(r.data)) for r in rows]


def _assemble(row: Any, allocation_rows: Any, line_rows: Any, hold_rows: Any) -> OrderView:
    allocations: dict[int, list[AllocationView]] = defaultdict(list)
    for r in allocation_rows:
        allocations[r.order_line_id].append(
            AllocationView(r.code, r.quantity, r.reserves_stock, r.status, r.planned_ship_date)
        )
    lines = tuple(
        LineView(
            r.line_no,
            r.sku,
            r.quantity,
            r.unit_price,
            r.backordered_qty,
            r.cancelled_qty,
            tuple(allocations[r.id]),
        )
        for r in line_rows
    )
    return _order_view(row, lines, tuple(_hold(r) for r in hold_rows))


def unmeasured_of(stored: str) -> frozenset[str]:
    """The components an order's facts cannot judge, as stored (comma-separated)."""
    return frozenset(c for c in stored.split(",") if c)


def _hold(r: Any) -> HoldView:
    return HoldView(
        r.id, r.reason, r.note, r.placed_at, r.placed_by, r.released_at, r.released_by, r.release_note
    )


def _order_view(row: Any, lines: tuple[LineView, ...], holds: tuple[HoldView, ...]) -> OrderView:
    return order_view(row._mapping, lines, holds)


_TRANSITIONS: dict[tuple[str, ...], Any] = {}
_SAVES: dict[tuple[str, ...], Any] = {}


def _save_header(columns: tuple[str, ...]) -> Any:
    """The version compare-and-set UPDATE for one set of changed columns, built once per set."""
    stmt = _SAVES.get(columns)
    if stmt is None:
        stmt = (
            update(o)
            .where((o.c.id == bindparam("_oid")) & (o.c.version == bindparam("_v")))
            .values(**{c: bindparam(f"_v_{c}") for c in columns})
        )
        _SAVES[columns] = stmt
    return stmt


def _transition(columns: tuple[str, ...]) -> Any:
    """The compare-and-set UPDATE for one set of changed columns, built once per set."""
    stmt = _TRANSITIONS.get(columns)
    if stmt is None:
        stmt = (
            update(o)
            .where((o.c.id == bindparam("_oid")) & (o.c.status == bindparam("_expected")))
            .values(
                status=bindparam("_target"),
                version=o.c.version + 1,
                **{c: bindparam(f"_v_{c}") for c in columns},
            )
        )
        _TRANSITIONS[columns] = stmt
    return stmt
