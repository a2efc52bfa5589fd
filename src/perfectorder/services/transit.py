"""Transit times learned from delivered parcels, and how well promises matched what happened.

`learn_transit_times` is a job (the worker daily, `perfectorder transit learn`, the simulator when
its scenario learns): it replaces every lane's quantiles with those of the parcels delivered in the
rolling window. Placing reads them from the reference data (domain.transit.choose_transit)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.orders import OrderStatus
from perfectorder.domain.transit import (
    Lane,
    LaneTransit,
    ParcelEta,
    learn,
    longest_gap_hours,
    parcel_eta,
    region,
    signed_working_days,
    transit_working_days,
)
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.fulfilment_ports import ShipmentRecord
from perfectorder.services.lifecycle import visible_order
from perfectorder.services.ports import ReferenceData, UnitOfWork
from perfectorder.services.transit_ports import DeliveredParcel
from perfectorder.services.views import OrderView

MAX_ACCURACY_DAYS = 366
LEARN_EVERY = timedelta(hours=24)
# Statuses with something not yet handed to a carrier: the promise still stands for that part.
UNSHIPPED = frozenset(OrderStatus) - {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}


def lane_of(parcel: DeliveredParcel, postal_prefix: int) -> Lane:
    destination = region(parcel.country, parcel.postal_code, postal_prefix)
    return Lane(parcel.service, parcel.warehouse_id, destination)


def learn_transit_times(ctx: ServiceContext) -> list[LaneTransit]:
    """Every lane's P50/P90/P95 over the parcels delivered in the window ending now."""
    terms = ctx.transit
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> list[LaneTransit]:
        calendar = uow.warehouses.reference().calendar
        parcels = uow.transit.delivered(now - timedelta(days=terms.window_days), now)
        scans = uow.transit.scans([p.shipment_id for p in parcels])
        observed = (
            (lane_of(p, terms.postal_prefix), days)
            for p in parcels
            if (days := transit_working_days(_day(p.shipped_at), _day(p.delivered_at), calendar)) is not None
        )

        def silence(p: DeliveredParcel) -> float:
            scanned = (s.occurred_at for s in scans[p.shipment_id])
            return longest_gap_hours(p.shipped_at, scanned, p.delivered_at)

        gaps = ((lane_of(p, terms.postal_prefix), silence(p)) for p in parcels)
        learned = learn(observed, terms.min_parcels, gaps)
        uow.transit.replace_learned(learned, at=now)
        return learned

    return run_transaction(ctx, work)


@dataclass(frozen=True, slots=True)
class LaneAccuracy:
    lane: Lane
    carrier: str
    parcels: int
    on_time: int
    # Working days from promise to delivery -> parcels: negative early, 0 on the day, positive late.
    offsets: dict[int, int]
    # Transit the parcels actually took (working days) -> parcels.
    transit: dict[int, int]
    bases: dict[str, int]  # what their promises counted on: "configured", "p90", ... -> parcels
    configured_days: int | None
    learned: LaneTransit | None

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.parcels if self.parcels else 0.0


