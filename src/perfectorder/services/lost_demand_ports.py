"""What lost demand needs from storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from perfectorder.domain.sourcing import LostLine


@dataclass(frozen=True, slots=True)
class LostBySku:
    """The lines of one SKU, warehouse and currency refused in a period, summed."""

    sku: str
    warehouse: str
    currency: str
    lines: int
    units: int
    value: Decimal


class LostDemandRepository(Protocol):
    def record(self, channel: str, external_ref: str, lines: Sequence[LostLine], *, at: datetime) -> None:
        """The order's refused lines; a retry of the same order replaces them."""
        ...

    def summed(self, start: datetime, end: datetime) -> list[LostBySku]:
        """Lines refused in [start, end) whose order was never placed after all."""
        ...

    def lines_ordered(self, start: datetime, end: datetime) -> int:
        """Lines of the orders placed in [start, end): the demand that was served."""
        ...
