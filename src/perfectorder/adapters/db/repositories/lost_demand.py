"""Order lines refused for lack of stock, and their sums per SKU."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, exists, func, select, type_coerce

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import upsert
from perfectorder.adapters.db.types import ExactDecimal
from perfectorder.domain.sourcing import LostLine
from perfectorder.services.lost_demand_ports import LostBySku

ld = t.lost_demand


class SqlLostDemandRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, channel: str, external_ref: str, lines: Sequence[LostLine], *, at: datetime) -> None:
        if not lines:
            return
        stmt = upsert(self._conn, ld)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ld.c.channel, ld.c.external_ref, ld.c.line_no],
            set_={
                name: stmt.excluded[name]
                for name in ("product_id", "warehouse_id", "requested", "available", "unit_price", "currency")
            }
            | {"refused_at": stmt.excluded.refused_at},
        )
        self._conn.execute(
            stmt,
            [
                {
                    "channel": channel,
                    "external_ref": external_ref,
                    "line_no": x.line_no,
                    "product_id": x.product_id,
                    "warehouse_id": x.warehouse_id,
                    "requested": x.requested,
                    "available": x.available,
                    "unit_price": x.unit_price.amount,
                    "currency": x.unit_price.currency,
                    "refused_at": at,
                }
                for x in lines
            ],
        )

    def summed(self, start: datetime, end: datetime) -> list[LostBySku]:
        o, p, w = t.orders, t.products, t.warehouses
        placed_later = exists().where(
            and_(o.c.channel == ld.c.channel, o.c.external_ref == ld.c.external_ref)
        )
        stmt = (
            select(
                p.c.sku,
                w.c.code,
                ld.c.currency,
                func.count().label("lines"),
                func.sum(ld.c.requested).label("units"),
                # Read back through ExactDecimal: on SQLite the sum is of its 1/10000ths integers.
                type_coerce(func.sum(ld.c.requested * ld.c.unit_price), ExactDecimal()).label("value"),
            )
            .join(p, p.c.id == ld.c.product_id)
            .join(w, w.c.id == ld.c.warehouse_id)
            .where(ld.c.refused_at >= start, ld.c.refused_at < end, ~placed_later)
            .group_by(p.c.sku, w.c.code, ld.c.currency)
            .order_by(func.sum(ld.c.requested).desc(), p.c.sku, w.c.code, ld.c.currency)
        )
        return [
            LostBySku(r.sku, r.code, r.currency, int(r.lines), int(r.units), r.value or Decimal(0))
            for r in self._conn.execute(stmt)
        ]

    def lines_ordered(self, start: datetime, end: datetime) -> int:
        o, ln = t.orders, t.order_lines
        return int(
            self._conn.execute(
                select(func.count())
                .select_from(ln.join(o, o.c.id == ln.c.order_id))
                .where(o.c.placed_at >= start, o.c.placed_at < end)
            ).scalar_one()
        )
