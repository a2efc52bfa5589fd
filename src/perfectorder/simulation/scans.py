"""A simulated parcel's in-transit scans: when the carrier scans it, the delivery day each scan
estimates (for carriers whose events carry one), and the silences when it scans nothing.

Pure: the random source, the carrier and the parcel's times come in, the scans go out. The
runner draws from its random source here only for carriers that use these options, so a scenario
without them runs exactly as before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from perfectorder.domain.promise import WorkCalendar
from perfectorder.simulation.scenario import Carrier


@dataclass(frozen=True, slots=True)
class PlannedScan:
    at: datetime
    estimate: date | None  # the carrier's estimate of the delivery day, when it gives one


def in_transit_scans(
    rng: random.Random,
    carrier: Carrier,
    *,
    first: datetime,
    arrival: datetime,
    planned: date,
    delay_known_at: datetime | None,
    calendar: WorkCalendar,
) -> list[PlannedScan]:
    """Scans from `first` on, every `carrier.scan_hours` before the `arrival` (only `first` when
    0); a parcel goes silent with probability `scan_gap` for `scan_gap_hours` from one of its later
    scans. Each estimates `planned` (the day before a delay) until the carrier knows of a delay at
    `delay_known_at`, then the real arrival day; `eta_wrong` of estimates are off by a working day."""
    moments = [first]
    if carrier.scan_hours > 0:
        step = timedelta(hours=carrier.scan_hours)
        while moments[-1] + step < arrival:
            moments.append(moments[-1] + step)
    if carrier.scan_gap > 0 and len(moments) > 1 and rng.random() < carrier.scan_gap:
        silent_from = rng.choice(moments[1:])
        silent_until = silent_from + timedelta(hours=carrier.scan_gap_hours)
        moments = [m for m in moments if not silent_from <= m < silent_until]
    return [
        PlannedScan(m, _estimate(rng, carrier, m, arrival, planned, delay_known_at, calendar))
        for m in moments
    ]


def _estimate(
    rng: random.Random,
    carrier: Carrier,
    at: datetime,
    arrival: datetime,
    planned: date,
    delay_known_at: datetime | None,
    calendar: WorkCalendar,
) -> date | None:
    if not carrier.eta:
        return None
    known = arrival.date() if delay_known_at is not None and at >= delay_known_at else planned
    if carrier.eta_wrong > 0 and rng.random() < carrier.eta_wrong:
        return (
            calendar.next_working_day(known) if rng.random() < 0.5 else _previous_working_day(known, calendar)
        )
    return known


def _previous_working_day(day: date, calendar: WorkCalendar) -> date:
    day -= timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day
