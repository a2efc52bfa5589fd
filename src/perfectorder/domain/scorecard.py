"""How each carrier did with the parcels it was given: per carrier, per service and per lane, and
period by period. Pure: the parcels' outcomes come in, figures go out.

On time is the carrier's part alone: a delivered parcel whose transit (working days from its
ship day) was within the transit its promise counted (the order's `transit_days`; the service's
configured days for orders from before it was recorded). A warehouse that shipped late does not
make the carrier late. Scan compliance: the first carrier scan came within a day of handover.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from perfectorder.domain.transit import nearest_rank

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
    first_scan_hours: float | None  # after handover; None: never scanned


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
    delivered = [p for p in parcels if p.delivered]
    measured = [
        (p.transit_days, p.promised_transit)
        for p in delivered
        if p.transit_days is not None and p.promised_transit is not None
    ]
    transit = sorted(p.transit_days for p in delivered if p.transit_days is not None)
    return Scores(
        parcels=len(parcels),
        delivered=len(delivered),
        on_time=sum(1 for took, promised in measured if took <= promised),
        on_time_measured=len(measured),
        damaged=sum(p.damaged for p in parcels),
        lost=sum(p.lost for p in parcels),
        claims=sum(p.claimed for p in parcels),
        scanned_in_time=sum(
            1 for p in parcels if p.first_scan_hours is not None and p.first_scan_hours <= SCAN_WITHIN_HOURS
        ),
        transit_p50=nearest_rank(transit, 0.5) if transit else None,
        transit_p90=nearest_rank(transit, 0.9) if transit else None,
    )


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
