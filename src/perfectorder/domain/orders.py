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


S = OrderStatus
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.RECEIVED: frozenset({S.APPROVED, S.ON_HOLD, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.APPROVED, S.ON_HOLD, S.CANCELLED}),
    S.APPROVED: frozenset({S.ON_HOLD, S.PICKING, S.CANCELLED}),
    S.PICKING: frozenset({S.PICKED, S.CANCELLED}),
    S.PICKED: frozenset({S.PACKED, S.CANCELLED}),
    S.PACKED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Stock is still only reserved (not yet on a pick list) in these states, so cancelling releases it.
RESERVED_ONLY = frozenset({S.RECEIVED, S.ON_HOLD, S.APPROVED})
OPEN_STATUSES = frozenset(set(OrderStatus) - {S.DELIVERED, S.CANCELLED})


def check_transition(current: OrderStatus, target: OrderStatus, action: str) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current.value, action)


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
    CANCELLED = "order.cancelled"


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
