"""The dashboard's operational reads. Each starts from an index (open orders by status, a
customer's orders, a period of returns), so a page costs the same on a store of a million orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, false, func, or_, select

from perfectorder.adapters.db import tables as t
from perfectorder.metrics.perfect_order import due_soon_before, overdue_before
from perfectorder.services.board_ports import (
    AGE_BUCKETS,
    BEFORE_SHIPPING,
    OPEN_STATUSES,
    BoardOrder,
    BoardQuery,
    CustomerRow,
    FeedbackRow,
    OpenHold,
    ReturnRow,
    StageCount,
    StockRow,
    TrackingEvent,
)

o, c, r = t.orders, t.customers, t.order_risk
_ORDER_SORTS = {
    "id": o.c.id,
    "placed": o.c.placed_at,
    "promised": o.c.promised_date,
    "status": o.c.status,
    "total": o.c.total,
    "channel": o.c.channel,
}
_STOCK_SORTS = {
    "sku": t.products.c.sku,
    "warehouse": t.warehouses.c.code,
    "on_hand": t.stock.c.on_hand,
    "reserved": t.stock.c.reserved,
    "available": t.stock.c.on_hand - t.stock.c.reserved,
}
SEARCH_CUSTOMERS = 500  # a name prefix matching more customers than this is too vague to list orders by
_CUSTOMER_SORTS = {
    "id": c.c.id,
    "name": c.c.name,
    "email": c.c.email,
    "tier": c.c.tier,
    "since": c.c.created_at,
}


def _before(column: Any, cutoffs: Mapping[str, date]) -> Any:
    """column < the cutoff of the order's destination time zone."""
    by_cutoff: dict[date, list[str]] = {}
    for zone, cutoff in cutoffs.items():
        by_cutoff.setdefault(cutoff, []).append(zone)
    if not by_cutoff:
        return false()
    return or_(
        *(
            and_(o.c.ship_timezone.in_(sorted(zones)), column < cutoff)
            for cutoff, zones in sorted(by_cutoff.items())
        )
    )


def _late(cutoffs: Cutoffs) -> Any:
    """Past the date promised at capture (a reschedule does not excuse it), by the verdict's own
    definition: would not be on time if delivered now, in the destination's time zone."""
    return _before(o.c.promised_date, cutoffs.late)


