"""How each carrier did with the parcels it was given: per carrier, per service and per lane, and
period by period. Pure: the parcels' outcomes come in, figures go out.

On time is the carrier's part alone: a delivered parcel whose transit (working days from its
ship day) was within the transit its promise counted (the order's `transit_days`; the service's
configured days for orders from before it was recorded). A warehouse that shipped late does not
make the carrier late. Scan compliance: the first carrier scan came within a day of handover.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

SCAN_WITHIN_HOURS = 24.0


@dataclass(frozen=True, slots=True)
class ParcelOutcome:
    carrier: str
    service: str
    warehouse_id: int
    region: str
    shipped_on: date
    delivered: bool
    transit_days: int | None  # working days, when delivered
    promised_transit: int | None  # what the promise counted
    damaged: bool
    lost: bool
    claimed: bool
    scanned_in_time: bool  # first carrier scan within SCAN_WITHIN_HOURS of handover
    count: int = 1  # parcels alike in all of the above (storage may sum them)


@dataclass(frozen=True, slots=True)
class Scores:
    parcels: int
    delivered: int
    on_time: int
    on_time_measured: int  # delivered parcels with a known promised transit
    damaged: int
    lost: int
    claims: int
    scanned_in_time: int
    transit_p50: int | None
    transit_p90: int | None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.on_time_measured if self.on_time_measured else None

    @property
    def damage_rate(self) -> float | None:
        return self.damaged / self.parcels if self.parcels else None

    @property
    def loss_rate(self) -> float | None:
        return self.lost / self.parcels if self.parcels else None

    @property
    def scan_compliance(self) -> float | None:
        return self.scanned_in_time / self.parcels if self.parcels else None


@dataclass(frozen=True, slots=True)
class Row:
    carrier: str
    service: str | None  # None: the carrier as a whole
    warehouse_id: int | None  # with region: one lane
    region: str | None
    scores: Scores


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: date  # first day of the week or month
    carrier: str
    scores: Scores


@dataclass(frozen=True, slots=True)
class Scorecard:
    carriers: tuple[Row, ...]
    services: tuple[Row, ...]
    lanes: tuple[Row, ...]
    trend: tuple[TrendPoint, ...] = field(default=())


def score(parcels: Sequence[ParcelOutcome]) -> Scores:
    parcels_n = delivered = on_time = measured = damaged = lost = claims = scanned = 0
    transit: Counter[int] = Counter()
    for p in parcels:
        n = p.count
        parcels_n += n
        damaged += p.damaged * n
        lost += p.lost * n
        claims += p.claimed * n
        scanned += p.scanned_in_time * n
        if not p.delivered:
            continue
        delivered += n
        if p.transit_days is not None:
            transit[p.transit_days] += n
            if p.promised_transit is not None:
                measured += n
                on_time += n if p.transit_days <= p.promised_transit else 0
    return Scores(
        parcels=parcels_n,
        delivered=delivered,
        on_time=on_time,
        on_time_measured=measured,
        damaged=damaged,
        lost=lost,
        claims=claims,
        scanned_in_time=scanned,
        transit_p50=_rank(transit, 0.5),
        transit_p90=_rank(transit, 0.9),
    )


def _rank(counts: Counter[int], q: float) -> int | None:
    """Nearest rank over a histogram: the smallest value with at least q of the sample at or
    below it (as domain.transit.nearest_rank over the expanded sample)."""
    total = counts.total()
    if not total:
        return None
    wanted, seen = max(math.ceil(q * total), 1), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= wanted:
            return value
    return None  # unreachable: seen reaches total


def scorecard(parcels: Iterable[ParcelOutcome], period_of: Callable[[date], date]) -> Scorecard:
    """Figures per carrier, carrier and service, and lane, and each carrier's per period
    (`period_of` maps a ship day to its period's first day)."""
    carriers: dict[str, list[ParcelOutcome]] = defaultdict(list)
    services: dict[tuple[str, str], list[ParcelOutcome]] = defaultdict(list)
    lanes: dict[tuple[str, str, int, str], list[ParcelOutcome]] = defaultdict(list)
    trend: dict[tuple[date, str], list[ParcelOutcome]] = defaultdict(list)
    for p in parcels:
        carriers[p.carrier].append(p)
        services[p.carrier, p.service].append(p)
        lanes[p.carrier, p.service, p.warehouse_id, p.region].append(p)
        trend[period_of(p.shipped_on), p.carrier].append(p)
    return Scorecard(
        tuple(Row(c, None, None, None, score(ps)) for c, ps in sorted(carriers.items())),
        tuple(Row(c, s, None, None, score(ps)) for (c, s), ps in sorted(services.items())),
        tuple(Row(c, s, w, r, score(ps)) for (c, s, w, r), ps in sorted(lanes.items())),
        tuple(TrendPoint(day, c, score(ps)) for (day, c), ps in sorted(trend.items())),
    )
