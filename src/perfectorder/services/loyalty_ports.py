"""What the loyalty projection needs from storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from perfectorder.domain.loyalty import Purchase, Rhythm, Tally


@dataclass(frozen=True, slots=True)
class StoredPurchase:
    purchase: Purchase  # without its failures: the report reads those where it needs them
    days_to_next: int | None


class LoyaltyRepository(Protocol):
    def built(self, *, hold: bool = False) -> bool:
        """Whether the projection holds the store's purchases (refreshes keep it so from then on);
        `hold` waits for a rebuild under way and keeps the next one out until the transaction ends."""
        ...

    def start_rebuild(self) -> bool:
        """Empties the projection to build it again; False when it was built meanwhile."""
        ...

    def mark_built(self, *, at: datetime) -> None: ...
    def customer_span(self) -> tuple[int, int] | None:
        """The lowest and highest customer id with an order."""
        ...

    def histories(self, customer_ids: Sequence[int]) -> Mapping[int, list[StoredPurchase]]:
        """Each customer's stored purchases (every customer asked for is a key), held against other
        writers of the same customers until the transaction ends."""
        ...

    def store(
        self,
        purchases: Sequence[StoredPurchase],
        removed: Sequence[int],
        rhythms: Sequence[Rhythm],
        without_purchases: Sequence[int],
    ) -> None:
        """Writes purchases and rhythms, forgets the orders `removed` (no longer purchases) and the
        rhythms of customers left `without_purchases`."""
        ...

    def tallies(self, start: date, end: date) -> list[Tally]: ...
    def lapsed(self, today: date, k: float, limit: int) -> tuple[list[Rhythm], int]: ...
    def failures_of(self, order_ids: Sequence[int]) -> Mapping[int, tuple[str, ...]]:
        """Each order's failures as sorted "component:code"; orders without any are left out."""
        ...