def _at_risk(cutoffs: Cutoffs) -> Any:
    """Open, not late yet, and flagged by the delay watch or, not shipped yet, due by tomorrow in
    the destination's calendar (`perfect_order.due_soon_before`). The board's counts and its lists
    both use these two, so a count always matches its list."""
    due = func.coalesce(o.c.rescheduled_date, o.c.promised_date)
    return and_(
        ~_late(cutoffs),
        or_(
            o.c.at_risk_since.is_not(None),
            and_(_before(due, cutoffs.due_soon), o.c.status.in_(BEFORE_SHIPPING)),
        ),
    )


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Per destination time zone of the open orders, from metrics.perfect_order: due before `late`
    is late now; before `due_soon`, at risk unless shipped."""

    late: Mapping[str, date]
    due_soon: Mapping[str, date]


def _sorted(column: Any, descending: bool, tiebreak: Any) -> tuple[Any, Any]:
    return (column.desc(), tiebreak.desc()) if descending else (column.asc(), tiebreak.asc())


class SqlBoardQueries:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def stage_counts(self, now: datetime) -> list[StageCount]:
        bounds = [now - timedelta(days=d) for d in AGE_BUCKETS[1:]]
        # Counted cumulatively ("placed less than N days ago"), then differenced into buckets below.
        newer = [func.sum(case((o.c.placed_at > b, 1), else_=0)) for b in bounds]
        stmt = (
            select(o.c.status, func.count(), func.min(o.c.placed_at), *newer)
            .where(o.c.status.in_(OPEN_STATUSES))
            .group_by(o.c.status)
        )
        out = []
        for row in self._conn.execute(stmt):
            total, cumulative = int(row[1]), [int(x or 0) for x in row[3:]]
            # cumulative[i] = orders younger than AGE_BUCKETS[i + 1] days; difference them into buckets.
            edges = [0, *cumulative, total]
            out.append(
                StageCount(
                    row[0], total, row[2], tuple(edges[i + 1] - edges[i] for i in range(len(edges) - 1))
                )
            )
        return out

    def _cutoffs(self, now: datetime) -> Cutoffs:
        zones = list(
            self._conn.execute(
                select(o.c.ship_timezone).where(o.c.status.in_(OPEN_STATUSES)).distinct()
            ).scalars()
        )
        return Cutoffs(
            {zone: overdue_before(now, zone) for zone in zones},
            {zone: due_soon_before(now, zone) for zone in zones},
        )

    def late_and_at_risk(self, now: datetime) -> tuple[int, int]:
        cutoffs = self._cutoffs(now)
        row = self._conn.execute(
            select(
                func.sum(case((_late(cutoffs), 1), else_=0)),
                func.sum(case((_at_risk(cutoffs), 1), else_=0)),
            ).where(o.c.status.in_(OPEN_STATUSES))
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    def orders(self, query: BoardQuery, now: datetime) -> list[BoardOrder]:
        cutoffs = self._cutoffs(now)
        stmt = select(
            o.c.id,
            o.c.external_ref,
            o.c.channel,
            o.c.customer_id,
            c.c.name,
            o.c.status,
            o.c.total,
            o.c.currency,
            o.c.placed_at,
            o.c.promised_date,
            o.c.rescheduled_date,
            o.c.at_risk_reason,
            o.c.payment_method,
            o.c.payment_status,
            and_(o.c.status.in_(OPEN_STATUSES), _late(cutoffs)).label("late"),
            r.c.probability,
            r.c.action,
            r.c.reasons,
        ).join(c, c.c.id == o.c.customer_id)
        # By risk lists the scored (open) orders from the risk index; otherwise a score shows where
        # there is one.
        by_risk = query.sort == "risk"
        stmt = stmt.join(r, r.c.order_id == o.c.id, isouter=not by_risk)
        if by_risk:
            # A score outlives its order's closing until the next scoring: closed ones are not at risk.
            stmt = stmt.where(o.c.status.in_(OPEN_STATUSES))
        if query.status is not None:
            stmt = stmt.where(o.c.status == query.status)
        if query.late or query.at_risk:
            stmt = stmt.where(o.c.status.in_(OPEN_STATUSES))
        if query.late:
            stmt = stmt.where(_late(cutoffs))
        if query.at_risk:
            stmt = stmt.where(_at_risk(cutoffs))
        if query.on_hold:
            stmt = stmt.where(o.c.status == "on_hold")
        if query.customer_id is not None:
            stmt = stmt.where(o.c.customer_id == query.customer_id)
        if query.order_ids is not None:
            stmt = stmt.where(o.c.id.in_(query.order_ids or (-1,)))
        if query.text:
            stmt = stmt.where(self._matches(query.text))
        column = r.c.probability if by_risk else _ORDER_SORTS.get(query.sort, o.c.id)
        stmt = stmt.order_by(*_sorted(column, query.descending, o.c.id))
        rows = self._conn.execute(stmt.offset(query.offset).limit(query.limit + 1))
        return [
            BoardOrder(
                *(
                    *tuple(row)[:-4],
                    bool(row.late),
                    row.probability,
                    row.action,
                    tuple(words for _, _, words in row.reasons or ()),
                )
            )
            for row in rows
        ]

    def _matches(self, text: str) -> Any:
        """An order by its id, its reference, a tracking number, or its customer's e-mail or name.
        The customers and parcels are looked up first: an OR over plain values lets the database
        combine the orders' own indexes instead of reading every order."""
        needle = text.strip()
        tracked = list(
            self._conn.execute(
                select(t.shipments.c.order_id).where(t.shipments.c.tracking_number == needle)
            ).scalars()
        )
        customers = list(
            self._conn.execute(
                select(c.c.id)
                .where(or_(c.c.email == needle.lower(), _starts(c.c.name, needle)))
                .order_by(c.c.id)
                .limit(SEARCH_CUSTOMERS)
            ).scalars()
        )
        found = [o.c.external_ref == needle]
        ids = tracked + ([int(needle)] if needle.isdigit() and len(needle) < 10 else [])
        if ids:
            found.append(o.c.id.in_(ids))
        if customers:
            found.append(o.c.customer_id.in_(customers))
        return or_(*found)

    def open_holds(self, limit: int) -> list[OpenHold]:
        h = t.order_holds
        stmt = (
            select(h.c.id, h.c.order_id, o.c.external_ref, h.c.reason, h.c.note, h.c.placed_at)
            .join(o, o.c.id == h.c.order_id)
            .where(h.c.released_at.is_(None), o.c.status == "on_hold")
            .order_by(h.c.placed_at, h.c.id)
            .limit(limit)
        )
        return [OpenHold(*r) for r in self._conn.execute(stmt)]

    def stock(
        self, *, warehouse: str | None, text: str | None, sort: str, descending: bool, offset: int, limit: int
    ) -> list[StockRow]:
        p, w, s, ln = t.products, t.warehouses, t.stock, t.order_lines
        # Units still owed to open orders, per product: read from open orders only (a small set).
        owed = (
            select(ln.c.product_id, func.sum(ln.c.backordered_qty).label("units"))
            .join(o, o.c.id == ln.c.order_id)
            .where(o.c.status.in_(OPEN_STATUSES), ln.c.backordered_qty > 0)
            .group_by(ln.c.product_id)
            .subquery()
        )
        stmt = (
            select(
                p.c.sku,
                p.c.name,
                p.c.category,
                w.c.code,
                s.c.on_hand,
                s.c.reserved,
                func.coalesce(owed.c.units, 0),
            )
            .select_from(s.join(p, p.c.id == s.c.product_id).join(w, w.c.id == s.c.warehouse_id))
            .outerjoin(owed, owed.c.product_id == s.c.product_id)
        )
        if warehouse:
            stmt = stmt.where(w.c.code == warehouse)
        if text:
            stmt = stmt.where(or_(_starts(p.c.sku, text.strip()), _starts(p.c.name, text.strip())))
        column = _STOCK_SORTS.get(sort, _STOCK_SORTS["available"])
        stmt = stmt.order_by(*_sorted(column, descending, p.c.sku), w.c.code)
        return [StockRow(*r) for r in self._conn.execute(stmt.offset(offset).limit(limit + 1))]

    def customers(
        self, *, text: str | None, sort: str, descending: bool, offset: int, limit: int
    ) -> list[CustomerRow]:
        stmt = select(c.c.id, c.c.name, c.c.email, c.c.tier, c.c.created_at)
        if text:
            needle = text.strip().lower()
            stmt = stmt.where(or_(c.c.email == needle, _starts(c.c.name, needle)))
        column = _CUSTOMER_SORTS.get(sort, c.c.id)
        stmt = stmt.order_by(*_sorted(column, descending, c.c.id))
        return [CustomerRow(*r) for r in self._conn.execute(stmt.offset(offset).limit(limit + 1))]

    def customer_verdicts(self, customer_id: int, today: date) -> list[tuple[Mapping[str, bool | None], int]]:
        v = t.order_verdicts
        stmt = select(v.c.components, v.c.failures).where(
            v.c.customer_id == customer_id, v.c.state == "delivered", v.c.final_from <= today
        )
        return [(dict(r.components), len(r.failures)) for r in self._conn.execute(stmt)]

    def customer_feedback(self, customer_id: int, limit: int) -> list[FeedbackRow]:
        f = t.feedback
        stmt = (
            select(
                f.c.order_id,
                f.c.rating,
                f.c.arrived_complete,
                f.c.undamaged,
                f.c.as_described,
                f.c.comment,
                f.c.created_at,
            )
            .join(o, o.c.id == f.c.order_id)
            .where(o.c.customer_id == customer_id)
            .order_by(f.c.created_at.desc())
            .limit(limit)
        )
        return [FeedbackRow(*r) for r in self._conn.execute(stmt)]

    def returns_between(self, start: datetime, end: datetime) -> list[ReturnRow]:
        r = t.returns
        stmt = (
            select(r.c.id, r.c.order_id, r.c.reason, r.c.criterion, r.c.stage, r.c.status, r.c.created_at)
            .where(r.c.created_at >= start, r.c.created_at < end)
            .order_by(r.c.created_at.desc(), r.c.id.desc())
        )
        return [ReturnRow(*row) for row in self._conn.execute(stmt)]

    def tracking(self, order_id: int) -> list[TrackingEvent]:
        sh, ce = t.shipments, t.carrier_events
        stmt = (
            select(sh.c.tracking_number, ce.c.carrier, ce.c.type, ce.c.occurred_at, ce.c.detail)
            .join(ce, ce.c.shipment_id == sh.c.id)
            .where(sh.c.order_id == order_id)
            .order_by(ce.c.occurred_at, ce.c.id)
        )
        return [TrackingEvent(*r) for r in self._conn.execute(stmt)]


def _starts(column: Any, needle: str) -> Any:
    """Case-insensitive prefix match; the user's % and _ are literal characters."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(escaped + "%", escape="\\")
