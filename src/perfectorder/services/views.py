"""What the services hand back to entry points: plain frozen records, no database rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProductView:
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    weight_kg: Decimal
    unit_cost: Decimal | None
    active: bool
    fulfilment: str
    production_days: int
    lead_time_days: int


@dataclass(frozen=True, slots=True)
class WarehouseView:
    id: int
    code: str
    name: str
    timezone: str
    handling_days: int
    cutoff: str
    priority: int
    daily_capacity: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class ShippingServiceView:
    code: str
    carrier: str
    name: str
    transit_days: int


@dataclass(frozen=True, slots=True)
class StockView:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    bin_location: str

    @property
    def available(self) -> int:
        """Available to promise: what a new order could still reserve here."""
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class MovementView:
    id: int
    sku: str
    warehouse: str
    movement: str
    on_hand_delta: int
    reserved_delta: int
    order_id: int | None
    reason: str
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AddressView:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    timezone: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: int
    email: str
    name: str
    phone: str
    tier: str
    credit_limit: Decimal
    payment_terms_days: int
    created_at: datetime
    addresses: tuple[AddressView, ...] = ()
    on_time_basis: str | None = None  # None: the channel's terms
    grace_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    customer: CustomerView
    orders_count: int
    cancelled_count: int
    total_spent: dict[str, Decimal]
    open_balance: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None
    # Orders per 30 days between the first order and now; None before the second order.
    purchase_frequency_per_30d: float | None
    repeat_customer: bool


@dataclass(frozen=True, slots=True)
class AllocationView:
    warehouse: str
    quantity: int
    reserves_stock: bool
    status: str
    planned_ship_date: date


@dataclass(frozen=True, slots=True)
class LineView:
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    backordered_qty: int
    cancelled_qty: int
    allocations: tuple[AllocationView, ...]

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class HoldView:
    id: int
    reason: str
    note: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None
    released_by: str | None
    release_note: str | None


@dataclass(frozen=True, slots=True)
class PaymentView:
    method: str | None
    status: str | None
    authorized_amount: Decimal | None
    reference: str | None
    paid: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One movement of money for an order: capture, invoice, settlement or refund."""

    id: int
    order_id: int
    customer_id: int
    kind: str
    amount: Decimal
    currency: str
    method: str | None
    reference: str
    return_id: int | None
    occurred_at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: int
    channel: str
    external_ref: str
    customer_id: int
    status: str
    currency: str
    total: Decimal
    promised_date: date
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    channel: str
    external_ref: str
    customer_id: int
    status: str
    currency: str
    total: Decimal
    shipping_address: AddressView
    shipping_service: str
    backorder_policy: str
    requested_delivery_date: date | None
    promised_ship_date: date
    promised_date: date
    rescheduled_date: date | None
    reschedule_reason: str | None
    payment: PaymentView
    note: str
    placed_at: datetime
    approved_at: datetime | None
    cancelled_at: datetime | None
    lines: tuple[LineView, ...]
    holds: tuple[HoldView, ...]
    origin: str = "live"
    unmeasured: frozenset[str] = frozenset()
    transit_days: int | None = None  # the transit the promise counted, in working days
    transit_basis: str | None = None  # "configured" or the learned quantile ("p90")


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    type: str
    occurred_at: datetime
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone", "timezone")
_ZERO = Decimal(0)


def order_view(
    columns: Mapping[str, Any], lines: tuple[LineView, ...], holds: tuple[HoldView, ...]
) -> OrderView:
    """The one mapper from an order's stored columns to what API, dashboard and CLI show. The
    repository passes the row it read; placing passes what it has just written (columns a new order
    does not have yet fall back to their defaults), so both answers are built the same way."""
    return OrderView(
        id=columns["id"],
        channel=columns["channel"],
        external_ref=columns["external_ref"],
        customer_id=columns["customer_id"],
        status=columns["status"],
        currency=columns["currency"],
        total=columns["total"],
        shipping_address=AddressView(**{f: columns[f"ship_{f}"] or "" for f in ADDRESS_FIELDS}),
        shipping_service=columns["shipping_service"],
        backorder_policy=columns["backorder_policy"],
        requested_delivery_date=columns["requested_delivery_date"],
        promised_ship_date=columns["promised_ship_date"],
        promised_date=columns["promised_date"],
        rescheduled_date=columns.get("rescheduled_date"),
        reschedule_reason=columns.get("reschedule_reason"),
        payment=PaymentView(
            columns["payment_method"],
            columns["payment_status"],
            columns["payment_authorized"],
            columns["payment_reference"],
            columns.get("paid_amount", _ZERO),
            columns.get("invoiced_amount", _ZERO),
            columns.get("refunded_amount", _ZERO),
        ),
        note=columns["note"],
        placed_at=columns["placed_at"],
        approved_at=columns["approved_at"],
        cancelled_at=columns.get("cancelled_at"),
        lines=lines,
        holds=holds,
        origin=columns.get("origin", "live"),
        unmeasured=frozenset(c for c in columns.get("unmeasured", "").split(",") if c),
        transit_days=columns.get("transit_days"),
        transit_basis=columns.get("transit_basis"),
    )
