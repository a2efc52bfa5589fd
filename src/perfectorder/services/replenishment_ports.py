"""What replenishment reads from storage: stock positions, demand, supply terms and receipts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from perfectorder.domain.supplier_scorecard import LineFacts

SkuAt = tuple[int, int]  # (product id, warehouse id)


@dataclass(frozen=True, slots=True)
class StockPoint:
    product_id: int
    sku: str
    warehouse_id: int
    warehouse: str
    on_hand: int
    reserved: int
    unit_cost: Decimal  # the catalog's cost, for stock value
    currency: str


@dataclass(frozen=True, slots=True)
class WaitingBackorder:
    order_id: int
    sku: str
    product_id: int
    units: int
    expected: date  # the date the customer was last given: rescheduled, else promised
    transit_days: int | None
    service: str


@dataclass(frozen=True, slots=True)
class SupplyTerms:
    """The supplier a SKU is bought from (the cheapest listing) and what it has shown."""

    supplier: str
    lead_time_days: int  # as quoted, in the supplier's working days
    working_days: str  # ISO weekday digits
    unit_cost: Decimal
    currency: str
    pack_size: int
    min_order_qty: int
    # The supplier's, over every product it delivers (its lead time is its own, not a SKU's):
    measured_lead_days: tuple[float, ...]  # sent to first receipt per purchase order, oldest first
    overdue_lead_days: tuple[float, ...]  # sent and past its promised date, nothing came: out so far


class ReplenishmentReads(Protocol):
    def stock_points(self) -> list[StockPoint]: ...
    def daily_demand(self, since: datetime, until: datetime) -> Mapping[SkuAt, Mapping[date, int]]:
        """Units asked for per SKU, warehouse and UTC day: allocated to orders placed then, plus
        lines refused for lack of stock (lost demand)."""
        ...

    def on_order(self) -> Mapping[SkuAt, int]:
        """Units on open purchase orders not yet received."""
        ...

    def backordered(self) -> Mapping[int, int]:
        """Units owed to open orders per product, not yet reserved anywhere."""
        ...

    def supply_terms(self, now: datetime) -> Mapping[int, SupplyTerms]: ...
    def receipts(self) -> Mapping[SkuAt, list[tuple[date, int]]]:
        """Stock received per SKU and warehouse: (day, units), any order."""
        ...

    def last_sales(self) -> Mapping[SkuAt, date]:
        """The last day each SKU left each warehouse for an order."""
        ...

    def incoming(self, product_id: int) -> tuple[list[tuple[date, int]], int]:
        """(open purchase order supply of the product: (promised day, units not yet received), units
        already owed to open orders' backorders): what a new backorder is promised from."""
        ...

    def waiting_backorders(self, skus: Sequence[str]) -> list[WaitingBackorder]:
        """Open orders' backordered lines of these SKUs, by SKU, then oldest promise first (the
        order receipts serve them in)."""
        ...

    # The supplier scorecard's reads.
    def po_lines(self, since: datetime, until: datetime) -> list[LineFacts]:
        """Lines of the purchase orders created in [since, until), with their receipts."""
        ...

    def quoted_lead_days(self) -> Mapping[str, int]: ...
    def listings(self) -> Mapping[str, list[str]]:
        """SKU -> the suppliers that list it."""
        ...

    def defective_returns(self, since: datetime, until: datetime) -> Mapping[str, int]:
        """Units returned by customers as defective on arrival (the supplier's stage), by SKU."""
        ...

    def shipped_units(self, since: datetime, until: datetime) -> Mapping[str, int]:
        """Units shipped to customers, by SKU, of orders first shipped in [since, until)."""
        ...
