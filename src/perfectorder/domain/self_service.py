"""What a customer may do on their own, from the order's status page, and until when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Until picking starts: after that a cancel stops warehouse work in progress, which customer care
# decides (the API and dashboard can cancel until shipping).
CUSTOMER_CANCELLABLE = frozenset({"received", "on_hold", "approved"})


@dataclass(frozen=True, slots=True)
class ReturnWindows:
    """Days after delivery a customer may ask for a return, by product category."""

    default_days: int = 30
    by_category: Mapping[str, int] = field(default_factory=dict)

    def days(self, category: str) -> int:
        return self.by_category.get(category, self.default_days)

    def closes_at(self, delivered_at: datetime, category: str) -> datetime:
        return delivered_at + timedelta(days=self.days(category))


def parse_return_windows(text: str) -> ReturnWindows:
    """ "30,furniture=14,clearance=0": 30 days by default, 14 for furniture, none for clearance."""
    default, by_category = 30, {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        category, _, days = entry.rpartition("=")
        if not days.isdigit() or int(days) > 3650 or (category == "" and "=" in entry):
            raise ValueError(f"PERFECTORDER_RETURN_WINDOWS: {entry!r} is not DAYS or CATEGORY=DAYS")
        if category:
            by_category[category.strip()] = int(days)
        else:
            default = int(days)
    return ReturnWindows(default, by_category)
