"""Transit times learned from what carriers actually did, per lane, and the promise they give.

A lane is a shipping service (which names the carrier) from one warehouse to one destination
region (country and the first digits of the postal code). Its transit is counted as a promise
counts it: the fewest working days after the ship day that reach the delivery day. The learned
quantiles replace the service's configured transit days once the lane has enough parcels in the
window; below that the configured days stand, and each promise says which basis it used.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from perfectorder.domain.promise import WorkCalendar

N = TypeVar("N", int, float)
QUANTILES = ("p50", "p90", "p95")
CONFIGURED = "configured"
# A parcel "in transit" longer than this is a data error (a delivery scan for the wrong parcel),
# not a transit time to learn from.
MAX_TRANSIT_DAYS = 60


@dataclass(frozen=True, slots=True, order=True)
class Lane:
    service: str
    warehouse_id: int
    region: str  # "DE-10": country and postal prefix


@dataclass(frozen=True, slots=True)
class LaneTransit:
    lane: Lane
    parcels: int
    p50: int
    p90: int
    p95: int
    # P95 over the lane's parcels of their longest silence between scans: longer means stalled.
    gap_p95_hours: float | None = None

    def days(self, quantile: str) -> int:
        return {"p50": self.p50, "p90": self.p90, "p95": self.p95}[quantile]


@dataclass(frozen=True, slots=True)
class TransitChoice:
    days: int
    basis: str  # "configured" or the quantile used ("p90")
    parcels: int = 0  # the learned sample behind it


@dataclass(frozen=True, slots=True)
class LearningTerms:
    quantile: str = "p90"  # or "configured": never use learned times
    window_days: int = 56
    min_parcels: int = 30
    postal_prefix: int = 2


def learning_terms(quantile: str, window_days: int, min_parcels: int, postal_prefix: int) -> LearningTerms:
    """The terms from configuration, refused with what to write instead."""
    if quantile not in (*QUANTILES, CONFIGURED):
        raise ValueError(f"PERFECTORDER_PROMISE_QUANTILE: {quantile!r} is not p50, p90, p95 or configured")
    if not 1 <= window_days <= 730:
        raise ValueError("PERFECTORDER_TRANSIT_WINDOW_DAYS: use 1 to 730 days")
    if min_parcels < 1:
        raise ValueError("PERFECTORDER_TRANSIT_MIN_PARCELS: use 1 or more")
    if not 0 <= postal_prefix <= 10:
        raise ValueError("PERFECTORDER_LANE_POSTAL_PREFIX: use 0 to 10 characters")
    return LearningTerms(quantile, window_days, min_parcels, postal_prefix)


def region(country: str, postal_code: str, prefix: int) -> str:
    digits = "".join(postal_code.split())[:prefix].upper()
    return f"{country.upper()}-{digits}" if digits else country.upper()


def transit_working_days(ship_day: date, delivered_day: date, calendar: WorkCalendar) -> int | None:
    """The fewest working days after `ship_day` that reach `delivered_day` (what a promise made
    with that many days would have needed); None for a delivery before shipping or absurdly late."""
    if delivered_day < ship_day:
        return None
    days, day = 0, calendar.on_or_after(ship_day)
    while day < delivered_day:
        day = calendar.next_working_day(day)
        days += 1
        if days > MAX_TRANSIT_DAYS:
            return None
    return days


def nearest_rank(sorted_days: Sequence[N], q: float) -> N:
    """The smallest value with at least q of the sample at or below it: a promise made with it
    would have been kept for at least that share of these parcels."""
    return sorted_days[max(math.ceil(q * len(sorted_days)) - 1, 0)]


def learn(
    observations: Iterable[tuple[Lane, int]],
    min_parcels: int,
    gaps: Iterable[tuple[Lane, float]] = (),
) -> list[LaneTransit]:
    """Each lane's quantiles from (lane, working days) of its delivered parcels, and the P95 of
    their longest silences (`gaps`, hours); lanes with fewer than `min_parcels` are left out
    (their promises keep the configured days)."""
    by_lane: dict[Lane, list[int]] = defaultdict(list)
    for lane, took in observations:
        by_lane[lane].append(took)
    silences: dict[Lane, list[float]] = defaultdict(list)
    for lane, hours in gaps:
        silences[lane].append(hours)
    learned = []
    for lane, days in sorted(by_lane.items()):
        if len(days) < min_parcels:
            continue
        days.sort()
        p50, p90, p95 = (nearest_rank(days, q) for q in (0.5, 0.9, 0.95))
        gap = sorted(silences.get(lane, ()))
        gap_p95 = nearest_rank(gap, 0.95) if gap else None
        learned.append(LaneTransit(lane, len(days), p50, p90, p95, gap_p95))
    return learned


def choose_transit(
    lane: Lane, configured_days: int, learned: Mapping[Lane, LaneTransit], quantile: str
) -> TransitChoice:
    found = learned.get(lane)
    if found is None or quantile == CONFIGURED:
        return TransitChoice(configured_days, CONFIGURED)
    return TransitChoice(found.days(quantile), quantile, found.parcels)


def signed_working_days(promised: date, delivered: date, calendar: WorkCalendar) -> int:
    """Working days from the promise to the delivery: negative early, 0 on the day, positive late."""
    if delivered == promised:
        return 0
    earlier, later = sorted((promised, delivered))
    days = transit_working_days(earlier, later, calendar) or 0
    return days if delivered > promised else -days


@dataclass(frozen=True, slots=True)
class Scan:
    occurred_at: datetime
    type: str  # a carrier event type: in_transit, delayed, damaged, lost, delivered, ...
    estimated_delivery: date | None = None


@dataclass(frozen=True, slots=True)
class ParcelEta:
    on: date | None  # None: lost
    # "delivered", "carrier" (its latest estimate), "p50" (the lane's learned typical transit
    # from the ship day), "configured" (the service's days), "overdue" (past all of these and not
    # delivered: the next working day at the earliest), "lost".
    basis: str
    stalled: bool  # no scan for longer than the lane's usual longest silence
    silent_hours: float


# Silence that flags a parcel on a lane without a learned one: three days covers a weekend.
DEFAULT_GAP_HOURS = 72.0


def parcel_eta(
    shipped_at: datetime,
    delivered_at: datetime | None,
    scans: Iterable[Scan],
    *,
    learned: LaneTransit | None,
    configured_days: int,
    now: datetime,
    calendar: WorkCalendar,
) -> ParcelEta:
    """When a parcel should arrive now, and on what basis: the carrier's own latest estimate, else
    the lane's typical (P50) transit from the ship day, never before the next working day once
    that has passed; stalled when silent longer than the lane's P95 gap between scans."""
    if delivered_at is not None:
        return ParcelEta(delivered_at.astimezone(UTC).date(), "delivered", False, 0.0)
    ordered = sorted(scans, key=lambda s: s.occurred_at)
    if any(s.type == "lost" for s in ordered):
        return ParcelEta(None, "lost", False, 0.0)
    last = ordered[-1].occurred_at if ordered else shipped_at
    silent = max((now - last).total_seconds() / 3600, 0.0)
    limit = learned.gap_p95_hours if learned is not None and learned.gap_p95_hours else DEFAULT_GAP_HOURS
    stalled = silent > limit
    today = now.astimezone(UTC).date()
    estimated = [s.estimated_delivery for s in ordered if s.estimated_delivery is not None]
    if estimated and estimated[-1] >= today:
        return ParcelEta(estimated[-1], "carrier", stalled, silent)
    basis, days = ("p50", learned.p50) if learned is not None else (CONFIGURED, configured_days)
    typical = calendar.add_working_days(shipped_at.astimezone(UTC).date(), days)
    if typical <= today:
        # Not here although it should be: tomorrow's round at the earliest.
        return ParcelEta(calendar.next_working_day(today), "overdue", stalled, silent)
    return ParcelEta(typical, basis, stalled, silent)


