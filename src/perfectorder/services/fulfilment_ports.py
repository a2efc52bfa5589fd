"""Records and the repository port for stages 4 to 8: pick, pack, ship, track, feedback, returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AllocationRecord:
    id: int
    order_id: int
    order_line_id: int
    product_id: int
    warehouse_id: int
    sku: str
    quantity: int
    reserves_stock: bool
    status: str
    planned_ship_date: date


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: int
    pick_list_id: int
    order_id: int
    allocation_id: int
    product_id: int
    warehouse_id: int
    sku: str
    bin_location: str
    quantity: int
    picked_qty: int
    status: str
    refused_scans: int = 0

    @property
    def correct(self) -> bool:
        """A pick line is correct when it was picked in full with no refused scan."""
        return self.status == "done" and self.refused_scans == 0


@dataclass(frozen=True, slots=True)
class NewTask:
    order_id: int
    allocation_id: int
    product_id: int
    sku: str
    bin_location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class LineRecord:
    id: int
    order_id: int
    line_no: int
    product_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    backordered_qty: int
    cancelled_qty: int
    shipped_qty: int

    @property
    def open_qty(self) -> int:
        """Units still to ship: ordered, minus cancelled, minus shipped."""
        return self.quantity - self.cancelled_qty - self.shipped_qty


@dataclass(frozen=True, slots=True)
class PackageRecord:
    id: int
    order_id: int
    warehouse_id: int
    weight_kg: Decimal
    length_cm: int
    width_cm: int
    height_cm: int
    status: str
    packed_at: datetime
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    id: int
    order_id: int
    package_id: int
    warehouse_id: int
    carrier: str
    service: str
    tracking_number: str
    status: str
    shipped_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssueRecord:
    criterion: str
    stage: str
    code: str
    detail: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    order_id: int
    rating: int
    arrived_complete: bool | None
    undamaged: bool | None
    as_described: bool | None
    comment: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnLineRecord:
    id: int
    order_line_id: int
    sku: str
    quantity: int
    restocked_qty: int
    scrapped_qty: int


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    id: int
    order_id: int
    reason: str
    criterion: str | None
    stage: str | None
    status: str
    note: str
    created_at: datetime
    received_at: datetime | None
    refund_amount: Decimal | None
    exchange_order_id: int | None
    lines: tuple[ReturnLineRecord, ...]


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    id: int
    shipment_id: int
    kind: str
    status: str
    opened_at: datetime
    replacement_order_id: int | None = None  # the order that reshipped a lost parcel


@dataclass(frozen=True, slots=True)
class BackorderedLine:
    line_id: int
    order_id: int
    order_status: str
    quantity: int


class FulfilmentRepository(Protocol):
    def allocations(self, order_id: int) -> list[AllocationRecord]: ...
    def set_allocation_status(self, allocation_ids: Sequence[int], status: str) -> None: ...
    def add_allocation(
        self,
        *,
        order_id: int,
        order_line_id: int,
        product_id: int,
        warehouse_id: int,
        quantity: int,
        planned_ship_date: date,
    ) -> int: ...
    def bins(self, warehouse_id: int, product_ids: Sequence[int]) -> dict[int, str]: ...
    def add_pick_list(self, warehouse_id: int, kind: str, at: datetime, by: str) -> int: ...
    def add_tasks(self, pick_list_id: int, tasks: Sequence[NewTask]) -> None: ...
    def task(self, task_id: int) -> TaskRecord | None: ...
    def tasks(self, *, pick_list_id: int | None = None, order_id: int | None = None) -> list[TaskRecord]: ...
    def update_task(self, task_id: int, *, picked_qty: int, status: str) -> None: ...
    def close_pick_list_if_done(self, pick_list_id: int, at: datetime) -> None: ...
    def add_scan(
        self, task: TaskRecord, scanned: str, quantity: int, outcome: str, at: datetime, actor: str
    ) -> None: ...
    def wave_candidates(self, warehouse_id: int, ship_by: date, limit: int) -> list[int]: ...
    def lines(self, order_id: int) -> list[LineRecord]: ...
    def update_line(self, line_id: int, changes: Mapping[str, Any]) -> None: ...
    def add_package(
        self,
        *,
        order_id: int,
        warehouse_id: int,
        weight_kg: Decimal,
        dims: tuple[int, int, int],
        items: Sequence[tuple[str, int]],
        at: datetime,
        by: str,
    ) -> int: ...
    def packages(self, order_id: int) -> list[PackageRecord]: ...
    def add_shipment(
        self, package: PackageRecord, *, carrier: str, service: str, tracking_number: str, at: datetime
    ) -> int | None: ...
    def shipments(self, order_id: int) -> list[ShipmentRecord]: ...
    def shipments_of(self, order_ids: Sequence[int]) -> Mapping[int, list[ShipmentRecord]]: ...
    def shipment_by_tracking(self, tracking_number: str) -> ShipmentRecord | None: ...
    def set_shipment_status(self, shipment_id: int, status: str, delivered_at: datetime | None) -> None: ...
    def add_carrier_event(
        self,
        *,
        carrier: str,
        event_id: str,
        shipment_id: int,
        type: str,
        occurred_at: datetime,
        detail: str,
        received_at: datetime,
        estimated_delivery: date | None = None,
    ) -> bool: ...
    def add_claim(self, *, order_id: int, shipment_id: int, kind: str, at: datetime, note: str) -> int: ...
    def claims(self, order_id: int) -> list[ClaimRecord]: ...
    def link_replacement(self, claim_id: int, order_id: int) -> bool:
        """Records the order that reships the claim's parcel; False when one already does."""
        ...

    def add_issue(self, order_id: int, issue: IssueRecord) -> None: ...
    def issues(self, order_id: int) -> list[IssueRecord]: ...
    def feedback(self, order_id: int) -> FeedbackRecord | None: ...
    def save_feedback(self, record: FeedbackRecord, *, new: bool) -> None: ...
    def add_return(
        self,
        *,
        order_id: int,
        reason: str,
        criterion: str | None,
        stage: str | None,
        note: str,
        at: datetime,
        lines: Sequence[tuple[int, str, int]],
    ) -> int: ...
    def return_(self, return_id: int) -> ReturnRecord | None: ...
    def returns(self, order_id: int) -> list[ReturnRecord]: ...
    def returned_qty(self, order_line_id: int) -> int: ...
    def receive_return_line(self, line_id: int, *, restocked: int, scrapped: int) -> None: ...
    def close_return(
        self, return_id: int, *, at: datetime, refund: Decimal, exchange_order_id: int | None
    ) -> None: ...
    def backordered_lines(self, product_id: int) -> list[BackorderedLine]: ...
