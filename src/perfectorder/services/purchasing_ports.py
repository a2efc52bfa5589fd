"""What purchasing needs from storage, and the records it hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from perfectorder.domain.purchasing import POEvent, POLine, POStatus, PurchaseOrder
from perfectorder.services.views import EventView


@dataclass(frozen=True, slots=True)
class SupplierView:
    id: int
    code: str
    name: str
    lead_time_days: int
    working_days: str
    contact_email: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class SupplierRow:
    supplier: SupplierView
    products: int  # products the supplier lists
    open_pos: int  # its purchase orders neither received in full nor cancelled


@dataclass(frozen=True, slots=True)
class SupplierProductView:
    supplier: str
    sku: str
    supplier_sku: str
    unit_cost: Decimal
    currency: str
    pack_size: int
    min_order_qty: int


@dataclass(frozen=True, slots=True)
class NewPOLine:
    product_id: int
    quantity: int
    unit_cost: Decimal


@dataclass(frozen=True, slots=True)
class NewPurchaseOrder:
    supplier_id: int
    warehouse_id: int
    currency: str
    promised_date: date
    lines: tuple[NewPOLine, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class POSummary:
    id: int
    number: str
    supplier: str
    warehouse: str
    status: str
    currency: str
    original_promised_date: date
    promised_date: date
    created_at: datetime
    sent_at: datetime | None
    confirmed_at: datetime | None
    lines: int
    ordered: int
    received: int
    rejected: int
    value: Decimal  # ordered quantity x unit cost, in the PO's currency


@dataclass(frozen=True, slots=True)
class POLineView:
    id: int
    sku: str
    quantity: int
    unit_cost: Decimal
    received_qty: int
    rejected_qty: int

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.received_qty, 0)


@dataclass(frozen=True, slots=True)
class POReceiptView:
    id: int
    sku: str
    accepted: int
    rejected: int
    reason: str | None
    note: str
    received_at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class PODetail:
    summary: POSummary
    lines: tuple[POLineView, ...]
    receipts: tuple[POReceiptView, ...]
    timeline: tuple[EventView, ...]


class PurchasingRepository(Protocol):
    def add_supplier(
        self,
        *,
        code: str,
        name: str,
        lead_time_days: int,
        working_days: str,
        contact_email: str,
        contact_phone: str,
        at: datetime,
    ) -> bool:
        """False when a supplier has the code already."""
        ...

    def supplier(self, code: str) -> SupplierView | None: ...

    def suppliers(self, *, limit: int) -> list[SupplierView]: ...

    def supplier_rows(
        self, *, open_statuses: frozenset[POStatus], offset: int, limit: int
    ) -> list[SupplierRow]:
        """Suppliers by code, each with how many products it lists and POs in `open_statuses`."""
        ...

    def add_supplier_product(self, supplier_id: int, product_id: int, view: SupplierProductView) -> bool:
        """False when the supplier lists the product already."""
        ...

    def supplier_products(self, supplier_id: int) -> list[SupplierProductView]: ...

    def supplier_product(self, supplier_id: int, sku: str) -> SupplierProductView | None: ...

    def create_po(self, new: NewPurchaseOrder) -> int: ...

    def get(self, po_id: int) -> PurchaseOrder | None:
        """The PO with its lines, as the domain rules read it."""
        ...

    def save(self, po: PurchaseOrder) -> bool:
        """Writes the header if nobody changed it since it was read (its version); False otherwise."""
        ...

    def claim_for_receipt(self, po_id: int, statuses: frozenset[POStatus]) -> bool:
        """Raises the version of a PO in one of `statuses`, holding its row for this transaction, so
        receipts against one PO take their turns and its status follows all of them; False when it
        is missing or in another status."""
        ...

    def receive_line(self, line_id: int, *, accepted: int, rejected: int, limit: int) -> POLine | None:
        """Adds to the line's received and rejected units in one guarded statement: nothing when
        the accepted units would pass `limit` (None then)."""
        ...

    def add_receipt(
        self,
        po_id: int,
        line_id: int,
        *,
        accepted: int,
        rejected: int,
        reason: str | None,
        note: str,
        at: datetime,
        actor: str,
    ) -> None: ...

    def set_status(self, po_id: int, status: POStatus) -> None: ...

    def add_events(self, po_id: int, events: Sequence[POEvent], *, at: datetime, actor: str) -> None: ...

    def summaries(
        self,
        *,
        status: str | None,
        supplier: str | None,
        after_id: int | None,
        limit: int,
        offset: int = 0,
    ) -> list[POSummary]: ...

    def detail(self, po_id: int) -> PODetail | None: ...
