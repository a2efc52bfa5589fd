"""Suppliers and purchase orders. A line's received units change only through the guarded update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, type_coerce, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.adapters.db.types import ExactDecimal
from perfectorder.domain.purchasing import POEvent, POLine, POStatus, PurchaseOrder
from perfectorder.services.purchasing_ports import (
    NewPurchaseOrder,
    PODetail,
    POLineView,
    POReceiptView,
    POSummary,
    SupplierProductView,
    SupplierRow,
    SupplierView,
)
from perfectorder.services.views import EventView

su, sp, po, ln, ev, rc = (
    t.suppliers,
    t.supplier_products,
    t.purchase_orders,
    t.purchase_order_lines,
    t.po_events,
    t.po_receipts,
)
p, w = t.products, t.warehouses

# The over-receipt guard: the accepted units are added only if the line stays within its limit at
# the moment of writing, so receipts from any number of clients cannot pass it together.
_RECEIVE_LINE = (
    update(ln)
    .where((ln.c.id == bindparam("line")) & (ln.c.received_qty + bindparam("a") <= bindparam("limit")))
    .values(
        received_qty=ln.c.received_qty + bindparam("a"),
        rejected_qty=ln.c.rejected_qty + bindparam("r"),
    )
    .returning(ln.c.id, ln.c.quantity, ln.c.received_qty, ln.c.rejected_qty)
)
_LINES = (
    select(ln.c.id, p.c.sku, ln.c.quantity, ln.c.unit_cost, ln.c.received_qty, ln.c.rejected_qty)
    .join(p, p.c.id == ln.c.product_id)
    .where(ln.c.purchase_order_id == bindparam("po"))
    .order_by(ln.c.id)
)
_SUPPLIER_PRODUCTS = (
    select(su.c.code, p.c.sku, sp)
    .join(su, su.c.id == sp.c.supplier_id)
    .join(p, p.c.id == sp.c.product_id)
    .order_by(p.c.sku)
)


class SqlPurchasingRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_supplier(
        self,
        *,
        code: str,
        name: str,
        lead_time_days: int,
        working_days: str,
        contact_email: str,
        contact_phone: str,
        at: datetime,
    ) -> bool:
        stmt = insert_or_nothing(self._conn, su).values(
            code=code,
            name=name,
            lead_time_days=lead_time_days,
            working_days=working_days,
            contact_email=contact_email,
            contact_phone=contact_phone,
            created_at=at,
        )
        return self._conn.execute(stmt.returning(su.c.id)).first() is not None

    def supplier(self, code: str) -> SupplierView | None:
        row = self._conn.execute(select(su).where(su.c.code == code)).first()
        return _supplier(row) if row is not None else None

    def suppliers(self, *, limit: int) -> list[SupplierView]:
        return [_supplier(r) for r in self._conn.execute(select(su).order_by(su.c.code).limit(limit))]

    def supplier_rows(
        self, *, open_statuses: frozenset[POStatus], offset: int, limit: int
    ) -> list[SupplierRow]:
        products = select(func.count()).where(sp.c.supplier_id == su.c.id).scalar_subquery()
        open_pos = (
            select(func.count())
            .where((po.c.supplier_id == su.c.id) & po.c.status.in_([s.value for s in open_statuses]))
            .scalar_subquery()
        )
        rows = self._conn.execute(
            select(su, products.label("products"), open_pos.label("open_pos"))
            .order_by(su.c.code)
            .offset(offset)
            .limit(limit)
        )
        return [SupplierRow(_supplier(r), int(r.products), int(r.open_pos)) for r in rows]

    def add_supplier_product(self, supplier_id: int, product_id: int, view: SupplierProductView) -> bool:
        stmt = insert_or_nothing(self._conn, sp).values(
            supplier_id=supplier_id,
            product_id=product_id,
            supplier_sku=view.supplier_sku,
            unit_cost=view.unit_cost,
            currency=view.currency,
            pack_size=view.pack_size,
            min_order_qty=view.min_order_qty,
        )
        return self._conn.execute(stmt.returning(sp.c.id)).first() is not None

    def supplier_products(self, supplier_id: int) -> list[SupplierProductView]:
        rows = self._conn.execute(_SUPPLIER_PRODUCTS.where(sp.c.supplier_id == supplier_id))
        return [_supplier_product(r) for r in rows]

    def supplier_product(self, supplier_id: int, sku: str) -> SupplierProductView | None:
        row = self._conn.execute(
            _SUPPLIER_PRODUCTS.where((sp.c.supplier_id == supplier_id) & (p.c.sku == sku))
        ).first()
        return _supplier_product(row) if row is not None else None

    def create_po(self, new: NewPurchaseOrder) -> int:
        # The number is the id's, known only once the row exists; a placeholder unique to this
        # transaction holds its place until then.
        placeholder = f"new-{uuid.uuid4().hex}"
        po_id = int(
            self._conn.execute(
                insert(po)
                .values(
                    number=placeholder,
                    supplier_id=new.supplier_id,
                    warehouse_id=new.warehouse_id,
                    status=POStatus.DRAFT.value,
                    currency=new.currency,
                    original_promised_date=new.promised_date,
                    promised_date=new.promised_date,
                    created_at=new.created_at,
                    version=1,
                )
                .returning(po.c.id)
            ).scalar_one()
        )
        self._conn.execute(update(po).where(po.c.id == po_id).values(number=f"PO-{po_id:06d}"))
        self._conn.execute(
            insert(ln),
            [
                {
                    "purchase_order_id": po_id,
                    "product_id": x.product_id,
                    "quantity": x.quantity,
                    "unit_cost": x.unit_cost,
                    "received_qty": 0,
                    "rejected_qty": 0,
                }
                for x in new.lines
            ],
        )
        return po_id

    def get(self, po_id: int) -> PurchaseOrder | None:
        row = self._conn.execute(select(po).where(po.c.id == po_id)).first()
        if row is None:
            return None
        lines = tuple(
            POLine(r.id, r.sku, r.quantity, r.received_qty, r.rejected_qty)
            for r in self._conn.execute(_LINES, {"po": po_id})
        )
        return PurchaseOrder(
            id=row.id,
            number=row.number,
            status=POStatus(row.status),
            original_promised_date=row.original_promised_date,
            promised_date=row.promised_date,
            version=row.version,
            warehouse_id=row.warehouse_id,
            lines=lines,
            sent_at=row.sent_at,
            confirmed_at=row.confirmed_at,
        )

    def save(self, order: PurchaseOrder) -> bool:
        changed = self._conn.execute(
            update(po)
            .where((po.c.id == order.id) & (po.c.version == order.version))
            .values(
                status=order.status.value,
                promised_date=order.promised_date,
                sent_at=order.sent_at,
                confirmed_at=order.confirmed_at,
                version=order.version + 1,
            )
        )
        if changed.rowcount != 1:
            return False
        order.version += 1
        return True

    def claim_for_receipt(self, po_id: int, statuses: frozenset[POStatus]) -> bool:
        claimed = self._conn.execute(
            update(po)
            .where((po.c.id == po_id) & po.c.status.in_([s.value for s in statuses]))
            .values(version=po.c.version + 1)
        )
        return claimed.rowcount == 1

    def receive_line(self, line_id: int, *, accepted: int, rejected: int, limit: int) -> POLine | None:
        row = self._conn.execute(
            _RECEIVE_LINE, {"line": line_id, "a": accepted, "r": rejected, "limit": limit}
        ).first()
        if row is None:
            return None
        return POLine(row.id, "", row.quantity, row.received_qty, row.rejected_qty)

    def add_receipt(
        self,
        po_id: int,
        line_id: int,
        *,
        accepted: int,
        rejected: int,
        reason: str | None,
        note: str,
        at: datetime,
        actor: str,
    ) -> None:
        self._conn.execute(
            insert(rc).values(
                purchase_order_id=po_id,
                line_id=line_id,
                accepted_qty=accepted,
                rejected_qty=rejected,
                reason=reason,
                note=note[:500],
                received_at=at,
                actor=actor[:100],
            )
        )

    def set_status(self, po_id: int, status: POStatus) -> None:
        self._conn.execute(update(po).where(po.c.id == po_id).values(status=status.value))

    def add_events(self, po_id: int, events: Sequence[POEvent], *, at: datetime, actor: str) -> None:
        if events:
            self._conn.execute(
                insert(ev),
                [
                    {
                        "purchase_order_id": po_id,
                        "type": e.type,
                        "occurred_at": at,
                        "actor": actor[:100],
                        "data": e.data,
                    }
                    for e in events
                ],
            )

    def summaries(
        self,
        *,
        status: str | None,
        supplier: str | None,
        after_id: int | None,
        limit: int,
        offset: int = 0,
    ) -> list[POSummary]:
        stmt = _SUMMARIES.order_by(po.c.id.desc()).offset(offset).limit(limit)
        if status is not None:
            stmt = stmt.where(po.c.status == status)
        if supplier is not None:
            stmt = stmt.where(su.c.code == supplier)
        if after_id is not None:
            stmt = stmt.where(po.c.id < after_id)
        return [_summary(r) for r in self._conn.execute(stmt)]

    def detail(self, po_id: int) -> PODetail | None:
        row = self._conn.execute(_SUMMARIES.where(po.c.id == po_id)).first()
        if row is None:
            return None
        lines = tuple(
            POLineView(r.id, r.sku, r.quantity, r.unit_cost, r.received_qty, r.rejected_qty)
            for r in self._conn.execute(_LINES, {"po": po_id})
        )
        receipts = tuple(
            POReceiptView(
                r.id, r.sku, r.accepted_qty, r.rejected_qty, r.reason, r.note, r.received_at, r.actor
            )
            for r in self._conn.execute(
                select(rc, p.c.sku)
                .join(ln, ln.c.id == rc.c.line_id)
                .join(p, p.c.id == ln.c.product_id)
                .where(rc.c.purchase_order_id == po_id)
                .order_by(rc.c.id)
            )
        )
        timeline = tuple(
            EventView(r.id, r.type, r.occurred_at, r.actor, r.data)
            for r in self._conn.execute(select(ev).where(ev.c.purchase_order_id == po_id).order_by(ev.c.id))
        )
        return PODetail(_summary(row), lines, receipts, timeline)


_totals = (
    select(
        ln.c.purchase_order_id,
        func.count().label("lines"),
        func.sum(ln.c.quantity).label("ordered"),
        func.sum(ln.c.received_qty).label("received"),
        func.sum(ln.c.rejected_qty).label("rejected"),
        # Read back through ExactDecimal: on SQLite the sum is of its 1/10000ths integers.
        type_coerce(func.sum(ln.c.quantity * ln.c.unit_cost), ExactDecimal()).label("value"),
    )
    .group_by(ln.c.purchase_order_id)
    .subquery()
)
_SUMMARIES = (
    select(
        po,
        su.c.code.label("supplier_code"),
        w.c.code.label("warehouse_code"),
        _totals.c.lines,
        _totals.c.ordered,
        _totals.c.received,
        _totals.c.rejected,
        _totals.c.value,
    )
    .join(su, su.c.id == po.c.supplier_id)
    .join(w, w.c.id == po.c.warehouse_id)
    .join(_totals, _totals.c.purchase_order_id == po.c.id)
)


def _summary(r: Any) -> POSummary:
    return POSummary(
        id=r.id,
        number=r.number,
        supplier=r.supplier_code,
        warehouse=r.warehouse_code,
        status=r.status,
        currency=r.currency,
        original_promised_date=r.original_promised_date,
        promised_date=r.promised_date,
        created_at=r.created_at,
        sent_at=r.sent_at,
        confirmed_at=r.confirmed_at,
        lines=int(r.lines),
        ordered=int(r.ordered),
        received=int(r.received),
        rejected=int(r.rejected),
        value=r.value if r.value is not None else Decimal(0),
    )


def _supplier(r: Any) -> SupplierView:
    return SupplierView(
        r.id, r.code, r.name, r.lead_time_days, r.working_days, r.contact_email, r.contact_phone
    )


def _supplier_product(r: Any) -> SupplierProductView:
    return SupplierProductView(
        r.code, r.sku, r.supplier_sku, r.unit_cost, r.currency, r.pack_size, r.min_order_qty
    )
