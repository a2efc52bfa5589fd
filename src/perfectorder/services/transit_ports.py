"""What learning transit times needs from storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from perfectorder.domain.transit import LaneTransit, Scan


@dataclass(frozen=True, slots=True)
class DeliveredParcel:
    shipment_id: int
    order_id: int
    service: str
    carrier: str
    warehouse_id: int
    country: str
    postal_code: str
    shipped_at: datetime
    delivered_at: datetime
    promised_date: date  # the order's original promise
    transit_days: int | None  # what the promise counted (None: an order from before it was recorded)
    transit_basis: str | None


@dataclass(frozen=True, slots=True)
class ShippedParcels:
    """Parcels handed to a carrier that are alike in everything the scorecard reads, counted."""

    carrier: str
    service: str
    warehouse_id: int
    country: str
    postal_prefix: str  # the postal code's first characters, without spaces, upper case
    shipped_on: date  # UTC days
    delivered_on: date | None
    transit_days: int | None  # what the orders' promises counted
    damaged: bool
    lost: bool
    claimed: bool
    scanned_in_time: bool  # first carrier scan within the hours asked for
    parcels: int


class TransitRepository(Protocol):
    def delivered(self, since: datetime, until: datetime) -> list[DeliveredParcel]:
        """Parcels delivered from `since` up to (not including) `until`."""
        ...

    def shipped(
        self, since: datetime, until: datetime, *, postal_prefix: int, scan_within_hours: float
    ) -> list[ShippedParcels]:
        """Parcels handed to a carrier from `since` up to (not including) `until`, with what their
        carrier events and claims say, summed by all of it (a month is thousands of groups where
        it was tens of thousands of parcels)."""
        ...

    def scans(self, shipment_ids: Sequence[int]) -> Mapping[int, list[Scan]]:
        """Each shipment's carrier events (every id asked for is a key)."""
        ...

    def replace_learned(self, learned: Sequence[LaneTransit], *, at: datetime) -> None:
        """The lanes' learned transit times from now on (lanes left out fall back to configured)."""
        ...

    def learned_at(self) -> datetime | None: ...
