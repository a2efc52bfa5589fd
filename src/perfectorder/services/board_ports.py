"""What the dashboard's operational pages read from storage: one query each, bounded by a page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

# Orders not yet delivered or cancelled: the ones an operator can still act on.
OPEN_STATUSES = (
    "received",
    "on_hold",
    "approved",
    "picking",
    "picked",
    "packed",
    "partially_shipped",
    "shipped",
)
# Not handed to a carrier yet: the warehouse can still make the promised ship date.
BEFORE_SHIPPING = ("received", "on_hold", "approved", "picking", "picked", "packed")
# Age buckets of open orders, in days since they were placed (lower bounds).
AGE_BUCKETS = (0, 1, 3, 7)


@dataclass(frozen=True, slots=True)
class StageCount:
    status: str
    orders: int
    oldest: datetime | None
    # Orders per AGE_BUCKETS bucket: [0, 1) days, [1, 3), [3, 7), 7 days and more.
    by_age: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """A page of orders; every filter is optional and they combine with AND."""

    status: str | None = None
    late: bool = False
    at_risk: bool = False
    on_hold: bool = False
    text: str | None = None
    customer_id: int | None = None
    order_ids: tuple[int, ...] | None = None
    sort: str = "id"
    descending: bool = True
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class BoardOrder:
    id: int
    external_ref: str
    channel: str
    customer_id: int
    customer_name: str
    status: str
    total: Decimal
    currency: str
    placed_at: datetime
    promised_date: date
    rescheduled_date: date | None
    at_risk_reason: str | None
    payment_method: str | None
    payment_status: str | None
    late: bool = False  # open, and delivering it now would fail on time (the verdict's rule)
    risk: float | None = None  # the promise-risk model's chance of missing the promise, when scored
    risk_action: str | None = None
    risk_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenHold:
    hold_id: int
    order_id: int
    external_ref: str
    reason: str
    note: str
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class StockRow:
    sku: str
    name: str
    category: str
    warehouse: str
    on_hand: int
    reserved: int
    backordered: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: int
    name: str
    email: str
    tier: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    order_id: int
    rating: int
    arrived_complete: bool | None
    undamaged: bool | None
    as_described: bool | None
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnRow:
    id: int
    order_id: int
    reason: str
    criterion: str | None
    stage: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    tracking_number: str
    carrier: str
    type: str
    occurred_at: datetime
    detail: str


class BoardQueries(Protocol):
    def stage_counts(self, now: datetime) -> list[StageCount]: ...
    def late_and_at_risk(self, now: datetime) -> tuple[int, int]:
        """(open orders past their promised date, open orders due by tomorrow and not yet shipped
        or flagged at risk)."""
        ...

    def orders(self, query: BoardQuery, now: datetime) -> list[BoardOrder]:
        """Up to query.limit + 1 rows, so the caller knows whether there is a next page."""
        ...

    def open_holds(self, limit: int) -> list[OpenHold]: ...
    def stock(
        self, *, warehouse: str | None, text: str | None, sort: str, descending: bool, offset: int, limit: int
    ) -> list[StockRow]: ...
    def customers(
        self, *, text: str | None, sort: str, descending: bool, offset: int, limit: int
    ) -> list[CustomerRow]: ...
    def customer_verdicts(self, customer_id: int, today: date) -> list[tuple[Mapping[str, bool | None], int]]:
        """(components, number of failures) of the customer's orders whose verdicts are final."""
        ...

    def customer_feedback(self, customer_id: int, limit: int) -> list[FeedbackRow]: ...
    def returns_between(self, start: datetime, end: datetime) -> list[ReturnRow]:
        """Every return opened in [start, end), newest first."""
        ...

    def tracking(self, order_id: int) -> list[TrackingEvent]:
        """The carriers' events for the order's parcels, oldest first."""
        ...
