"""The promised delivery date, computed once at capture and kept as the original promise.

Dates are calendar dates: a warehouse's cut-off is read in its own time zone, and the carrier's
transit counts working days, skipping weekends and the listed holidays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def restock_from_purchase_orders(
    supply: Sequence[tuple[date, int]], owed_before: int, wanted: int
) -> date | None:
    """The promised day of the open purchase order that brings the last of `wanted` units, after
    the units already owed to earlier orders (served oldest promise first, as receipts serve them);
    None when the open orders do not cover them all."""
    need = owed_before + wanted
    if wanted <= 0:
        return None
    for day, units in sorted(supply):
        need -= units
        if need <= 0:
            return day
    return None


def restock_each(supply: Sequence[tuple[date, int]], wanted: Sequence[int]) -> list[date | None]:
    """For backorders waiting in promise order, the promised day of the purchase order that brings
    the last unit of each; None from the first one the open orders no longer cover."""
    out: list[date | None] = []
    owed = 0
    for units in wanted:
        out.append(restock_from_purchase_orders(supply, owed, units))
        owed += units
    return out


def final_promise(candidates: Iterable[date], requested: date | None) -> date:
    """The order arrives when its last parcel does; a later date the customer asked for wins."""
    latest = max(candidates)
    if requested is not None and requested > latest:
        return requested
    return latest


# How a promise is held (metrics.perfect_order.OnTimeBasis): by its day or by its time.
BASES = ("date", "time")
MAX_GRACE_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class OnTimeTerms:
    """The on-time terms an order is judged by, fixed when it is placed: a B2B customer with
    appointment deliveries by time with some grace, a web shop's parcels by day."""

    basis: str = "date"
    grace_minutes: int = 0


def terms_problem(basis: str | None, grace_minutes: int | None) -> tuple[str, str] | None:
    """(field, what to do) when these terms cannot be used; None when they can."""
    if basis is not None and basis not in BASES:
        return "on_time_basis", 'use "date" (the promised day) or "time" (the promised time, plus grace)'
    if grace_minutes is not None and not 0 <= grace_minutes <= MAX_GRACE_MINUTES:
        return "grace_minutes", f"use whole minutes from 0 to {MAX_GRACE_MINUTES}"
    return None


def parse_channel_terms(text: str) -> dict[str, OnTimeTerms]:
    """Channel defaults written `channel=basis[:grace minutes]`, comma-separated, such as
    `phone=time:30,marketplace=date`; raises ValueError naming the part at fault."""
    out: dict[str, OnTimeTerms] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        channel, _, terms = part.partition("=")
        basis, _, grace = terms.strip().partition(":")
        try:
            minutes = int(grace) if grace.strip() else 0
        except ValueError:
            minutes = -1
        if not channel.strip() or terms_problem(basis.strip(), minutes) is not None:
            raise ValueError(
                f"{part!r}: write channel=date or channel=time:MINUTES (grace, 0 to {MAX_GRACE_MINUTES})"
            )
        out[channel.strip()] = OnTimeTerms(basis.strip(), minutes)
    return out
