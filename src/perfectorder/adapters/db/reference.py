"""A cache of the set-up every capture reads (warehouses, services, holidays, the lanes' learned
transit times), kept until the database says it changed."""

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
    once; changes made anywhere else (another process, an import, SQL by hand) raise the version the
    database keeps (migration 0029's triggers), which is compared at most every `check_seconds`:
    one primary-key read a second per process, against re-reading every warehouse, service, holiday
    and lane. `ttl_seconds` bounds the age of what is kept even so."""

    def __init__(self, ttl_seconds: float = 300.0, check_seconds: float = 1.0) -> None:
        self._ttl = ttl_seconds
        self._check = check_seconds
        self._lock = threading.Lock()
        self._data: ReferenceData | None = None
        self._version: int | None = None
        self._loaded_at = 0.0
        self._checked_at = 0.0
        self._generation = 0

    def get(self, conn: Connection) -> ReferenceData:
        now = time.monotonic()
        with self._lock:
            data, version, generation = self._data, self._version, self._generation
            if (
                data is not None
                and now - self._loaded_at < self._ttl
                and now - self._checked_at < self._check
            ):
                return data
        current = _version(conn)
        if data is not None and current == version and now - self._loaded_at < self._ttl:
            with self._lock:
                if generation == self._generation:
                    self._checked_at = now
            return data
        # The version is read before the data: a change committed in between is newer than the
        # version kept, so the next check reads the data again rather than keeping it stale.
        data = load_reference(conn)
        with self._lock:
            # Only keep what we read if nobody invalidated the cache while we were reading.
            if generation == self._generation:
                self._data, self._version = data, current
                self._loaded_at = self._checked_at = time.monotonic()
        return data

    def invalidate(self) -> None:
        with self._lock:
            self._data = None
            self._generation += 1


_VERSION = select(t.cache_versions.c.version).where(t.cache_versions.c.name == "reference")


def _version(conn: Connection) -> int | None:
    found: int | None = conn.execute(_VERSION).scalar_one_or_none()
    return found


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
