"""The Perfect Order verdict of one order: each component, and for each failure its reason and stage.

An order is perfect when it is complete, on time, accurate, undamaged and well communicated.
Open orders are pending; a delivered order's verdict is provisional until the settlement window
(returns, claims) has passed, then final. Cancelled orders get no verdict of their own.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from perfectorder.domain.fulfilment import PARCEL_LOSSES
from perfectorder.domain.notifications import SentMessage, communication_verdict
from perfectorder.metrics.measures import COMPONENTS

LOSS_CODES = frozenset(PARCEL_LOSSES.values())

__all__ = ["COMPONENTS", "Verdict", "evaluate"]


class LineTiming(enum.StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    EARLY = "early"  # before its delivery window opened
    NEVER = "never"  # in a parcel the carrier lost
    CANCELLED = "cancelled"  # nothing left to deliver: not judged


class VerdictState(enum.StrEnum):
    PENDING = "pending"
    PROVISIONAL = "provisional"
    FINAL = "final"
    CANCELLED = "cancelled"


class OnTimeReference(enum.StrEnum):
    ORIGINAL = "original"
    LATEST = "latest"
    REQUESTED = "requested"


class OnTimeBasis(enum.StrEnum):
    DATE = "date"  # arrived on or before the promised day, in the destination's calendar
    TIME = "time"  # arrived by the promised time (a date-only promise: by the end of its day), plus grace


@dataclass(frozen=True, slots=True)
class Settings:
    reference: OnTimeReference = OnTimeReference.ORIGINAL
    tolerance_days: int = 0
    settlement: timedelta = timedelta(days=30)
    # None: each order's own terms (its customer's or channel's, fixed when it was placed).
    basis: OnTimeBasis | None = None
    grace_minutes: int | None = None


DEFAULT = Settings()


@dataclass(frozen=True, slots=True)
class LineFact:
    sku: str
    quantity: int
    shipped_qty: int
    cancelled_qty: int = 0
    # The line's own schedule, when it has one (split deliveries, per-line promises); else the order's.
    promised_on: date | None = None
    promised_by: datetime | None = None  # the promised time, when the promise has one
    promised_from: datetime | None = None  # a delivery window's start: arriving before it fails
    arrived_at: datetime | None = None  # when its last unit arrived, when known per line
    never_arrived: bool = False  # its parcel was lost


@dataclass(frozen=True, slots=True)
class ShipmentFact:
    carrier: str
    warehouse: str
    shipped_at: datetime
    delivered_at: datetime | None
    lost_at: datetime | None = None  # the carrier's loss claim: this parcel will never arrive


@dataclass(frozen=True, slots=True)
class IssueFact:
    criterion: str
    stage: str
    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackFact:
    rating: int
    arrived_complete: bool | None
    undamaged: bool | None
    as_described: bool | None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: int
    placed_at: datetime
    promised_date: date
    promised_ship_date: date
    cancelled: bool
    lines: tuple[LineFact, ...]
    shipments: tuple[ShipmentFact, ...] = ()
    issues: tuple[IssueFact, ...] = ()
    messages: tuple[SentMessage, ...] | None = None  # None: what was sent is not known (imports)
    feedback: FeedbackFact | None = None
    rescheduled_date: date | None = None
    requested_date: date | None = None
    destination_timezone: str = "UTC"
    unmeasured: frozenset[str] = frozenset()  # components the facts cannot tell (imported history)
    promised_by: datetime | None = None  # the promise's time, when it has one (appointments, freight)
    promised_from: datetime | None = None  # a delivery window's start: arriving before it fails
    on_time_basis: OnTimeBasis = OnTimeBasis.DATE  # the order's terms, from its customer or channel
    grace_minutes: int = 0


@dataclass(frozen=True, slots=True)
class Failure:
    component: str
    reason: str
    stage: str
    code: str

    def __str__(self) -> str:
        return f"{self.component}: {self.reason}; stage: {self.stage}"


@dataclass(frozen=True, slots=True)
class Verdict:
    order_id: int
    state: VerdictState
    components: dict[str, bool | None] = field(default_factory=dict)  # None: not measured
    failures: tuple[Failure, ...] = ()
    # Each line's arrival against its own promise, in the order of the facts' lines (LineTiming);
    # empty when on time is not measured.
    lines: tuple[LineTiming, ...] = ()

    @property
    def lines_evaluated(self) -> int:
        return sum(t is not LineTiming.CANCELLED for t in self.lines)

    @property
    def lines_late(self) -> int:
        """Lines not on time: late, early for their window, or never arrived."""
        return sum(t in (LineTiming.LATE, LineTiming.EARLY, LineTiming.NEVER) for t in self.lines)

    @property
    def perfect(self) -> bool | None:
        if self.state in (VerdictState.PENDING, VerdictState.CANCELLED):
            return None
        if self.failures:
            return False
        # Perfect means all five held; with one not measured, we cannot say so.
        return None if any(ok is None for ok in self.components.values()) else True


def evaluate(facts: OrderFacts, *, now: datetime, settings: Settings = DEFAULT) -> Verdict:
    if facts.cancelled:
        return Verdict(facts.order_id, VerdictState.CANCELLED)
    delivered = _delivered_at(facts)
    if delivered is None:
        return Verdict(facts.order_id, VerdictState.PENDING)
    final = now.astimezone(UTC).date() >= final_from(delivered, settings.settlement)
    state = VerdictState.FINAL if final else VerdictState.PROVISIONAL
    timings = line_timings(facts, delivered, settings)
    failures = [
        *_complete(facts, delivered),
        *_on_time(facts, delivered, settings, timings),
        *_accurate(facts),
        *_undamaged(facts),
    ]
    communicated = _communicated(facts, delivered)
    if communicated is not None:
        failures += communicated
    # A component without facts is not measured: never counted as perfect, never as failed.
    failures = [f for f in failures if f.component not in facts.unmeasured]
    components: dict[str, bool | None] = {c: not any(f.component == c for f in failures) for c in COMPONENTS}
    for c in facts.unmeasured:
        components[c] = None
    if facts.messages is None:
        components["communicated"] = None
    measured = "on_time" not in facts.unmeasured
    return Verdict(facts.order_id, state, components, tuple(failures), tuple(timings) if measured else ())


def final_from(delivered_at: datetime, settlement: timedelta) -> date:
    """Final from the UTC day after the settlement window closes: a whole-day rule, so a daily
    rollup and a single order's verdict always agree."""
    return (delivered_at + settlement).astimezone(UTC).date() + timedelta(days=1)


