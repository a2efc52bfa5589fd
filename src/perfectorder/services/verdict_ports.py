"""What the Perfect Order rollups need from storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from perfectorder.domain.loyalty import Purchase
from perfectorder.metrics.kpis import OrderKpiFacts
from perfectorder.metrics.rollup import Sums, VerdictRow
from perfectorder.services.fulfilment_ports import (
    ClaimRecord,
    FeedbackRecord,
    IssueRecord,
    LineRecord,
    PackageRecord,
    ShipmentRecord,
    TaskRecord,
)
from perfectorder.services.outbox_ports import MessageRecord


@dataclass(frozen=True, slots=True)
class LineSchedule:
    """A line's own promise and delivery, where a history file gave them per line."""

    promised_on: date | None
    promised_by: datetime | None
    promised_from: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderRecords:
    """Everything an order's verdict, KPI facts and slices are computed from."""

    order_id: int
    status: str
    channel: str
    customer_id: int
    tier: str
    placed_at: datetime
    promised_ship_date: date
    promised_date: date
    rescheduled_date: date | None
    requested_date: date | None
    timezone: str
    unmeasured: frozenset[str]
    categories: tuple[str, ...]
    lines: tuple[LineRecord, ...]
    shipments: tuple[ShipmentRecord, ...]
    issues: tuple[IssueRecord, ...]
    emails: tuple[MessageRecord, ...]
    feedback: FeedbackRecord | None
    timeline: tuple[tuple[str, datetime], ...]  # (event type, when), oldest first
    tasks: tuple[TaskRecord, ...]
    packages: tuple[PackageRecord, ...]
    return_reasons: tuple[str, ...]
    claims: tuple[ClaimRecord, ...] = ()
    # The order this one replaces (an exchange for a return, a reshipment of a lost parcel).
    replaces_order_id: int | None = None
    history: bool = False  # imported from a file of orders that happened elsewhere
    promised_by: datetime | None = None
    promised_from: datetime | None = None
    on_time_basis: str = "date"
    grace_minutes: int = 0
    schedules: Mapping[int, LineSchedule] = field(default_factory=dict)  # by line number
    ship_country: str = ""
    currency: str = ""
    refunded: Decimal = Decimal(0)
    replaced_by: int = 0  # orders shipping this one's units again: reshipments and exchanges
    suppliers: tuple[str, ...] = ()  # codes of the suppliers listing the order's products


class VerdictRepository(Protocol):
    def enqueue(self, order_ids: Sequence[int], *, at: datetime) -> None:
        """Marks orders whose facts changed; the worker's next refresh stores their new verdicts."""
        ...

    def queued(self, limit: int) -> list[int]: ...
    def purchases(
        self,
        customer_id: int | None = None,
        *,
        customers: tuple[int, int] | None = None,
        order_ids: Sequence[int] | None = None,
    ) -> list[Purchase]: ...
    def last_placed_on(self) -> date | None: ...
    def placed_span(self) -> tuple[date, date] | None:
        """The first and last day a stored verdict's order was placed."""
        ...

    def dequeue(self, order_ids: Sequence[int]) -> None: ...
    def mark_refreshed(self, *, at: datetime) -> None:
        """Records that every order queued before `at` has its verdict stored."""
        ...

    def refreshed_at(self) -> datetime | None:
        """When the stored verdicts and rollups were last brought up to date; None if never."""
        ...

    def stored(self, order_ids: Sequence[int]) -> Mapping[int, VerdictRow]: ...
    def replace(self, changes: Sequence[tuple[VerdictRow | None, VerdictRow]], *, at: datetime) -> None:
        """Stores each order's new verdict (old, new) and moves the rollups from its old contribution
        to the new."""
        ...

    def records(self, order_ids: Sequence[int]) -> Mapping[int, OrderRecords]:
        """The orders' records, read together (a query per kind of record, not per order); an
        order that does not exist is missing from the answer."""
        ...

    def clear(self) -> None: ...
    def order_ids(self, after_id: int, limit: int) -> list[int]: ...
    def sums(
        self, start: date, end: date, dimension: str, today: date, *, by_day: bool = False
    ) -> Mapping[tuple[str, date | None], Sums]:
        """Summed rollups of [start, end) per slice key (and per day when asked)."""
        ...

    def failure_counts(self, start: date, end: date, today: date) -> list[tuple[str, str, str, int, int]]:
        """(component, code, stage, final orders with it, orders where it was the only failure)."""
        ...

    def failure_slice_sums(
        self, start: date, end: date, today: date
    ) -> Mapping[tuple[tuple[str, str, str], str, str], tuple[int, int, int]]:
        """The failure rollups of the final orders placed in [start, end) summed: (failure,
        dimension, key) -> (orders, refunded minor units, reshipments); see metrics.root_causes."""
        ...

    def orders_with_failure(
        self, start: date, end: date, today: date, failure: tuple[str, str, str], limit: int
    ) -> list[int]: ...
    def kpi_facts(self, start: date, end: date) -> list[OrderKpiFacts]: ...
    def kpi_rollup_sums(self, start: date, end: date) -> Mapping[tuple[str, str, int], int]:
        """The KPI rollups of the days in [start, end) summed: (measure, key, bucket) -> n."""
        ...

    def rollup_rows(self) -> list[tuple[object, ...]]:
        """Every non-zero rollup row, for checks that rollups equal a rebuild."""
        ...
