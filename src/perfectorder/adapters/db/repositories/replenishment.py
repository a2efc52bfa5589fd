"""Replenishment's reads: a few grouped statements over stock, demand, purchase orders and the
stock ledger, each bounded by the window or by the catalog's size, never by the order history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import utc_day
from perfectorder.domain.supplier_scorecard import LineFacts
from perfectorder.services.board_ports import OPEN_STATUSES
from perfectorder.services.replenishment_ports import SkuAt, StockPoint, SupplyTerms, WaitingBackorder

OPEN_PO = ("draft", "sent", "confirmed", "partially_received")


def _day(value: Any) -> date:
    # A moment (max of a timestamp) is read as its UTC day; a datetime is a date too, so first.
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class SqlReplenishmentReads:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def stock_points(self) -> list[StockPoint]:
        p, w, s = t.products, t.warehouses, t.stock
        stmt = (
            select(
                p.c.id,
                p.c.sku,
                w.c.id.label("wid"),
                w.c.code,
                s.c.on_hand,
                s.c.reserved,
                p.c.unit_cost,
                p.c.currency,
            )
            .select_from(s.join(p, p.c.id == s.c.product_id).join(w, w.c.id == s.c.warehouse_id))
            .where(p.c.active, p.c.fulfilment == "made_to_stock")
            .order_by(p.c.sku, w.c.code)
        )
        return [
            StockPoint(
                r.id, r.sku, r.wid, r.code, r.on_hand, r.reserved, r.unit_cost or Decimal(0), r.currency
            )
            for r in self._conn.execute(stmt)
        ]

    def daily_demand(self, since: datetime, until: datetime) -> Mapping[SkuAt, Mapping[date, int]]:
        a, o, ld = t.allocations, t.orders, t.lost_demand
        out: dict[SkuAt, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        pg = self._conn.dialect.name == "postgresql"
        placed = utc_day(o.c.placed_at, pg)
        served = (
            select(
                a.c.product_id, a.c.warehouse_id, placed.label("day"), func.sum(a.c.quantity).label("units")
            )
            .join(o, o.c.id == a.c.order_id)
            .where(o.c.placed_at >= since, o.c.placed_at < until)
            .group_by(a.c.product_id, a.c.warehouse_id, placed)
        )
        refused_on = utc_day(ld.c.refused_at, pg)
        placed_later = select(o.c.id).where(
            o.c.channel == ld.c.channel, o.c.external_ref == ld.c.external_ref
        )
        lost = (
            select(
                ld.c.product_id,
                ld.c.warehouse_id,
                refused_on.label("day"),
                func.sum(ld.c.requested).label("units"),
            )
            .where(ld.c.refused_at >= since, ld.c.refused_at < until, ~placed_later.exists())
            .group_by(ld.c.product_id, ld.c.warehouse_id, refused_on)
        )
        for stmt in (served, lost):
            for r in self._conn.execute(stmt):
                out[(r.product_id, r.warehouse_id)][_day(r.day)] += int(r.units)
        return out

    def on_order(self) -> Mapping[SkuAt, int]:
        po, pl = t.purchase_orders, t.purchase_order_lines
        stmt = (
            select(
                pl.c.product_id, po.c.warehouse_id, func.sum(pl.c.quantity - pl.c.received_qty).label("units")
            )
            .join(po, po.c.id == pl.c.purchase_order_id)
            .where(po.c.status.in_(OPEN_PO), pl.c.quantity > pl.c.received_qty)
            .group_by(pl.c.product_id, po.c.warehouse_id)
        )
        return {(r.product_id, r.warehouse_id): int(r.units) for r in self._conn.execute(stmt)}

    def backordered(self) -> Mapping[int, int]:
        ln, o = t.order_lines, t.orders
        stmt = (
            select(ln.c.product_id, func.sum(ln.c.backordered_qty).label("units"))
            .join(o, o.c.id == ln.c.order_id)
            .where(o.c.status.in_(OPEN_STATUSES), ln.c.backordered_qty > 0)
            .group_by(ln.c.product_id)
        )
        return {r.product_id: int(r.units) for r in self._conn.execute(stmt)}

    def incoming(self, product_id: int) -> tuple[list[tuple[date, int]], int]:
        po, pl, ln, o = t.purchase_orders, t.purchase_order_lines, t.order_lines, t.orders
        supply = [
            (r.promised_date, int(r.units))
            for r in self._conn.execute(
                select(po.c.promised_date, func.sum(pl.c.quantity - pl.c.received_qty).label("units"))
                .join(po, po.c.id == pl.c.purchase_order_id)
                .where(
                    pl.c.product_id == product_id, po.c.status.in_(OPEN_PO), pl.c.quantity > pl.c.received_qty
                )
                .group_by(po.c.promised_date)
            )
        ]
        owed = self._conn.execute(
            select(func.coalesce(func.sum(ln.c.backordered_qty), 0))
            .join(o, o.c.id == ln.c.order_id)
            .where(ln.c.product_id == product_id, ln.c.backordered_qty > 0, o.c.status.in_(OPEN_STATUSES))
        ).scalar_one()
        return supply, int(owed)

    def waiting_backorders(self, skus: Sequence[str]) -> list[WaitingBackorder]:
        ln, o = t.order_lines, t.orders
        if not skus:
            return []
        expected = func.coalesce(o.c.rescheduled_date, o.c.promised_date)
        stmt = (
            select(
                o.c.id,
                ln.c.sku,
                ln.c.product_id,
                ln.c.backordered_qty,
                expected.label("expected"),
                o.c.transit_days,
                o.c.shipping_service,
            )
            .join(o, o.c.id == ln.c.order_id)
            .where(ln.c.sku.in_(list(skus)), ln.c.backordered_qty > 0, o.c.status.in_(OPEN_STATUSES))
            .order_by(ln.c.sku, o.c.promised_date, o.c.id)
        )
        return [
            WaitingBackorder(
                r.id,
                r.sku,
                r.product_id,
                int(r.backordered_qty),
                r.expected,
                r.transit_days,
                r.shipping_service,
            )
            for r in self._conn.execute(stmt)
        ]

    def supply_terms(self, now: datetime) -> Mapping[int, SupplyTerms]:
        sp, su, po, pl, rc = (
            t.supplier_products,
            t.suppliers,
            t.purchase_orders,
            t.purchase_order_lines,
            t.po_receipts,
        )
        measured: dict[int, list[float]] = defaultdict(list)
        first = (
            select(po.c.supplier_id, po.c.sent_at, func.min(rc.c.received_at).label("came"))
            .join(pl, pl.c.purchase_order_id == po.c.id)
            .join(rc, rc.c.line_id == pl.c.id)
            .where(po.c.sent_at.is_not(None))
            .group_by(po.c.supplier_id, po.c.id, po.c.sent_at)
            .order_by(po.c.sent_at, po.c.id)
        )
        for got in self._conn.execute(first):
            measured[got.supplier_id].append((got.came - got.sent_at).total_seconds() / 86400)
        overdue: dict[int, list[float]] = defaultdict(list)
        late = select(po.c.supplier_id, po.c.sent_at).where(
            po.c.status.in_(("sent", "confirmed")),  # nothing received yet
            po.c.sent_at.is_not(None),
            po.c.promised_date < now.astimezone(UTC).date(),
        )
        for waiting in self._conn.execute(late):
            overdue[waiting.supplier_id].append((now - waiting.sent_at).total_seconds() / 86400)
        listings = (
            select(
                sp.c.product_id,
                sp.c.supplier_id,
                su.c.code,
                su.c.lead_time_days,
                su.c.working_days,
                sp.c.unit_cost,
                sp.c.currency,
                sp.c.pack_size,
                sp.c.min_order_qty,
            )
            .join(su, su.c.id == sp.c.supplier_id)
            .order_by(sp.c.product_id, sp.c.unit_cost, su.c.code)
        )
        out: dict[int, SupplyTerms] = {}
        for r in self._conn.execute(listings):
            if r.product_id not in out:  # the cheapest listing (then by supplier code)
                out[r.product_id] = SupplyTerms(
                    r.code,
                    r.lead_time_days,
                    r.working_days,
                    r.unit_cost,
                    r.currency,
                    r.pack_size,
                    r.min_order_qty,
                    tuple(measured.get(r.supplier_id, ())),
                    tuple(overdue.get(r.supplier_id, ())),
                )
        return out

    def receipts(self) -> Mapping[SkuAt, list[tuple[date, int]]]:
        sm = t.stock_movements
        day = utc_day(sm.c.created_at, self._conn.dialect.name == "postgresql")
        stmt = (
            select(
                sm.c.product_id,
                sm.c.warehouse_id,
                day.label("day"),
                func.sum(sm.c.on_hand_delta).label("units"),
            )
            .where(sm.c.movement == "receipt", sm.c.on_hand_delta > 0)
            .group_by(sm.c.product_id, sm.c.warehouse_id, day)
        )
        out: dict[SkuAt, list[tuple[date, int]]] = defaultdict(list)
        for r in self._conn.execute(stmt):
            out[(r.product_id, r.warehouse_id)].append((_day(r.day), int(r.units)))
        return out

    def last_sales(self) -> Mapping[SkuAt, date]:
        sm = t.stock_movements
        stmt = (
            select(sm.c.product_id, sm.c.warehouse_id, func.max(sm.c.created_at).label("last"))
            .where(sm.c.movement == "pick")
            .group_by(sm.c.product_id, sm.c.warehouse_id)
        )
        return {(r.product_id, r.warehouse_id): _day(r.last) for r in self._conn.execute(stmt)}

    def po_lines(self, since: datetime, until: datetime) -> list[LineFacts]:
        po, pl, su, p, rc = t.purchase_orders, t.purchase_order_lines, t.suppliers, t.products, t.po_receipts
        lines = self._conn.execute(
            select(
                pl.c.id,
                su.c.code,
                p.c.sku,
                pl.c.quantity,
                po.c.original_promised_date,
                po.c.sent_at,
                po.c.status,
                po.c.created_at,
            )
            .join(po, po.c.id == pl.c.purchase_order_id)
            .join(su, su.c.id == po.c.supplier_id)
            .join(p, p.c.id == pl.c.product_id)
            .where(po.c.created_at >= since, po.c.created_at < until)
            .order_by(pl.c.id)
        ).all()
        receipts: dict[int, list[tuple[datetime, int, int]]] = defaultdict(list)
        if lines:
            found = self._conn.execute(
                select(rc.c.line_id, rc.c.received_at, rc.c.accepted_qty, rc.c.rejected_qty)
                .join(po, po.c.id == rc.c.purchase_order_id)
                .where(po.c.created_at >= since, po.c.created_at < until)
                .order_by(rc.c.line_id, rc.c.received_at, rc.c.id)
            )
            for r in found:
                receipts[r.line_id].append((r.received_at, r.accepted_qty, r.rejected_qty))
        return [
            LineFacts(
                r.code,
                r.sku,
                r.quantity,
                r.original_promised_date,
                r.sent_at,
                r.status in ("received", "cancelled"),
                tuple(receipts.get(r.id, ())),
                _day(r.created_at),
            )
            for r in lines
        ]

    def quoted_lead_days(self) -> Mapping[str, int]:
        su = t.suppliers
        return {r.code: r.lead_time_days for r in self._conn.execute(select(su.c.code, su.c.lead_time_days))}

    def listings(self) -> Mapping[str, list[str]]:
        sp, su, p = t.supplier_products, t.suppliers, t.products
        out: dict[str, list[str]] = defaultdict(list)
        stmt = (
            select(p.c.sku, su.c.code)
            .join(sp, sp.c.product_id == p.c.id)
            .join(su, su.c.id == sp.c.supplier_id)
            .order_by(p.c.sku, su.c.code)
        )
        for r in self._conn.execute(stmt):
            out[r.sku].append(r.code)
        return out

    def defective_returns(self, since: datetime, until: datetime) -> Mapping[str, int]:
        rt, rl = t.returns, t.return_lines
        stmt = (
            select(rl.c.sku, func.sum(rl.c.quantity).label("units"))
            .join(rt, rt.c.id == rl.c.return_id)
            .where(rt.c.stage == "supplier", rt.c.created_at >= since, rt.c.created_at < until)
            .group_by(rl.c.sku)
        )
        return {r.sku: int(r.units) for r in self._conn.execute(stmt)}

    def shipped_units(self, since: datetime, until: datetime) -> Mapping[str, int]:
        o, ln = t.orders, t.order_lines
        stmt = (
            select(ln.c.sku, func.sum(ln.c.shipped_qty).label("units"))
            .join(o, o.c.id == ln.c.order_id)
            .where(o.c.shipped_at >= since, o.c.shipped_at < until, ln.c.shipped_qty > 0)
            .group_by(ln.c.sku)
        )
        return {r.sku: int(r.units) for r in self._conn.execute(stmt)}