def delivered_at(facts: OrderFacts) -> datetime | None:
    return _delivered_at(facts)


def _delivered_at(facts: OrderFacts) -> datetime | None:
    """The order's outcome is known when every parcel was delivered or lost and nothing is left to
    ship: from then it is judged. A lost parcel decides it at claim time; a reshipment is another
    order, linked to this one, and judged on its own."""
    ends = [_ended_at(s) for s in facts.shipments]
    if not ends or any(end is None for end in ends):
        return None
    if any(x.shipped_qty < x.quantity - x.cancelled_qty for x in facts.lines) and not _lost(facts):
        return None
    return max(end for end in ends if end is not None)


def _ended_at(s: ShipmentFact) -> datetime | None:
    return s.delivered_at if s.delivered_at is not None else s.lost_at


def _lost(facts: OrderFacts) -> bool:
    return any(i.code in LOSS_CODES for i in facts.issues)


def _lost_parcels(facts: OrderFacts) -> list[ShipmentFact]:
    return [s for s in facts.shipments if s.delivered_at is None and s.lost_at is not None]


def _local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _complete(facts: OrderFacts, delivered: datetime) -> list[Failure]:
    out = []
    short = [x for x in facts.lines if x.shipped_qty < x.quantity - x.cancelled_qty]
    if short:
        out.append(
            Failure(
                "complete",
                f"{sum(x.quantity - x.cancelled_qty - x.shipped_qty for x in short)} unit(s) never shipped",
                "picking",
                "short_shipment",
            )
        )
    for issue in facts.issues:
        if issue.criterion == "complete" and issue.stage != "picking":
            out.append(
                Failure("complete", issue.detail or issue.code.replace("_", " "), issue.stage, issue.code)
            )
    if len(facts.shipments) > 1 and any(i.code == "short_pick" for i in facts.issues):
        last = _local_date(delivered, facts.destination_timezone)
        if last > facts.promised_date:
            out.append(
                Failure(
                    "complete", "backordered units arrived after the promise", "picking", "late_backorder"
                )
            )
    if facts.feedback is not None and facts.feedback.arrived_complete is False and not out:
        out.append(
            Failure("complete", "the customer says it arrived incomplete", "packing", "feedback_incomplete")
        )
    return out


def _reference_date(facts: OrderFacts, settings: Settings) -> date:
    if settings.reference is OnTimeReference.LATEST and facts.rescheduled_date is not None:
        return facts.rescheduled_date
    if settings.reference is OnTimeReference.REQUESTED and facts.requested_date is not None:
        return facts.requested_date
    return facts.promised_date


