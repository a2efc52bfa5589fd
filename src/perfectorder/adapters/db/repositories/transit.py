"""Delivered parcels to learn from, and the learned transit times new promises read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, select, text

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.reference import ReferenceCache
from perfectorder.adapters.db.sql import mark_projection, utc_day
from perfectorder.domain.transit import LaneTransit, Scan
from perfectorder.services.transit_ports import DeliveredParcel, ShippedParcels

_s, _o = t.shipments, t.orders
_PROJECTION = "transit"


_MARK_LEARNED = PerDialect(mark_projection)


class SqlTransitRepository:
    def __init__(self, conn: Connection, cache: ReferenceCache, on_commit: list[Any]) -> None:
        self._conn = conn
        self._cache = cache
        self._on_commit = on_commit

    def delivered(self, since: datetime, until: datetime) -> list[DeliveredParcel]:
        stmt = (
            select(
                _s.c.id.label("shipment_id"),
                _s.c.order_id,
                _s.c.service,
                _s.c.carrier,
                _s.c.warehouse_id,
                _o.c.ship_country.label("country"),
                _o.c.ship_postal_code.label("postal_code"),
                _s.c.shipped_at,
                _s.c.delivered_at,
                _o.c.promised_date,
                _o.c.transit_days,
                _o.c.transit_basis,
            )
            .select_from(_s.join(_o, _o.c.id == _s.c.order_id))
            .where((_s.c.delivered_at >= since) & (_s.c.delivered_at < until))
            .order_by(_s.c.id)
        )
        return [DeliveredParcel(**row._mapping) for row in self._conn.execute(stmt)]

    def shipped(
        self, since: datetime, until: datetime, *, postal_prefix: int, scan_within_hours: float
    ) -> list[ShippedParcels]:
        cl = t.claims
        claims = select(cl.c.shipment_id, func.max(1).label("claimed")).group_by(cl.c.shipment_id).subquery()
        pg = self._conn.dialect.name == "postgresql"
        # The shipment row holds its destination, promised transit and scan facts: one table read
        # by the shipped_at index, parcels alike summed in the database.
        columns = (
            _s.c.carrier,
            _s.c.service,
            _s.c.warehouse_id,
            func.coalesce(_s.c.ship_country, "").label("country"),
            _prefix(_s.c.ship_postal_code, postal_prefix).label("postal_prefix"),
            utc_day(_s.c.shipped_at, pg).label("shipped_on"),
            utc_day(_s.c.delivered_at, pg).label("delivered_on"),
            _s.c.promised_transit.label("transit_days"),
            _s.c.damaged,
            _s.c.lost,
            func.coalesce(claims.c.claimed, 0).label("claimed"),
            case((_hours(_s.c.first_scan_at, _s.c.shipped_at, pg) <= scan_within_hours, 1), else_=0).label(
                "scanned_in_time"
            ),
        )
        stmt = (
            select(*columns, func.count().label("parcels"))
            .select_from(_s.outerjoin(claims, claims.c.shipment_id == _s.c.id))
            .where((_s.c.shipped_at >= since) & (_s.c.shipped_at < until))
            # By position: the output expressions, whatever a column of the same name inside means.
            .group_by(*(text(str(i)) for i in range(1, len(columns) + 1)))
        )
        flags = ("damaged", "lost", "claimed", "scanned_in_time")
        return [
            ShippedParcels(**{**row._mapping, **{f: bool(row._mapping[f]) for f in flags}})
            for row in self._conn.execute(stmt)
        ]

    def scans(self, shipment_ids: Sequence[int]) -> Mapping[int, list[Scan]]:
        found: dict[int, list[Scan]] = {i: [] for i in shipment_ids}
        ce = t.carrier_events
        for chunk in (shipment_ids[i : i + 5000] for i in range(0, len(shipment_ids), 5000)):
            stmt = select(ce.c.shipment_id, ce.c.occurred_at, ce.c.type, ce.c.estimated_delivery).where(
                ce.c.shipment_id.in_(list(chunk))
            )
            for r in self._conn.execute(stmt):
                found[r.shipment_id].append(Scan(r.occurred_at, r.type, r.estimated_delivery))
        return found

    def replace_learned(self, learned: Sequence[LaneTransit], *, at: datetime) -> None:
        self._conn.execute(delete(t.lane_transit_times))
        if learned:
            self._conn.execute(
                t.lane_transit_times.insert(),
                [
                    {
                        "service": x.lane.service,
                        "warehouse_id": x.lane.warehouse_id,
                        "region": x.lane.region,
                        "parcels": x.parcels,
                        "p50": x.p50,
                        "p90": x.p90,
                        "p95": x.p95,
                        "gap_p95_hours": x.gap_p95_hours,
                        "learned_at": at,
                    }
                    for x in learned
                ],
            )
        # When, even if no lane had enough parcels: the worker learns again a day after this.
        self._conn.execute(_MARK_LEARNED(self._conn), {"name": _PROJECTION, "refreshed_at": at})
        # New promises in this process read them at once; other processes within the cache's TTL.
        self._on_commit.append(self._cache.invalidate)

    def learned_at(self) -> datetime | None:
        pr = t.projection_refreshes
        stmt = select(pr.c.refreshed_at).where(pr.c.name == _PROJECTION)
        found: datetime | None = self._conn.execute(stmt).scalar_one_or_none()
        return found


def _hours(later: Any, earlier: Any, pg: bool) -> Any:
    if pg:
        return func.extract("epoch", later - earlier) / 3600
    return (func.julianday(later) - func.julianday(earlier)) * 24


def _prefix(postal_code: Any, characters: int) -> Any:
    """What domain.transit.region keeps of a postal code: no spaces, upper case, the first few."""
    return func.upper(func.substr(func.replace(func.coalesce(postal_code, ""), " ", ""), 1, characters))
