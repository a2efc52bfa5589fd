"""Products, warehouses, shipping services and holidays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.reference import ReferenceCache
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.domain.catalog import Product
from perfectorder.domain.values import FulfilmentMode, Money, in_minor_units
from perfectorder.services.ports import ProductSpec, ReferenceData, WarehouseSpec
from perfectorder.services.views import ProductView, ShippingServiceView, WarehouseView

_FOR_ORDER = select(
    t.products.c.id,
    t.products.c.sku,
    t.products.c.name,
    t.products.c.price,
    t.products.c.currency,
    t.products.c.active,
    t.products.c.fulfilment,
    t.products.c.production_days,
    t.products.c.lead_time_days,
).where(t.products.c.sku.in_(bindparam("skus", expanding=True)))


def product_view(row: Any) -> ProductView:
    return ProductView(
        id=row.id,
        sku=row.sku,
        name=row.name,
        category=row.category,
        price=row.price,
        currency=row.currency,
        weight_kg=row.weight_kg,
        unit_cost=row.unit_cost,
        active=row.active,
        fulfilment=row.fulfilment,
        production_days=row.production_days,
        lead_time_days=row.lead_time_days,
    )


_PRODUCT_BY_SKU = select(t.products).where(t.products.c.sku == bindparam("sku"))


class SqlProductRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, spec: ProductSpec, created_at: Any) -> ProductView | None:
        values = {
            "sku": spec.sku.strip(),
            "name": spec.name,
            "category": spec.category,
            "price": spec.price,
            "currency": spec.currency,
            "weight_kg": spec.weight_kg,
            "unit_cost": spec.unit_cost,
            "active": spec.active,
            "fulfilment": spec.fulfilment,
            "production_days": spec.production_days,
            "lead_time_days": spec.lead_time_days,
            "created_at": created_at,
        }
        stmt = insert_or_nothing(self._conn, t.products).values(**values).returning(*t.products.c)
        row = self._conn.execute(stmt).first()
        return product_view(row) if row is not None else None

    def for_order(self, skus: Sequence[str]) -> dict[str, Product]:
        rows = self._conn.execute(_FOR_ORDER, {"skus": list(skus)})
        return {
            row.sku: Product(
                id=row.id,
                sku=row.sku,
                name=row.name,
                price=Money(in_minor_units(row.price, row.currency), row.currency),
                active=row.active,
                fulfilment=FulfilmentMode(row.fulfilment),
                production_days=row.production_days,
                lead_time_days=row.lead_time_days,
            )
            for row in rows
        }

    def get(self, sku: str) -> ProductView | None:
        row = self._conn.execute(_PRODUCT_BY_SKU, {"sku": sku}).first()
        return product_view(row) if row is not None else None

    def page(self, *, after_id: int | None, limit: int) -> list[ProductView]:
        stmt = select(t.products).order_by(t.products.c.id).limit(limit)
        if after_id is not None:
            stmt = stmt.where(t.products.c.id > after_id)
        return [product_view(row) for row in self._conn.execute(stmt)]


def warehouse_view(row: Any) -> WarehouseView:
    return WarehouseView(
        id=row.id,
        code=row.code,
        name=row.name,
        timezone=row.timezone,
        handling_days=row.handling_days,
        cutoff=row.cutoff,
        priority=row.priority,
        daily_capacity=row.daily_capacity,
        active=row.active,
    )


class SqlWarehouseRepository:
    def __init__(self, conn: Connection, cache: ReferenceCache, on_commit: list[Any]) -> None:
        self._conn = conn
        self._cache = cache
        self._on_commit = on_commit

    def _changed(self) -> None:
        self._on_commit.append(self._cache.invalidate)

    def add(self, spec: WarehouseSpec) -> WarehouseView | None:
        stmt = (
            insert_or_nothing(self._conn, t.warehouses)
            .values(
                code=spec.code.strip(),
                name=spec.name,
                timezone=spec.timezone,
                handling_days=spec.handling_days,
                cutoff=spec.cutoff,
                priority=spec.priority,
                daily_capacity=spec.daily_capacity,
                active=True,
            )
            .returning(*t.warehouses.c)
        )
        row = self._conn.execute(stmt).first()
        if row is None:
            return None
        self._changed()
        return warehouse_view(row)

    def all(self) -> list[WarehouseView]:
        stmt = select(t.warehouses).order_by(t.warehouses.c.priority, t.warehouses.c.id)
        return [warehouse_view(row) for row in self._conn.execute(stmt)]

    def add_shipping_service(self, view: ShippingServiceView) -> bool:
        stmt = (
            insert_or_nothing(self._conn, t.shipping_services)
            .values(
                code=view.code,
                carrier=view.carrier,
                name=view.name,
                transit_days=view.transit_days,
                active=True,
            )
            .returning(t.shipping_services.c.code)
        )
        added = self._conn.execute(stmt).first() is not None
        if added:
            self._changed()
        return added

    def shipping_services(self) -> list[ShippingServiceView]:
        rows = self._conn.execute(select(t.shipping_services).order_by(t.shipping_services.c.code))
        return [ShippingServiceView(r.code, r.carrier, r.name, r.transit_days) for r in rows]

    def add_holiday(self, day: date, name: str) -> bool:
        stmt = (
            insert_or_nothing(self._conn, t.holidays).values(day=day, name=name).returning(t.holidays.c.day)
        )
        added = self._conn.execute(stmt).first() is not None
        if added:
            self._changed()
        return added

    def reference(self) -> ReferenceData:
        return self._cache.get(self._conn)