def overdue_before(moment: datetime, timezone: str, settings: Settings = DEFAULT) -> date:
    """An order whose on-time reference date is before this one is not on time when delivered at
    `moment` (calendar days in the destination's time zone, plus the tolerance). The verdict judges
    a delivery by it; the board calls an open order late by it at the present moment."""
    return _local_date(moment, timezone) - timedelta(days=settings.tolerance_days)


def due_soon_before(moment: datetime, timezone: str, settings: Settings = DEFAULT) -> date:
    """An order not yet shipped whose due date is before this one is at risk at `moment`: unless it
    arrives by the end of tomorrow (the destination's calendar) it will be late by `overdue_before`."""
    return overdue_before(moment + timedelta(days=2), timezone, settings)


@dataclass(frozen=True, slots=True)
class Promise:
    """What one line was promised: a day, maybe a time on it, maybe a window's start."""

    day: date
    by: datetime | None
    start: datetime | None

    def deadline(self, timezone: str) -> datetime:
        """The last moment on time by the clock: the promised time, or the end of the promised day."""
        if self.by is not None:
            return self.by
        midnight = datetime.combine(self.day + timedelta(days=1), time(), ZoneInfo(timezone))
        return midnight - timedelta(microseconds=1)


def line_promise(facts: OrderFacts, line: LineFact, settings: Settings) -> Promise:
    if line.promised_on is not None:
        return Promise(line.promised_on, line.promised_by, line.promised_from)
    day = _reference_date(facts, settings)
    # A rescheduled or requested day replaces the promised time too: only the day is known then.
    by = facts.promised_by if day == facts.promised_date else None
    return Promise(day, by, facts.promised_from)


def judge_arrival(
    arrival: datetime,
    promise: Promise,
    timezone: str,
    basis: OnTimeBasis,
    grace: timedelta,
    tolerance_days: int,
) -> LineTiming:
    """On time, late or early, by the calendar (`date`: the destination's days) or by the clock
    (`time`: the promised time, or the end of the promised day, plus grace; a window's start minus
    grace). Tolerance days stretch the end only."""
    if basis is OnTimeBasis.DATE:
        arrived_on = _local_date(arrival, timezone)
        if promise.day < arrived_on - timedelta(days=tolerance_days):
            return LineTiming.LATE
        if promise.start is not None and arrived_on < _local_date(promise.start, timezone):
            return LineTiming.EARLY
        return LineTiming.ON_TIME
    end = promise.deadline(timezone)
    if arrival > end + grace + timedelta(days=tolerance_days):
        return LineTiming.LATE
    if promise.start is not None and arrival < promise.start - grace:
        return LineTiming.EARLY
    return LineTiming.ON_TIME


def _terms(facts: OrderFacts, settings: Settings) -> tuple[OnTimeBasis, timedelta]:
    """The report's basis and grace where it sets them, else the order's own."""
    basis = settings.basis or facts.on_time_basis
    minutes = facts.grace_minutes if settings.grace_minutes is None else settings.grace_minutes
    return basis, timedelta(minutes=minutes)


def line_timings(facts: OrderFacts, delivered: datetime, settings: Settings) -> list[LineTiming]:
    """Each line against its own promise: a line arrived when its last unit did (the order's last
    arrival when the facts do not say per line)."""
    lost = bool(_lost_parcels(facts))
    out = []
    for line in facts.lines:
        if line.quantity <= line.cancelled_qty:
            out.append(LineTiming.CANCELLED)
        elif line.never_arrived or (lost and line.arrived_at is None):
            out.append(LineTiming.NEVER)
        else:
            out.append(_judge_line(facts, line, delivered, settings))
    return out


def _judge_line(facts: OrderFacts, line: LineFact, delivered: datetime, settings: Settings) -> LineTiming:
    basis, grace = _terms(facts, settings)
    return judge_arrival(
        line.arrived_at or delivered,
        line_promise(facts, line, settings),
        facts.destination_timezone,
        basis,
        grace,
        settings.tolerance_days,
    )


