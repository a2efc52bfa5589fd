"""Request and response bodies of stages 4 to 8."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from perfectorder.api.rules import coded
from perfectorder.api.schemas import MAX_INT, Amount, In, MultiLineText
from perfectorder.domain.fulfilment import RETURN_REASONS, CarrierEventType

ReasonCode = Literal[tuple(RETURN_REASONS)]  # type: ignore[valid-type]


class WaveRequest(In):
    warehouse: str = Field(max_length=32)
    ship_by: date = Field(
        description="Orders planned to ship on or before this day (the carrier cut-off day)"
    )
    limit: int = Field(default=200, ge=1, le=2000)


class PickListsPublic(BaseModel):
    pick_lists: list[int]


class TaskPublic(BaseModel):
    id: int
    pick_list_id: int
    order_id: int
    sku: str
    bin_location: str
    quantity: int
    picked_qty: int
    status: str


class PickListPublic(BaseModel):
    id: int
    tasks: list[TaskPublic]


class ScanRequest(In):
    code: str = Field(max_length=64, description="The scanned SKU or barcode")
    quantity: int = Field(default=1, ge=-MAX_INT, le=MAX_INT)


class ShortRequest(In):
    found: int = Field(ge=0, le=MAX_INT, description="Units really found at the bin, in all")


class PackageItem(In):
    sku: str = Field(max_length=64)
    quantity: int = Field(ge=1, le=100_000)


class PackageCreate(In):
    items: list[PackageItem] = Field(min_length=1, max_length=200)
    weight_kg: Decimal = Field(gt=0, le=Decimal(10_000), decimal_places=4)
    length_cm: int = Field(ge=1, le=1000)
    width_cm: int = Field(ge=1, le=1000)
    height_cm: int = Field(ge=1, le=1000)
    warehouse: str | None = Field(default=None, max_length=32)


class PackRequest(In):
    packages: list[PackageCreate] = Field(min_length=1, max_length=50)


class PackagesPublic(BaseModel):
    packages: list[int]


class ShipRequest(In):
    carrier: str = Field(min_length=1, max_length=64)
    service: str = Field(default="standard", max_length=32)
    tracking_number: str = Field(min_length=1, max_length=64)


class ShipmentCreated(BaseModel):
    shipment_id: int


class CarrierEventIn(In):
    carrier: str = Field(min_length=1, max_length=64)
    event_id: str = Field(
        min_length=1, max_length=100, description="The carrier's own id; replays are ignored"
    )
    tracking_number: str = Field(min_length=1, max_length=64)
    type: CarrierEventType
    occurred_at: datetime
    detail: str = Field(default="", max_length=500)
    estimated_delivery: date | None = Field(
        default=None,
        description="The carrier's current estimate of the delivery day: a later one than the "
        "order's expected date moves it and the customer is told (at most once a day)",
    )


class CarrierEventBatch(In):
    events: list[CarrierEventIn] = Field(min_length=1, max_length=1000)


class CarrierEventOutcome(BaseModel):
    event_id: str
    outcome: str = Field(description="applied, duplicate (seen before: ignored) or unknown_tracking")


class CarrierEventResults(BaseModel):
    results: list[CarrierEventOutcome]


class FeedbackCreate(In):
    rating: Annotated[int, coded("invalid_rating", "rate from 1 to 5")] = Field(ge=1, le=5)
    arrived_complete: bool | None = None
    undamaged: bool | None = None
    as_described: bool | None = None
    comment: MultiLineText = Field(default="", max_length=2000)


class FeedbackPublic(BaseModel):
    order_id: int
    rating: int
    arrived_complete: bool | None
    undamaged: bool | None
    as_described: bool | None
    comment: str
    created_at: datetime
    updated_at: datetime


class ReturnLineIn(In):
    sku: str = Field(max_length=64)
    quantity: int = Field(ge=-MAX_INT, le=MAX_INT)


UNKNOWN_REASON = coded("unknown_reason", f"use one of {sorted(RETURN_REASONS)}")


class ReturnCreate(In):
    reason: Annotated[ReasonCode, UNKNOWN_REASON]  # type: ignore[valid-type]
    lines: list[ReturnLineIn] = Field(max_length=200)
    note: MultiLineText = Field(default="", max_length=1000)


class ReceivedLineIn(In):
    sku: str = Field(max_length=64)
    restock: int = Field(default=0, ge=0, le=MAX_INT)
    scrap: int = Field(default=0, ge=0, le=MAX_INT)


class ReturnReceive(In):
    lines: list[ReceivedLineIn] = Field(min_length=1, max_length=200)
    refund: Decimal | None = Field(default=None, ge=Decimal(-1e12), le=Decimal(1e12), decimal_places=4)
    exchange: bool = False


class ReturnLinePublic(BaseModel):
    sku: str
    quantity: int
    restocked_qty: int
    scrapped_qty: int


class ReturnPublic(BaseModel):
    id: int
    order_id: int
    reason: str
    criterion: str | None
    stage: str | None
    status: str
    note: str
    created_at: datetime
    received_at: datetime | None
    refund_amount: Amount | None
    exchange_order_id: int | None
    lines: list[ReturnLinePublic]


class IssuePublic(BaseModel):
    criterion: str
    stage: str
    code: str
    detail: str
    occurred_at: datetime


class FactLine(BaseModel):
    line_no: int
    sku: str
    quantity: int
    shipped_qty: int
    backordered_qty: int
    cancelled_qty: int


class ShipmentPublic(BaseModel):
    id: int
    package_id: int
    carrier: str
    service: str
    tracking_number: str
    status: str
    shipped_at: datetime
    delivered_at: datetime | None


class ClaimPublic(BaseModel):
    id: int
    shipment_id: int
    kind: str
    status: str
    opened_at: datetime
    replacement_order_id: int | None = Field(default=None, description="The order reshipping a lost parcel")


class ReshipmentPublic(BaseModel):
    order_id: int
    claim_id: int
    replacement_order_id: int = Field(description="The new order shipping the lost parcel's units again")


class PackagePublic(BaseModel):
    id: int
    warehouse_id: int
    weight_kg: Amount
    length_cm: int
    width_cm: int
    height_cm: int
    status: str
    items: list[PackageItem]


class OrderFactsPublic(BaseModel):
    order_id: int
    status: str
    channel: str
    placed_at: datetime
    promised_date: date
    rescheduled_date: date | None
    requested_delivery_date: date | None
    lines: list[FactLine]
    pick_lines: int
    pick_lines_correct: int
    packages: list[PackagePublic]
    shipments: list[ShipmentPublic]
    issues: list[IssuePublic]
    claims: list[ClaimPublic]
    returns: list[ReturnPublic]
    feedback: FeedbackPublic | None
