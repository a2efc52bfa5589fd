"""The order's life: statuses, the transitions allowed between them, holds and timeline events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from perfectorder.domain.errors import InvalidTransition
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod, PaymentStatus


class OrderStatus(enum.StrEnum):
    RECEIVED = "received"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class HoldReason(enum.StrEnum):
    PAYMENT = "payment"
    CREDIT = "credit"
    RISK = "risk"
    STOCK = "stock"
    MANUAL = "manual"


class Action(enum.StrEnum):
    """What can happen to an order; the table below says from which status and to which."""

    APPROVE = "approve"
    HOLD = "hold"
    RELEASE_HOLD = "release_hold"
    RELEASE_TO_PICKING = "release_to_picking"
    FINISH_PICKING = "finish_picking"
    PACK = "pack"
    SHIP_PART = "ship_part"
    SHIP_ALL = "ship_all"
    CANCEL_REMAINDER = "cancel_remainder"
    DELIVER = "deliver"
    CANCEL = "cancel"


S, A = OrderStatus, Action
# The one transition table of the order cycle. `docs/order-cycle.md` is generated from it.
TRANSITIONS: dict[tuple[OrderStatus, Action], OrderStatus] = {
    (S.RECEIVED, A.APPROVE): S.APPROVED,
    (S.RECEIVED, A.HOLD): S.ON_HOLD,
    (S.RECEIVED, A.CANCEL): S.CANCELLED,
    (S.ON_HOLD, A.HOLD): S.ON_HOLD,
    (S.ON_HOLD, A.RELEASE_HOLD): S.APPROVED,
    (S.ON_HOLD, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.HOLD): S.ON_HOLD,
    (S.APPROVED, A.RELEASE_TO_PICKING): S.PICKING,
    (S.APPROVED, A.CANCEL): S.CANCELLED,
    (S.PICKING, A.FINISH_PICKING): S.PICKED,
    (S.PICKING, A.CANCEL): S.CANCELLED,
    (S.PICKED, A.PACK): S.PACKED,
    (S.PICKED, A.CANCEL): S.CANCELLED,
    (S.PACKED, A.SHIP_PART): S.PARTIALLY_SHIPPED,
    (S.PACKED, A.SHIP_ALL): S.SHIPPED,
    (S.PACKED, A.CANCEL): S.CANCELLED,
    # Backordered units arrive later and go round the cycle again.
    (S.PARTIALLY_SHIPPED, A.RELEASE_TO_PICKING): S.PICKING,
    (S.PARTIALLY_SHIPPED, A.SHIP_PART): S.PARTIALLY_SHIPPED,
    (S.PARTIALLY_SHIPPED, A.SHIP_ALL): S.SHIPPED,
    (S.PARTIALLY_SHIPPED, A.CANCEL_REMAINDER): S.SHIPPED,
    (S.SHIPPED, A.DELIVER): S.DELIVERED,
}

# Stock is still only reserved (not yet on a pick list) in these states, so cancelling releases it.
RESERVED_ONLY = frozenset({S.RECEIVED, S.ON_HOLD, S.APPROVED})
OPEN_STATUSES = frozenset(set(OrderStatus) - {S.DELIVERED, S.CANCELLED})


def next_status(current: OrderStatus, action: Action) -> OrderStatus:
    """The status after `action`, or InvalidTransition naming the current status."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise InvalidTransition(current.value, action.value)
    return target


class EventType(enum.StrEnum):
    PLACED = "order.placed"
    VERIFIED = "order.verified"
    RESERVED = "order.stock_reserved"
    BACKORDERED = "order.backordered"
    PROMISED = "order.promised"
    APPROVED = "order.approved"
    HELD = "order.held"
    HOLD_RELEASED = "order.hold_released"
    RESCHEDULED = "order.rescheduled"
    ADDRESS_CHANGED = "order.address_changed"
    CANCELLED = "order.cancelled"
    CANCELLED_AFTER_SHIPPING = "order.cancel_became_return"
    LINE_CANCELLED = "order.line_cancelled"
    RELEASED_TO_PICKING = "order.released_to_picking"
    PICKING_ERROR = "order.picking_error"
    SHORT_PICKED = "order.short_picked"
    RESOURCED = "order.resourced"
    PICKED = "order.picked"
    PACKED = "order.packed"
    PACKING_MISMATCH = "order.packing_mismatch"
    SHIPPED = "order.shipped"
    PARTIALLY_SHIPPED = "order.partially_shipped"
    BACKORDER_ALLOCATED = "order.backorder_allocated"
    CARRIER_EVENT = "shipment.carrier_event"
    CLAIM_OPENED = "order.claim_opened"
    RESHIPPED = "order.reshipped"
    DELIVERED = "order.delivered"
    DELAYED = "order.delayed"
    FEEDBACK = "order.feedback"
    RETURN_AUTHORIZED = "order.return_authorized"
    RETURN_RECEIVED = "order.return_received"
    CAPTURED = "payment.captured"
    INVOICED = "payment.invoiced"
    SETTLED = "payment.settled"
    REFUNDED = "payment.refunded"


@dataclass(frozen=True, slots=True)
class AddressInput:
    """An address as the caller sent it: any part may be missing; verification says which."""

    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerInput:
    id: int | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PaymentInput:
    method: PaymentMethod
    status: PaymentStatus = PaymentStatus.PENDING
    authorized_amount: Decimal | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """The command every entry point (API, import, simulator) builds to place an order."""

    channel: Channel
    external_ref: str
    currency: str
    lines: tuple[LineInput, ...]
    customer: CustomerInput | None = None
    shipping_address: AddressInput | None = None
    payment: PaymentInput | None = None
    requested_delivery_date: date | None = None
    backorder_policy: BackorderPolicy = BackorderPolicy.REJECT
    shipping_service: str = "standard"
    note: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    reason: HoldReason
    note: str


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    type: EventType
    data: dict[str, object] = field(default_factory=dict)
