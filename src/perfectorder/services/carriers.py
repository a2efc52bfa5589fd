"""The carrier scorecard: how each carrier, service and lane did with the parcels handed to it in
a period, and week by week or month by month (domain.scorecard says what each figure means)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.scorecard import SCAN_WITHIN_HOURS, ParcelOutcome, Scorecard, scorecard
from perfectorder.domain.transit import WorkdayIndex, region
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.ports import ReferenceData, UnitOfWork
from perfectorder.services.transit_ports import ShippedParcels
from perfectorder.services.verdicts import period_start

MAX_SCORECARD_DAYS = 366
GRANULARITIES = ("week", "month")


def carrier_scorecard(ctx: ServiceContext, start: date, end: date, *, granularity: str = "week") -> Scorecard:
    """Parcels shipped from `start` to `end` (UTC days), per carrier, service and lane, and each
    carrier's figures per week or month of shipping."""
    if end < start or (end - start).days >= MAX_SCORECARD_DAYS:
        raise InvalidInput(
            "invalid_period", f"use a period of 1 to {MAX_SCORECARD_DAYS} days, from before to", field="from"
        )
    if granularity not in GRANULARITIES:
        raise InvalidInput("invalid_granularity", "use week or month", field="granularity")
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)

    def work(uow: UnitOfWork) -> tuple[list[ShippedParcels], ReferenceData]:
        found = uow.transit.shipped(
            since, until, postal_prefix=ctx.transit.postal_prefix, scan_within_hours=SCAN_WITHIN_HOURS
        )
        return found, uow.warehouses.reference()

    groups, reference = read(ctx, work)
    last = max((g.delivered_on for g in groups if g.delivered_on), default=end)
    index = WorkdayIndex(reference.calendar, start, max(last, end))
    prefix = ctx.transit.postal_prefix

    def outcome(g: ShippedParcels) -> ParcelOutcome:
        service = reference.services.get(g.service)
        configured = service.transit_days if service else None
        return ParcelOutcome(
            carrier=g.carrier,
            service=g.service,
            warehouse_id=g.warehouse_id,
            region=region(g.country, g.postal_prefix, prefix),
            shipped_on=g.shipped_on,
            delivered=g.delivered_on is not None,
            transit_days=index.transit(g.shipped_on, g.delivered_on) if g.delivered_on else None,
            promised_transit=g.transit_days if g.transit_days is not None else configured,
            damaged=g.damaged,
            lost=g.lost,
            claimed=g.claimed,
            scanned_in_time=g.scanned_in_time,
            count=g.parcels,
        )

    return scorecard((outcome(g) for g in groups), lambda day: period_start(day, granularity))
