"""Stage 7: carrier events. A batch is idempotent by (carrier, event id): sent twice, applied once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.fulfilment import (
    CLAIM_EVENTS,
    PARCEL_LOSSES,
    SHIPMENT_STATUS_AFTER,
    CarrierEventType,
    Stage,
)
from perfectorder.domain.orders import EventType, OrderStatus
from perfectorder.domain.promise import delivery_date
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.delays import mark_at_risk
from perfectorder.services.fulfilment_ports import IssueRecord, ShipmentRecord
from perfectorder.services.lifecycle import event, load_order, save_order
from perfectorder.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CarrierEventInput:
    carrier: str
    event_id: str
    tracking_number: str
    type: CarrierEventType
    occurred_at: datetime
    detail: str = ""
    # The carrier's estimate of the delivery day, when the event carries one.
    estimated_delivery: date | None = None


@dataclass(frozen=True, slots=True)
class CarrierEventResult:
    event_id: str
    outcome: str  # applied | duplicate | unknown_tracking


def record_carrier_events(
    ctx: ServiceContext, events: Sequence[CarrierEventInput], *, caller: Principal = SYSTEM
) -> list[CarrierEventResult]:
    def work(uow: UnitOfWork) -> list[CarrierEventResult]:
        now = ctx.clock.now()
        # The batch's orders locked up front in id order, so two batches never wait in a cycle.
        shipments = [uow.fulfilment.shipment_by_tracking(n) for n in {e.tracking_number for e in events}]
        locked = {s.order_id for s in shipments if s is not None}
        for order_id in sorted(locked):
            uow.orders.state(order_id, lock=True)
        ordered = sorted(events, key=lambda e: e.occurred_at)
        return [_apply_one(uow, e, now, caller.actor, locked) for e in ordered]

    results = run_transaction(ctx, work)
    order = {e.event_id: i for i, e in enumerate(events)}
    return sorted(results, key=lambda r: order[r.event_id])


def _apply_one(
    uow: UnitOfWork, e: CarrierEventInput, now: datetime, actor: str, locked: set[int]
) -> CarrierEventResult:
    # Read under the order's lock: the shipment's status decides what this event does.
    shipment = uow.fulfilment.shipment_by_tracking(e.tracking_number)
    if shipment is not None and shipment.order_id not in locked:
        # Shipped since the batch's orders were locked: lock this one too, then read it again.
        uow.orders.state(shipment.order_id, lock=True)
        locked.add(shipment.order_id)
        shipment = uow.fulfilment.shipment_by_tracking(e.tracking_number)
    if shipment is None:
        return CarrierEventResult(e.event_id, "unknown_tracking")
    if not uow.fulfilment.add_carrier_event(
        carrier=e.carrier,
        event_id=e.event_id,
        shipment_id=shipment.id,
        type=e.type.value,
        occurred_at=e.occurred_at,
        detail=e.detail,
        received_at=now,
        estimated_delivery=e.estimated_delivery,
    ):
        return CarrierEventResult(e.event_id, "duplicate")
    delivered = e.occurred_at if e.type is CarrierEventType.DELIVERED else None
    # A late "in transit" must not undo a delivery.
    status = (
        shipment.status
        if shipment.status == "delivered" and delivered is None
        else SHIPMENT_STATUS_AFTER[e.type]
    )
    uow.fulfilment.set_shipment_status(shipment.id, status, delivered)
    event(
        uow,
        shipment.order_id,
        EventType.CARRIER_EVENT.value,
        now,
        actor,
        tracking_number=e.tracking_number,
        carrier=e.carrier,
        type=e.type.value,
        occurred_at=e.occurred_at.isoformat(),
        detail=e.detail,
    )
    if e.type in CLAIM_EVENTS:
        _open_claim(uow, shipment, e, now, actor)
    if e.type is CarrierEventType.DELAYED:
        calendar = uow.warehouses.reference().calendar
        new_date = delivery_date(calendar.next_working_day(e.occurred_at.date()), 1, calendar)
        mark_at_risk(
            uow,
            shipment.order_id,
            reason=f"carrier {e.carrier} reports a delay: {e.detail}".strip(": "),
            new_date=new_date,
            now=now,
            actor=actor,
        )
    if e.estimated_delivery is not None and delivered is None:
        # A later estimate is a slip (told again, at most daily); an earlier one changes nothing.
        mark_at_risk(
            uow,
            shipment.order_id,
            reason=f"{e.carrier} now expects to deliver on {e.estimated_delivery.isoformat()}",
            new_date=e.estimated_delivery,
            now=now,
            actor=actor,
            only_if_later=True,
        )
    if delivered is not None:
        deliver_if_complete(uow, shipment.order_id, now, actor)
    return CarrierEventResult(e.event_id, "applied")


def _open_claim(
    uow: UnitOfWork, shipment: ShipmentRecord, e: CarrierEventInput, now: datetime, actor: str
) -> None:
    claim_id = uow.fulfilment.add_claim(
        order_id=shipment.order_id, shipment_id=shipment.id, kind=e.type.value, at=now, note=e.detail
    )
    code = PARCEL_LOSSES.get(e.type, "damaged_in_transit")
    uow.fulfilment.add_issue(
        shipment.order_id,
        IssueRecord(
            CLAIM_EVENTS[e.type],
            Stage.SHIPPING,
            code,
            f"{e.carrier} {e.tracking_number}: {e.detail}".strip(),
            now,
        ),
    )
    event(
        uow,
        shipment.order_id,
        EventType.CLAIM_OPENED.value,
        now,
        actor,
        claim_id=claim_id,
        kind=e.type.value,
        tracking_number=e.tracking_number,
    )


def deliver_if_complete(uow: UnitOfWork, order_id: int, now: datetime, actor: str) -> None:
    shipments = uow.fulfilment.shipments(order_id)
    order = load_order(uow, order_id, SYSTEM)
    if order.status is not OrderStatus.SHIPPED or any(s.delivered_at is None for s in shipments):
        return
    delivered_at = max(s.delivered_at for s in shipments if s.delivered_at is not None)
    events = order.deliver(delivered_at, at=now)
    save_order(uow, order, events, at=now, actor=actor, why="delivered")
