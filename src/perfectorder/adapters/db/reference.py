"""A short-lived cache of the set-up every capture reads (warehouses, services, holidays, the
lanes' learned transit times)."""

from __future__ import annotations

import threading
import time
from datetime import time as clock_time

from sqlalchemy import Connection, select

from perfectorder.adapters.db import tables as t
from perfectorder.domain.catalog import ShippingService, Warehouse
from perfectorder.domain.promise import WorkCalendar
from perfectorder.domain.transit import Lane, LaneTransit
from perfectorder.services.ports import ReferenceData


class ReferenceCache:
    """Shared by all units of work of one engine. Changes made through this process invalidate it at
    once; changes made by another process show within `ttl_seconds`."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._data: ReferenceData | None = None
        self._loaded_at = 0.0
        self._generation = 0

    def get(self, conn: Connection) -> ReferenceData:
        with self._lock:
            if self._data is not None and time.monotonic() - self._loaded_at < self._ttl:
                return self._data
            generation = self._generation
        data = load_reference(conn)
        with self._lock:
            # Only keep what we read if nobody invalidated the cache while we were reading.
            if generation == self._generation:
                self._data, self._loaded_at = data, time.monotonic()
        return data

    def invalidate(self) -> None:
        with self._lock:
            self._data = None
            self._generation += 1


def load_reference(conn: Connection) -> ReferenceData:
    warehouses = tuple(
        Warehouse(
            id=row.id,
            code=row.code,
            timezone=row.timezone,
            handling_days=row.handling_days,
            cutoff=clock_time.fromisoformat(row.cutoff),
            priority=row.priority,
            daily_capacity=row.daily_capacity,
        )
        for row in conn.execute(select(t.warehouses).where(t.warehouses.c.active).order_by(t.warehouses.c.id))
    )
    services = {
        row.code: ShippingService(row.code, row.carrier, row.transit_days)
        for row in conn.execute(select(t.shipping_services).where(t.shipping_services.c.active))
    }
    holidays = frozenset(row.day for row in conn.execute(select(t.holidays.c.day)))
    lanes = {
        (lane := Lane(row.service, row.warehouse_id, row.region)): LaneTransit(
            lane, row.parcels, row.p50, row.p90, row.p95, row.gap_p95_hours
        )
        for row in conn.execute(select(t.lane_transit_times))
    }
    return ReferenceData(warehouses, services, WorkCalendar(holidays=holidays), lanes)
