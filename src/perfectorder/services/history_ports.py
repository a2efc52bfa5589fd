"""What recording imported history needs from storage: bulk writes of orders as they happened."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from perfectorder.services.ports import NewEvent, NewLine, NewOrder
from perfectorder.services.verdict_ports import LineSchedule


@dataclass(frozen=True, slots=True)
class PastShipment:
    warehouse_id: int
    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None
    # The file says it was delivered without saying when: judged complete, not measured on time.
    delivered_unknown: bool = False


@dataclass(frozen=True, slots=True)
class PastOrder:
    order: NewOrder
    unmeasured: frozenset[str]
    cancelled_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    lines: Sequence[NewLine]
    shipment: PastShipment | None
    events: Sequence[NewEvent]
    rating: int | None
    schedules: Mapping[int, LineSchedule] = field(default_factory=dict)  # lines' own, by line number


@dataclass(frozen=True, slots=True)
class PastProduct:
    sku: str
    price: Decimal
    currency: str
    category: str


class HistoryRepository(Protocol):
    def existing_refs(self, channel: str, refs: Sequence[str]) -> set[str]: ...
    def customers_by_ref(self, refs: Sequence[str], *, created_at: datetime) -> Mapping[str, int]:
        """Ids of the customers with these external references, creating the missing ones."""
        ...

    def products_by_sku(self, products: Sequence[PastProduct], *, created_at: datetime) -> Mapping[str, int]:
        """Ids of these SKUs, creating unknown ones as inactive products (not for sale)."""
        ...

    def warehouse_id(self, code: str) -> int:
        """The warehouse with this code, created (inactive) when the history names one we lack."""
        ...

    def add_orders(self, orders: Sequence[PastOrder]) -> list[int]: ...
    def refresh_statistics(self) -> None:
        """Tells the database's planner how big the written tables now are."""
        ...