def promise_accuracy(ctx: ServiceContext, start: date, end: date) -> list[LaneAccuracy]:
    """Per lane, the parcels delivered from `start` to `end`: promised against actual, early and
    late in working days, beside the lane's configured and learned transit."""
    if end < start or (end - start).days >= MAX_ACCURACY_DAYS:
        raise InvalidInput(
            "invalid_period", f"use a period of 1 to {MAX_ACCURACY_DAYS} days, from before to", field="from"
        )
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)

    def work(uow: UnitOfWork) -> tuple[list[DeliveredParcel], ReferenceData]:
        return uow.transit.delivered(since, until), uow.warehouses.reference()

    parcels, reference = read(ctx, work)
    calendar = reference.calendar
    by_lane: dict[Lane, list[DeliveredParcel]] = defaultdict(list)
    for p in parcels:
        by_lane[lane_of(p, ctx.transit.postal_prefix)].append(p)
    found = []
    for lane, group in sorted(by_lane.items()):
        offsets: Counter[int] = Counter()
        transit: Counter[int] = Counter()
        for p in group:
            offsets[signed_working_days(p.promised_date, _day(p.delivered_at), calendar)] += 1
            days = transit_working_days(_day(p.shipped_at), _day(p.delivered_at), calendar)
            if days is not None:
                transit[days] += 1
        service = reference.services.get(lane.service)
        found.append(
            LaneAccuracy(
                lane,
                group[0].carrier,
                len(group),
                sum(n for offset, n in offsets.items() if offset <= 0),
                dict(sorted(offsets.items())),
                dict(sorted(transit.items())),
                dict(Counter(p.transit_basis or "unrecorded" for p in group)),
                service.transit_days if service else None,
                reference.lanes.get(lane),
            )
        )
    return found


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def learned_at(ctx: ServiceContext) -> datetime | None:
    return read(ctx, lambda uow: uow.transit.learned_at())


def learn_if_due(ctx: ServiceContext, every: timedelta = LEARN_EVERY) -> list[LaneTransit] | None:
    """Learns when the last learning is older than `every` (the worker asks at each refresh)."""
    last = learned_at(ctx)
    if last is not None and ctx.clock.now() - last < every:
        return None
    return learn_transit_times(ctx)


def learned_lanes(ctx: ServiceContext) -> list[LaneTransit]:
    return sorted(read(ctx, lambda uow: uow.warehouses.reference().lanes).values(), key=lambda x: x.lane)


@dataclass(frozen=True, slots=True)
class TrackedParcel:
    shipment: ShipmentRecord
    lane: Lane
    eta: ParcelEta


@dataclass(frozen=True, slots=True)
class OrderEta:
    order_id: int
    promised: date
    # When the whole order should have arrived now (None: nothing left to arrive, or only lost
    # parcels), and on what: the latest parcel's basis, or "promise" while something is unshipped.
    expected: date | None
    basis: str | None
    stalled: bool
    parcels: tuple[TrackedParcel, ...]


def order_eta(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> OrderEta:
    """The order's live ETA and each parcel's, with their bases and stalled tracking flagged."""

    def work(uow: UnitOfWork) -> OrderEta:
        visible_order(uow, order_id, caller)
        order = uow.orders.get(order_id)
        assert order is not None  # just seen
        return eta_of(uow, ctx, order)

    return read(ctx, work)


def eta_of(uow: UnitOfWork, ctx: ServiceContext, order: OrderView) -> OrderEta:
    """Inside a caller's transaction (the status page reads it beside the rest of the order)."""
    now = ctx.clock.now()
    reference = uow.warehouses.reference()
    shipments = uow.fulfilment.shipments(order.id)
    scans = uow.transit.scans([s.id for s in shipments])
    address = order.shipping_address
    destination = region(address.country, address.postal_code, ctx.transit.postal_prefix)
    parcels = []
    for s in shipments:
        lane = Lane(s.service, s.warehouse_id, destination)
        service = reference.services.get(s.service)
        eta = parcel_eta(
            s.shipped_at,
            s.delivered_at,
            scans[s.id],
            learned=reference.lanes.get(lane),
            configured_days=service.transit_days if service else 0,
            now=now,
            calendar=reference.calendar,
        )
        parcels.append(TrackedParcel(s, lane, eta))
    waiting = [(p.eta.on, p.eta.basis) for p in parcels if p.eta.on and p.eta.basis != "delivered"]
    if order.status in UNSHIPPED:
        waiting.append((order.rescheduled_date or order.promised_date, "promise"))
    latest = max(waiting, default=None)
    return OrderEta(
        order.id,
        order.promised_date,
        latest[0] if latest else None,
        latest[1] if latest else None,
        any(p.eta.stalled for p in parcels),
        tuple(parcels),
    )