def longest_gap_hours(shipped_at: datetime, scans: Iterable[datetime], delivered_at: datetime) -> float:
    """The longest silence of a delivered parcel: between shipping, each scan and the delivery."""
    moments = [shipped_at, *sorted(scans), delivered_at]
    gaps = ((b - a).total_seconds() / 3600 for a, b in zip(moments, moments[1:], strict=False))
    return max(gaps, default=0.0)


class WorkdayIndex:
    """Working-day counts over a span of dates, so transit of many parcels is two lookups each
    (a scorecard reads tens of thousands): the same answer as `transit_working_days`."""

    def __init__(self, calendar: WorkCalendar, first: date, last: date) -> None:
        self._first = first
        self._calendar = calendar
        self._before: list[int] = []  # working days strictly before first + i
        count = 0
        for i in range((last - first).days + 2):
            self._before.append(count)
            if calendar.is_working_day(first + timedelta(days=i)):
                count += 1

    def _working_before(self, day: date) -> int:
        return self._before[(day - self._first).days]

    def transit(self, ship_day: date, delivered_day: date) -> int | None:
        if delivered_day < ship_day:
            return None
        start = self._calendar.on_or_after(ship_day)
        if delivered_day <= start:
            return 0
        # The start is the k-th working day; the first working day on or after delivery is the
        # (working days before delivery + 1)-th: the difference is the days a promise needed.
        days = self._working_before(delivered_day) + 1 - (self._working_before(start) + 1)
        return days if days <= MAX_TRANSIT_DAYS else None
