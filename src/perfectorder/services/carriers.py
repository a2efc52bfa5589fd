"""The carrier scorecard: how each carrier, service and lane did with the parcels handed to it in
a period, and week by week or month by month (domain.scorecard says what each figure means)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.scorecard import ParcelOutcome, Scorecard, scorecard
from perfectorder.domain.transit import WorkdayIndex, region
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.ports import ReferenceData, UnitOfWork
from perfectorder.services.transit_ports import ShippedParcel
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

    def work(uow: UnitOfWork) -> tuple[list[ShippedParcel], ReferenceData]:
        return uow.transit.shipped(since, until), uow.warehouses.reference()

    parcels, reference = read(ctx, work)
    last = max((p.delivered_at.astimezone(UTC).date() for p in parcels if p.delivered_at), default=end)
    index = WorkdayIndex(reference.calendar, start, max(last, end))
    prefix = ctx.transit.postal_prefix

    def outcome(p: ShippedParcel) -> ParcelOutcome:
        shipped_on = p.shipped_at.astimezone(UTC).date()
        delivered_on = p.delivered_at.astimezone(UTC).date() if p.delivered_at else None
        service = reference.services.get(p.service)
        configured = service.transit_days if service else None
        promised = p.transit_days if p.transit_days is not None else configured
        first_scan = (p.first_scan_at - p.shipped_at).total_seconds() / 3600 if p.first_scan_at else None
        return ParcelOutcome(
            carrier=p.carrier,
            service=p.service,
            warehouse_id=p.warehouse_id,
            region=region(p.country, p.postal_code, prefix),
            shipped_on=shipped_on,
            delivered=delivered_on is not None,
            transit_days=index.transit(shipped_on, delivered_on) if delivered_on else None,
            promised_transit=promised,
            damaged=p.damaged,
            lost=p.lost,
            claimed=p.claimed,
            first_scan_hours=first_scan,
        )

    return scorecard((outcome(p) for p in parcels), lambda day: period_start(day, granularity))