def _on_time(
    facts: OrderFacts, delivered: datetime, settings: Settings, timings: Sequence[LineTiming]
) -> list[Failure]:
    lost = _lost_parcels(facts)
    if lost:
        carriers = ", ".join(sorted({s.carrier for s in lost}))
        code = next((i.code for i in facts.issues if i.code in LOSS_CODES), "lost_in_transit")
        return [
            Failure(
                "on_time",
                f"never delivered: {code.split('_')[0]} by carrier {carriers}",
                "shipping",
                code,
            )
        ]
    pairs: list[tuple[LineFact, LineTiming]] = [
        (x, t) for x, t in zip(facts.lines, timings, strict=True) if t is not LineTiming.CANCELLED
    ]
    if not pairs:
        # No line to judge (a history order without lines): the order's promise and last arrival.
        whole = LineFact("", 1, 1)
        pairs = [(whole, _judge_line(facts, whole, delivered, settings))]
    out = []
    late = [(x, t) for x, t in pairs if t is LineTiming.LATE]
    if late:
        out.append(_late_failure(facts, delivered, settings, late, len(pairs)))
    early = [x for x, t in pairs if t is LineTiming.EARLY]
    if early:
        arrival = min(x.arrived_at or delivered for x in early)
        start = min(line_promise(facts, x, settings).start or arrival for x in early)
        out.append(
            Failure(
                "on_time",
                f"{_lines(len(early), len(pairs))}delivered {_span(start - arrival)} before the delivery "
                "window opened",
                "shipping",
                "early_delivery",
            )
        )
    return out


def _lines(some: int, of: int) -> str:
    return "" if of <= 1 or some == of else f"{some} of {of} lines "


def _span(gap: timedelta) -> str:
    if gap >= timedelta(days=1):
        return f"{gap.days} day(s)"
    minutes = max(1, int(gap.total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _late_failure(
    facts: OrderFacts,
    delivered: datetime,
    settings: Settings,
    late: Sequence[tuple[LineFact, LineTiming]],
    evaluated: int,
) -> Failure:
    basis, _ = _terms(facts, settings)
    if basis is OnTimeBasis.DATE:
        days = max(
            (
                _local_date(x.arrived_at or delivered, facts.destination_timezone)
                - line_promise(facts, x, settings).day
            ).days
            for x, _ in late
        )
        how = f"{days} day(s) after the promise"
    else:
        gaps = [
            (x.arrived_at or delivered)
            - line_promise(facts, x, settings).deadline(facts.destination_timezone)
            for x, _ in late
        ]
        how = f"{_span(max(gaps))} after the promised time"
    first_shipped = min(s.shipped_at for s in facts.shipments)
    if first_shipped.date() > facts.promised_ship_date:
        stage, where = (
            "warehouse",
            f"shipped {(first_shipped.date() - facts.promised_ship_date).days} day(s) late",
        )
    else:
        stage, where = "shipping", f"carrier {', '.join(sorted({s.carrier for s in facts.shipments}))}"
    return Failure(
        "on_time", f"{_lines(len(late), evaluated)}delivered {how}, {where}", stage, "late_delivery"
    )


def _accurate(facts: OrderFacts) -> list[Failure]:
    # Refused scans never reached the customer; what reached them is judged here.
    out = [
        Failure("accurate", i.detail or i.code.replace("_", " "), i.stage, i.code)
        for i in facts.issues
        if i.criterion == "accurate" and i.code != "picking_error"
    ]
    if facts.feedback is not None and facts.feedback.as_described is False and not out:
        out.append(
            Failure(
                "accurate",
                "the customer says it was not as described",
                "catalog",
                "feedback_not_as_described",
            )
        )
    return out


def _undamaged(facts: OrderFacts) -> list[Failure]:
    out = [
        Failure("undamaged", i.detail or i.code.replace("_", " "), i.stage, i.code)
        for i in facts.issues
        if i.criterion == "undamaged"
    ]
    if facts.feedback is not None and facts.feedback.undamaged is False and not out:
        out.append(
            Failure("undamaged", "the customer says it arrived damaged", "shipping", "feedback_damaged")
        )
    return out


def _communicated(facts: OrderFacts, delivered: datetime) -> list[Failure] | None:
    if facts.messages is None:
        return None
    shipped = min((s.shipped_at for s in facts.shipments), default=None)
    # A lost parcel never arrived: no arrival day, so no delay notice is asked of it.
    arrived = None if _lost_parcels(facts) else _local_date(delivered, facts.destination_timezone)
    verdict = communication_verdict(
        placed_at=facts.placed_at,
        shipped_at=shipped,
        promised_date=facts.promised_date,
        delivered_on=arrived,
        messages=facts.messages,
    )
    return [Failure("communicated", reason, "communication", code) for code, reason in verdict.failures]


def verdicts_of(facts: Sequence[OrderFacts], *, now: datetime, settings: Settings = DEFAULT) -> list[Verdict]:
    return [evaluate(f, now=now, settings=settings) for f in facts]
