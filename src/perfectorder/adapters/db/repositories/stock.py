"""Stock rows change only through guarded single statements; the CHECK constraints back them up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import upsert
from perfectorder.services.ports import InventoryFlow, Movement
from perfectorder.services.views import MovementView, StockView

s = t.stock
_KEY = (s.c.product_id == bindparam("p")) & (s.c.warehouse_id == bindparam("w"))
# The guard is the whole point: the row changes only if the units are there at the moment of writing.
_RESERVE = (
    update(s)
    .where(_KEY & (s.c.on_hand - s.c.reserved >= bindparam("q")))
    .values(reserved=s.c.reserved + bindparam("q"))
)
_RELEASE = (
    update(s).where(_KEY & (s.c.reserved >= bindparam("q"))).values(reserved=s.c.reserved - bindparam("q"))
)
_REMOVE = (
    update(s)
    .where(_KEY & (s.c.on_hand + bindparam("d") >= s.c.reserved))
    .values(on_hand=s.c.on_hand + bindparam("d"))
)
# Reserved units leave the shelf: both counters drop together.
_TAKE_RESERVED = (
    update(s)
    .where(_KEY & (s.c.reserved >= bindparam("q")) & (s.c.on_hand >= bindparam("q")))
    .values(on_hand=s.c.on_hand - bindparam("q"), reserved=s.c.reserved - bindparam("q"))
)
_AVAILABLE = select(s.c.product_id, s.c.warehouse_id, (s.c.on_hand - s.c.reserved).label("available")).where(
    s.c.product_id.in_(bindparam("ids", expanding=True))
)
_RECORD = insert(t.stock_movements)


def _receive(conn: Connection) -> Any:
    stmt = upsert(conn, s).values(
        product_id=bindparam("p"), warehouse_id=bindparam("w"), on_hand=bindparam("q"), reserved=0
    )
    return stmt.on_conflict_do_update(
        index_elements=[s.c.product_id, s.c.warehouse_id],
        set_={"on_hand": s.c.on_hand + stmt.excluded.on_hand},
    )


def _book_capacity(conn: Connection) -> Any:
    c = t.shipping_capacity
    stmt = upsert(conn, c).values(
        warehouse_id=bindparam("w"), ship_date=bindparam("day"), booked=1, capacity=bindparam("cap")
    )
    return stmt.on_conflict_do_update(
        index_elements=[c.c.warehouse_id, c.c.ship_date],
        set_={"booked": c.c.booked + 1, "capacity": stmt.excluded.capacity},
        where=c.c.booked < stmt.excluded.capacity,
    ).returning(c.c.booked)


# Built once per dialect, executed with parameters (see PerDialect).
_RECEIVE = PerDialect(_receive)
_BOOK_CAPACITY = PerDialect(_book_capacity)
_LEVELS = select(
    t.products.c.sku, t.warehouses.c.code, s.c.on_hand, s.c.reserved, s.c.bin_location
).select_from(s.join(t.products).join(t.warehouses))
_LEVEL = _LEVELS.where((s.c.product_id == bindparam("p")) & (s.c.warehouse_id == bindparam("w")))


class SqlStockRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def flow(self, start: datetime, end: datetime) -> InventoryFlow:
        products, stock, stock_movements = t.products, t.stock, t.stock_movements
        cost = func.coalesce(products.c.unit_cost, products.c.price)
        per_product = {
            r.id: (r.cost, int(r.on_hand or 0))
            for r in self._conn.execute(
                select(products.c.id, cost.label("cost"), func.sum(stock.c.on_hand).label("on_hand"))
                .join(stock, stock.c.product_id == products.c.id)
                .group_by(products.c.id, cost)
            )
        }
        # On hand at a moment = on hand now minus every movement since then. One pass over the
        # ledger since `start` gives both moments and the period's picks.
        sm = stock_movements
        delta = sm.c.on_hand_delta
        since: dict[str, dict[int, int]] = {"start": {}, "end": {}}
        out_units: dict[int, int] = {}
        for r in self._conn.execute(
            select(
                sm.c.product_id,
                func.sum(delta).label("since_start"),
                func.sum(case((sm.c.created_at >= end, delta), else_=0)).label("since_end"),
                func.sum(case((and_(sm.c.movement == "pick", sm.c.created_at < end), delta), else_=0)).label(
                    "picked"
                ),
            )
            .where(sm.c.created_at >= start)
            .group_by(sm.c.product_id)
        ):
            since["start"][r.product_id] = int(r.since_start or 0)
            since["end"][r.product_id] = int(r.since_end or 0)
            if r.picked:
                out_units[r.product_id] = -int(r.picked)

        def at(name: str) -> tuple[int, Decimal]:
            units, value = 0, Decimal(0)
            for pid, (unit_cost, now) in per_product.items():
                then = max(now - since[name].get(pid, 0), 0)
                units += then
                value += then * unit_cost
            return units, value

        units_start, value_start = at("start")
        units_end, value_end = at("end")
        return InventoryFlow(
            units_out=sum(out_units.values()),
            value_out=sum(
                (u * per_product.get(pid, (Decimal(0), 0))[0] for pid, u in out_units.items()), Decimal(0)
            ),
            units_start=units_start,
            value_start=value_start,
            units_end=units_end,
            value_end=value_end,
            units_now=sum(now for _, now in per_product.values()),
        )

    def available(self, product_ids: Sequence[int]) -> dict[tuple[int, int], int]:
        rows = self._conn.execute(_AVAILABLE, {"ids": list(product_ids)})
        return {(r.product_id, r.warehouse_id): r.available for r in rows}

    def reserve(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        return self._conn.execute(_RESERVE, {"p": product_id, "w": warehouse_id, "q": quantity}).rowcount == 1

    def release(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        return self._conn.execute(_RELEASE, {"p": product_id, "w": warehouse_id, "q": quantity}).rowcount == 1

    def take_reserved(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        """Picked (or found missing) units: on hand and reserved both drop by `quantity`."""
        return (
            self._conn.execute(_TAKE_RESERVED, {"p": product_id, "w": warehouse_id, "q": quantity}).rowcount
            == 1
        )

    def receive(self, product_id: int, warehouse_id: int, quantity: int) -> None:
        self._conn.execute(_RECEIVE(self._conn), {"p": product_id, "w": warehouse_id, "q": quantity})

    def adjust(self, product_id: int, warehouse_id: int, delta: int) -> bool:
        return self._conn.execute(_REMOVE, {"p": product_id, "w": warehouse_id, "d": delta}).rowcount == 1

    def level(self, product_id: int, warehouse_id: int) -> StockView | None:
        row = self._conn.execute(_LEVEL, {"p": product_id, "w": warehouse_id}).first()
        return _stock_view(row) if row is not None else None

    def levels(self, *, sku: str | None, warehouse: str | None, limit: int) -> list[StockView]:
        stmt = _LEVELS.order_by(t.products.c.sku, t.warehouses.c.code).limit(limit)
        if sku is not None:
            stmt = stmt.where(t.products.c.sku == sku)
        if warehouse is not None:
            stmt = stmt.where(t.warehouses.c.code == warehouse)
        return [_stock_view(row) for row in self._conn.execute(stmt)]

    def record(self, movements: Sequence[Movement]) -> None:
        if not movements:
            return
        self._conn.execute(
            _RECORD,
            [
                {
                    "product_id": m.product_id,
                    "warehouse_id": m.warehouse_id,
                    "movement": m.movement,
                    "on_hand_delta": m.on_hand_delta,
                    "reserved_delta": m.reserved_delta,
                    "order_id": m.order_id,
                    "purchase_order_id": m.purchase_order_id,
                    "reason": m.reason[:500],
                    "actor": m.actor[:100],
                    "created_at": m.created_at,
                }
                for m in movements
            ],
        )

    def movements(
        self, *, sku: str | None, warehouse: str | None, after_id: int | None, limit: int
    ) -> list[MovementView]:
        m = t.stock_movements
        stmt = (
            select(m, t.products.c.sku, t.warehouses.c.code)
            .select_from(m.join(t.products).join(t.warehouses))
            .order_by(m.c.id)
            .limit(limit)
        )
        if sku is not None:
            stmt = stmt.where(t.products.c.sku == sku)
        if warehouse is not None:
            stmt = stmt.where(t.warehouses.c.code == warehouse)
        if after_id is not None:
            stmt = stmt.where(m.c.id > after_id)
        return [
            MovementView(
                r.id,
                r.sku,
                r.code,
                r.movement,
                r.on_hand_delta,
                r.reserved_delta,
                r.order_id,
                r.reason,
                r.actor,
                r.created_at,
            )
            for r in self._conn.execute(stmt)
        ]

    def book_capacity(self, warehouse_id: int, day: date, capacity: int) -> bool:
        params = {"w": warehouse_id, "day": day, "cap": capacity}
        return self._conn.execute(_BOOK_CAPACITY(self._conn), params).first() is not None

    def unbook_capacity(self, warehouse_id: int, day: date, quantity: int) -> None:
        c = t.shipping_capacity
        self._conn.execute(
            update(c)
            .where((c.c.warehouse_id == warehouse_id) & (c.c.ship_date == day) & (c.c.booked >= quantity))
            .values(booked=c.c.booked - quantity)
        )


def _stock_view(row: Any) -> StockView:
    return StockView(row.sku, row.code, row.on_hand, row.reserved, row.bin_location)
