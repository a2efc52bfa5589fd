"""Request and response bodies, one schema per direction (`*Create` in, `*Public` out).

Requests are typed but not judged here: business rules live in the domain, which names the field
and gives each failure its own code. The bounds below only keep absurd values away from storage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from perfectorder.api.rules import coded, stated
from perfectorder.domain.countries import ALIASES, ISO_COUNTRIES
from perfectorder.domain.orders import AddressInput, CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.promise import MAX_GRACE_MINUTES
from perfectorder.domain.text import bad_character, describe, text_message, text_pattern
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod, PaymentStatus
from perfectorder.services import views as v
from perfectorder.services.inventory import MAX_MOVEMENT


def money_text(amount: Decimal) -> str:
    """Amounts go out as strings with 2 to 4 decimals: exact, and readable as currency."""
    text = f"{amount.quantize(Decimal('0.0001')):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


Amount = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
AMOUNT = Field(default=None, ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=4)
MAX_INT = 2**31 - 1


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# Annotated markers for the few fields that are not one line of plain text.
MULTILINE = _Marker("MULTILINE")  # notes and comments: LF and TAB allowed, other control codes not
ANY_CHARACTERS = _Marker("ANY_CHARACTERS")  # secrets: hashed, never stored or shown as typed
MultiLineText = Annotated[str, MULTILINE]
Secret = Annotated[str, ANY_CHARACTERS]


class Stated:
    """A rule the domain checks with its own code, written into the text's schema: `non_blank` (at
    least one character that is not white space) or JSON Schema keywords such as format or enum."""

    def __init__(self, code: str, *, non_blank: bool = False, exact: bool = True, **keywords: Any) -> None:
        # Not exact: the keywords describe the shape, the domain's check is stricter than them.
        self.code = stated(code) if exact else code
        self.non_blank = non_blank
        self.keywords = keywords

    def __repr__(self) -> str:
        return f"Stated({self.code!r})"


DAYS = coded("invalid_days", "day counts cannot be negative")
Reason = Annotated[str, Stated("reason_required", non_blank=True)]
# format "email" tells generators and readers the shape; email-validator's reading is stricter (no
# quoted local parts, no IP literals, ASCII only), which JSON Schema's format cannot say.
EMAIL = Stated("invalid_email", exact=False, format="email")
COUNTRY = Stated("invalid_country", enum=sorted(ISO_COUNTRIES | ALIASES.keys()))


def _state_text_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Writes into the OpenAPI document the character rule `_printable` enforces on every text field
    and the rules the domain checks on some: the document then says all that is checked."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        metadata = field.metadata
        if Decimal in (field.annotation, *get_args(field.annotation)):
            _only_numbers(properties.get(field.alias or name, {}))
            continue
        rules = [m for m in metadata if isinstance(m, Stated)]
        keywords = {k: v for rule in rules for k, v in rule.keywords.items()}
        if not any(m is ANY_CHARACTERS for m in metadata) and not {"format", "enum"} & keywords.keys():
            keywords.setdefault(
                "pattern",
                text_pattern(
                    multiline=any(m is MULTILINE for m in metadata),
                    non_blank=any(rule.non_blank for rule in rules),
                ),
            )
        for text in _text_schemas(properties.get(field.alias or name, {})):
            if not {"pattern", "format", "enum", "const"} & text.keys():
                text.update(keywords)


def _only_numbers(schema: dict[str, Any]) -> None:
    # Pydantic also reads a decimal from text ("25.80", exact), but JSON Schema cannot bound the
    # value or the decimals of a string; the document offers the number, which it can bound.
    options = schema.get("anyOf", [])
    numbers = [o for o in options if o.get("type") != "string"]
    if len(numbers) == 1 and "null" not in str(numbers):
        schema.pop("anyOf")
        schema.update(numbers[0])
    elif numbers:
        schema["anyOf"] = numbers


def _text_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if schema.get("type") == "string":
        return [schema]
    if schema.get("type") == "array":
        return _text_schemas(schema.get("items", {}))
    return [t for option in schema.get("anyOf", []) for t in _text_schemas(option)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_state_text_rules)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        # `"quantity": true` must not order one unit, nor "2" or 2.0 two: a client that sends the
        # wrong type has a bug we should tell it about, not guess around.
        wanted = _plain_type(cls.model_fields[info.field_name].annotation) if info.field_name else None
        if value is None:
            return value
        if wanted is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise PydanticCustomError(
                "int_type", "give a whole number (a JSON integer, not text or a fraction)"
            )
        if wanted is bool and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "give true or false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any, info: ValidationInfo) -> Any:
        # Every text field of every request, so a new field cannot forget it: PostgreSQL cannot
        # store NUL, and a CR or LF in a reference breaks the header of the e-mail that names it.
        if info.field_name is not None and not isinstance(value, (int, Decimal, date, datetime)):
            metadata = cls.model_fields[info.field_name].metadata
            if not any(m is ANY_CHARACTERS for m in metadata):
                _refuse_control_characters(value, multiline=any(m is MULTILINE for m in metadata))
        if isinstance(value, datetime):
            # Normalised once here so no comparison mixes naive and aware times, and an offset at the
            # ends of the calendar is refused rather than overflowing later.
            try:
                return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            except OverflowError:
                raise PydanticCustomError(
                    "less_than_equal", "the time is outside the supported calendar (years 2 to 9998)"
                ) from None
        return value


def _refuse_control_characters(value: Any, *, multiline: bool) -> None:
    texts = value if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        found = bad_character(text, multiline=multiline) if isinstance(text, str) else None
        if found is not None:
            raise PydanticCustomError(
                "invalid_characters", text_message(found, multiline=multiline), {"character": describe(found)}
            )


def _plain_type(annotation: Any) -> Any:
    """int for `int` and `int | None`, bool for `bool` and `bool | None`; None for anything else."""
    if annotation in (int, bool):
        return annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) == 1 and args[0] in (int, bool) and type(None) in get_args(annotation):
        return args[0]
    return None


class AddressIn(In):
    name: str | None = Field(default=None, max_length=200)
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: Annotated[str | None, COUNTRY] = Field(
        default=None,
        max_length=2,
        description="ISO 3166-1 alpha-2, e.g. DE; lower case and UK (for GB) are read too",
    )
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone, e.g. Europe/Berlin")


class CustomerIn(In):
    id: int | None = Field(default=None, ge=1, le=MAX_INT, description="An existing customer")
    email: Annotated[str | None, EMAIL] = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class LineIn(In):
    sku: str = Field(max_length=64)
    quantity: int = Field(ge=-MAX_INT, le=MAX_INT)
    unit_price: Decimal | None = Field(
        default=None,
        ge=Decimal("-1e12"),
        le=Decimal("1e12"),
        decimal_places=4,
        description="Optional; when given it must equal the catalog price unless the channel may override it",
    )


class PaymentIn(In):
    method: PaymentMethod
    status: PaymentStatus = PaymentStatus.PENDING
    authorized_amount: Decimal | None = AMOUNT
    reference: str | None = Field(default=None, max_length=100)


class OrderCreate(In):
    channel: Channel
    external_ref: Annotated[str, Stated("external_ref_required", non_blank=True)] = Field(
        max_length=100, description="The order's id in its channel; unique per channel"
    )
    currency: str = Field(max_length=3, description="ISO 4217")
    customer: CustomerIn | None = None
    shipping_address: AddressIn | None = None
    lines: list[LineIn]
    payment: PaymentIn | None = None
    requested_delivery_date: date | None = None
    backorder_policy: BackorderPolicy = BackorderPolicy.REJECT
    shipping_service: str = Field(default="standard", max_length=32)
    note: MultiLineText = Field(default="", max_length=1000)

    def to_command(self) -> PlaceOrder:
        return PlaceOrder(
            channel=self.channel,
            external_ref=self.external_ref,
            currency=self.currency.upper(),
            lines=tuple(LineInput(x.sku.strip(), x.quantity, x.unit_price) for x in self.lines),
            customer=CustomerInput(**self.customer.model_dump()) if self.customer else None,
            shipping_address=AddressInput(**self.shipping_address.model_dump())
            if self.shipping_address
            else None,
            payment=PaymentInput(**self.payment.model_dump()) if self.payment else None,
            requested_delivery_date=self.requested_delivery_date,
            backorder_policy=self.backorder_policy,
            shipping_service=self.shipping_service,
            note=self.note,
        )


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AddressPublic(Out):
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    timezone: str


class AllocationPublic(Out):
    warehouse: str
    quantity: int
    reserves_stock: bool
    status: str
    planned_ship_date: date


class LinePublic(Out):
    line_no: int
    sku: str
    quantity: int
    unit_price: Amount
    amount: Amount
    backordered_qty: int
    cancelled_qty: int
    allocations: list[AllocationPublic]


class HoldPublic(Out):
    id: int
    reason: str
    note: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None
    released_by: str | None
    release_note: str | None


class PaymentPublic(Out):
    method: str | None
    status: str | None
    authorized_amount: Amount | None
    reference: str | None
    paid: Amount = Field(description="Captured, collected or settled so far")
    invoiced: Amount = Field(description="Invoiced so far (invoice orders, at shipment)")
    refunded: Amount = Field(description="Refunded, or credited on the invoice, so far")


class PaymentRecordPublic(Out):
    id: int
    order_id: int
    customer_id: int
    kind: str = Field(description="capture | invoice | settlement | refund")
    amount: Amount
    currency: str
    method: str | None
    reference: str
    return_id: int | None
    occurred_at: datetime
    actor: str


class PaymentList(BaseModel):
    payments: list[PaymentRecordPublic]


class SettleRequest(In):
    amount: Decimal | None = Field(
        default=None,
        gt=Decimal(0),
        le=Decimal("1e12"),
        decimal_places=4,
        description="Defaults to all outstanding",
    )
    reference: str = Field(
        min_length=1, max_length=100, description="The bank transfer's or remittance's reference"
    )


class CaptureRequest(In):
    amount: Decimal | None = Field(
        default=None,
        gt=Decimal(0),
        le=Decimal("1e12"),
        decimal_places=4,
        description="Defaults to all outstanding",
    )
    reference: str = Field(default="", max_length=100)


class SettlementPublic(Out):
    order_id: int
    amount: Amount
    currency: str
    outstanding: Amount
    released_orders: list[int] = Field(description="Orders of the customer whose credit hold this cleared")


class OrderPublic(Out):
    id: int
    channel: str
    external_ref: str
    customer_id: int
    status: str
    currency: str
    total: Amount
    shipping_address: AddressPublic
    shipping_service: str
    backorder_policy: str
    requested_delivery_date: date | None
    promised_ship_date: date
    promised_date: date = Field(description="The original promise, fixed at capture")
    transit_days: int | None = Field(
        None, description="The carrier transit the promise counted, in working days (null: imported history)"
    )
    transit_basis: str | None = Field(
        None,
        description="Where that transit came from: `configured` (the shipping service's days) or the lane's "
        "learned quantile (`p50`, `p90`, `p95`)",
    )
    rescheduled_date: date | None
    reschedule_reason: str | None
    payment: PaymentPublic
    note: str
    placed_at: datetime
    approved_at: datetime | None
    cancelled_at: datetime | None
    lines: list[LinePublic]
    holds: list[HoldPublic]


class OrderSummaryPublic(Out):
    id: int
    channel: str
    external_ref: str
    customer_id: int
    status: str
    currency: str
    total: Amount
    promised_date: date
    placed_at: datetime


class OrderPage(BaseModel):
    items: list[OrderSummaryPublic]
    next_cursor: str | None


class EventPublic(Out):
    id: int
    type: str
    occurred_at: datetime
    actor: str
    data: dict[str, Any]


class Timeline(BaseModel):
    order_id: int
    events: list[EventPublic]


class CancelRequest(In):
    reason: Reason = Field(max_length=500)
    open_return: bool = Field(
        default=False,
        description="For an order that has shipped: open a changed_mind return of what was shipped "
        "(without it such a cancel is refused with 409 already_shipped)",
    )


class LineCancelRequest(In):
    quantity: int = Field(ge=-MAX_INT, le=MAX_INT)
    reason: Reason = Field(max_length=500)


class HoldRequest(In):
    reason: str = Field(default="manual", pattern="^(payment|credit|risk|stock|manual)$")
    note: MultiLineText = Field(default="", max_length=500)


class ReleaseRequest(In):
    note: MultiLineText = Field(default="", max_length=500)


class RescheduleRequest(In):
    new_date: date
    reason: str = Field(max_length=500)


class ProductCreate(In):
    sku: Annotated[str, Stated("sku_required", non_blank=True)] = Field(max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=4)
    currency: str = Field(max_length=3)
    category: str = Field(default="", max_length=100)
    weight_kg: Decimal = Field(default=Decimal(0), ge=Decimal("-1e6"), le=Decimal("1e6"), decimal_places=4)
    unit_cost: Decimal | None = AMOUNT
    active: bool = True
    fulfilment: str = Field(default="made_to_stock", max_length=20)
    production_days: Annotated[int, DAYS] = Field(default=0, ge=0, le=365)
    lead_time_days: Annotated[int, DAYS] = Field(default=14, ge=0, le=365)


class ProductPublic(Out):
    id: int
    sku: str
    name: str
    category: str
    price: Amount
    currency: str
    weight_kg: Amount
    unit_cost: Amount | None
    active: bool
    fulfilment: str
    production_days: int
    lead_time_days: int


class WarehouseCreate(In):
    code: Annotated[str, Stated("code_required", non_blank=True)] = Field(max_length=32)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    handling_days: Annotated[int, DAYS] = Field(default=1, ge=0, le=30)
    cutoff: str = Field(default="14:00", max_length=5)
    priority: int = Field(default=100, ge=0, le=10_000)
    daily_capacity: int | None = Field(default=None, ge=-MAX_INT, le=MAX_INT)


class WarehousePublic(Out):
    id: int
    code: str
    name: str
    timezone: str
    handling_days: int
    cutoff: str
    priority: int
    daily_capacity: int | None
    active: bool


class ShippingServicePublic(Out):
    code: str = Field(max_length=32)
    carrier: str = Field(max_length=64)
    name: str = Field(max_length=200)
    transit_days: Annotated[int, coded("invalid_days", "transit days cannot be negative")] = Field(
        ge=0, le=60
    )


class StockPublic(Out):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int = Field(description="Available to promise: on hand minus reserved")
    bin_location: str


RECEIVED_QUANTITY = coded("invalid_quantity", f"receive between 1 and {MAX_MOVEMENT} units")


class StockReceipt(In):
    sku: str = Field(max_length=64)
    warehouse: str = Field(max_length=32)
    quantity: Annotated[int, coded("invalid_quantity", f"receive between 1 and {MAX_MOVEMENT} units")] = (
        Field(ge=1, le=MAX_MOVEMENT)
    )
    reason: str = Field(default="", max_length=500)


class StockAdjustment(In):
    sku: str = Field(max_length=64)
    warehouse: str = Field(max_length=32)
    delta: Annotated[int, Stated("invalid_quantity")] = Field(
        ge=-MAX_INT,
        le=MAX_INT,
        # Only the bounds go through pydantic; "not zero" is a keyword pydantic cannot check.
        json_schema_extra={"minimum": -MAX_MOVEMENT, "maximum": MAX_MOVEMENT, "not": {"const": 0}},
        description="Units to add (positive) or remove (negative); not zero",
    )
    reason: Reason = Field(max_length=500)


class MovementPublic(Out):
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


class CustomerCreate(In):
    email: Annotated[str, EMAIL] = Field(max_length=254)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=40)
    tier: str = Field(default="standard", max_length=20)
    credit_limit: Decimal = Field(
        default=Decimal(0), ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=4
    )
    payment_terms_days: Annotated[int, DAYS] = Field(default=0, ge=0, le=365)
    on_time_basis: Literal["date", "time"] | None = Field(
        default=None,
        description="How this customer's orders are judged on time: date (by the promised day) or time "
        "(by the promised time, plus grace_minutes). Default: the channel's terms.",
    )
    grace_minutes: int | None = Field(default=None, ge=0, le=MAX_GRACE_MINUTES)
    address: AddressIn | None = None


class CustomerPublic(Out):
    id: int
    email: str
    name: str
    phone: str
    tier: str
    credit_limit: Amount
    payment_terms_days: int
    created_at: datetime
    addresses: list[AddressPublic]
    on_time_basis: str | None = Field(description="null: the channel's terms")
    grace_minutes: int | None


class CustomerHistoryPublic(Out):
    customer: CustomerPublic
    orders_count: int
    cancelled_count: int
    total_spent: dict[str, Amount]
    open_balance: Amount
    first_order_at: datetime | None
    last_order_at: datetime | None
    purchase_frequency_per_30d: float | None
    repeat_customer: bool


def order_public(view: v.OrderView) -> dict[str, Any]:
    return OrderPublic.model_validate(view).model_dump(mode="json")
