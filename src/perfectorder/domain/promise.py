"""The promised delivery date, computed once at capture and kept as the original promise.

Dates are calendar dates: a warehouse's cut-off is read in its own time zone, and the carrier's
transit counts working days, skipping weekends and the listed holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from perfectorder.domain.catalog import Warehouse

# Monday is 0: Saturday and Sunday are not worked unless a calendar says otherwise.
WEEKEND = frozenset({5, 6})
# Capacity is looked for this far ahead before the promise is given up as "no slot".
MAX_CAPACITY_LOOKAHEAD_DAYS = 120


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = WEEKEND

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, day: date, count: int) -> date:
        day = self.on_or_after(day)
        for _ in range(count):
            day = self.next_working_day(day)
        return day


def earliest_ship_date(
    placed_at: datetime, warehouse: Warehouse, calendar: WorkCalendar, *, production_days: int = 0
) -> date:
    """First day the warehouse can hand the parcel to the carrier."""
    local = placed_at.astimezone(ZoneInfo(warehouse.timezone))
    day = local.date()
    if not calendar.is_working_day(day) or local.time() >= warehouse.cutoff:
        day = calendar.next_working_day(day)
    return calendar.add_working_days(day, warehouse.handling_days + production_days)


def delivery_date(ship_date: date, transit_days: int, calendar: WorkCalendar) -> date:
    return calendar.add_working_days(ship_date, transit_days)


def backorder_ship_date(placed_at: datetime, lead_time_days: int, calendar: WorkCalendar) -> date:
    """Backordered units wait for the supplier: ship no sooner than the supplier lead time allows."""
    return calendar.add_working_days(placed_at.date(), max(lead_time_days, 0) + 1)


def final_promise(candidates: Iterable[date], requested: date | None) -> date:
    """The order arrives when its last parcel does; a later date the customer asked for wins."""
    latest = max(candidates)
    if requested is not None and requested > latest:
        return requested
    return latest
