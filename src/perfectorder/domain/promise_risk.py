"""The chance an open order misses its promise, and why.

An order is seen at one moment of its life (a snapshot): where it is in the cycle, how long it has
been there against how long that stage usually takes, how much time is left before the promise
against what the remaining stages and its lane usually need, its lane's record, the warehouse's
backlog, backorders, holds, the delay watch and the carrier's own delay reports. A logistic model
over those features (fitted elsewhere: this module only applies it) gives a probability whose terms
are the reasons: each feature's share of the log-odds against an average order. The rules the
board used before (due by tomorrow and not shipped, or flagged by the delay watch) stay beside it
as the baseline the model is measured against.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

# Where an order stands; "placed" covers received and not yet approved.
STAGES = ("placed", "on_hold", "approved", "picked", "shipped")
WAREHOUSE_STAGES = ("approved", "picked")  # the stages left before shipping, in order
# The stages an order still has to pass through before shipping, the current one first.
_STAGES_LEFT = {
    "placed": ("placed", "approved", "picked"),
    "on_hold": ("placed", "approved", "picked"),
    "approved": ("approved", "picked"),
    "picked": ("picked",),
}
FEATURES = (
    "slack_days",
    "behind",  # days short of what the remaining stages usually need (0 when there is slack)
    "tight",  # less than a day of slack
    "due_soon",  # the rules' own test: due by the end of tomorrow and not shipped
    "stage_age",
    "lane_late_rate",
    "backlog_days",
    "backordered",
    "on_hold",
    "delay_watch",
    "carrier_delay",
    "stage_approved",
    "stage_picked",
    "stage_shipped",
)
_SLACK = ("behind", "tight", "due_soon")  # explained together, as the time left
MAX_SLACK_DAYS = 15.0
MAX_AGE_RATIO = 5.0
# A lane's late rate is pulled towards the store's by this many orders' worth: a new lane with
# two late orders out of three is not a 67% lane.
LANE_PRIOR_ORDERS = 50
ACTIONS = ("expedite", "re-source", "split", "notify")
MAX_WINDOW_DAYS = 3650


def window_days(days: int) -> int:
    """The training window from configuration, refused with what to write instead."""
    if not 7 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"PERFECTORDER_RISK_WINDOW_DAYS: use 7 to {MAX_WINDOW_DAYS} days")
    return days


@dataclass(frozen=True, slots=True)
class OrderLife:
    """What is known of one order's course, as far as it has gone."""

    order_id: int
    lane: str  # service and destination country: "dhl-express AT"
    placed_at: datetime
    deadline: datetime  # the end of the promised day: delivered after it misses the promise
    approved_at: datetime | None = None
    picked_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    holds: tuple[tuple[datetime, datetime | None], ...] = ()  # (placed, released)
    backordered: bool = False
    lines: int = 1
    flagged_at: datetime | None = None  # the delay watch's first warning
    carrier_delay_at: datetime | None = None  # the carrier's first delay report
    late: bool | None = None  # the outcome, once known (training)

    def stage_at(self, moment: datetime) -> tuple[str, datetime]:
        """The stage at `moment` and when the order entered it."""
        for stage, at in (
            ("shipped", self.shipped_at),
            ("picked", self.picked_at),
            ("approved", self.approved_at),
        ):
            if at is not None and at <= moment:
                return stage, at
        for start, end in self.holds:
            if start <= moment and (end is None or moment < end):
                return "on_hold", start
        return "placed", self.placed_at


@dataclass(frozen=True, slots=True)
class StoreRhythm:
    """How long each stage usually takes and each lane's record, learned with the model."""

    stage_p50_hours: Mapping[str, float]
    stage_p90_hours: Mapping[str, float]
    lane_transit_p50_hours: Mapping[str, float]
    lane_late_rate: Mapping[str, float]
    late_rate: float  # the store's, for lanes it has not seen
    transit_p50_hours: float  # the store's, likewise

    def lane_rate(self, lane: str) -> float:
        return self.lane_late_rate.get(lane, self.late_rate)

    def remaining_hours(self, stage: str, age_hours: float, lane: str) -> float:
        """What the order usually still needs: the warehouse stages after this one, then transit."""
        transit = self.lane_transit_p50_hours.get(lane, self.transit_p50_hours)
        if stage == "shipped":
            return max(transit - age_hours, 0.0)
        todo = _STAGES_LEFT.get(stage, ())
        if not todo:
            return transit
        current = max(self.stage_p50_hours.get(todo[0], 0.0) - age_hours, 0.0)
        return current + sum(self.stage_p50_hours.get(s, 0.0) for s in todo[1:]) + transit


@dataclass(frozen=True, slots=True)
class Snapshot:
    order_id: int
    at: datetime
    stage: str
    features: tuple[float, ...]
    rule_flag: bool  # what the rules say at the same moment
    late: bool | None


def features_at(life: OrderLife, moment: datetime, rhythm: StoreRhythm, backlog_days: float) -> Snapshot:
    stage, since = life.stage_at(moment)
    age = max((moment - since).total_seconds() / 3600, 0.0)
    p90 = rhythm.stage_p90_hours.get(stage) or 24.0
    left = (life.deadline - moment).total_seconds() / 3600
    slack = (left - rhythm.remaining_hours(stage, age, life.lane)) / 24
    slack = max(min(slack, MAX_SLACK_DAYS), -MAX_SLACK_DAYS)
    values = (
        slack,
        max(-slack, 0.0),
        1.0 if 0 <= slack < 1 else 0.0,
        1.0 if stage != "shipped" and life.deadline <= _end_of_tomorrow(moment) else 0.0,
        min(age / p90, MAX_AGE_RATIO),
        rhythm.lane_rate(life.lane),
        backlog_days if stage not in ("shipped",) else 0.0,
        1.0 if life.backordered and stage != "shipped" else 0.0,
        1.0 if stage == "on_hold" else 0.0,
        1.0 if life.flagged_at is not None and life.flagged_at <= moment else 0.0,
        1.0 if life.carrier_delay_at is not None and life.carrier_delay_at <= moment else 0.0,
        1.0 if stage == "approved" else 0.0,
        1.0 if stage == "picked" else 0.0,
        1.0 if stage == "shipped" else 0.0,
    )
    return Snapshot(life.order_id, moment, stage, values, rule_flag(life, moment, stage), life.late)


def rule_flag(life: OrderLife, moment: datetime, stage: str) -> bool:
    """The board's rules at `moment`: flagged by the delay watch, or due by the end of tomorrow and
    not handed to a carrier yet."""
    if life.flagged_at is not None and life.flagged_at <= moment:
        return True
    return stage != "shipped" and life.deadline <= _end_of_tomorrow(moment)


def _end_of_tomorrow(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, tzinfo=moment.tzinfo)


def snapshot_moment(life: OrderLife, fraction: float) -> datetime | None:
    """A moment while the order was open and its outcome not yet certain: between placing and
    the earlier of its delivery and its deadline (past the deadline it is simply late)."""
    end = min(life.delivered_at or life.deadline, life.deadline)
    if end <= life.placed_at:
        return None
    return life.placed_at + (end - life.placed_at) * fraction


# --- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskModel:
    """A fitted logistic model: log-odds = intercept + sum(weight * (x - mean) / scale)."""

    intercept: float
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    rhythm: StoreRhythm
    trained_at: datetime
    orders: int  # snapshots it was fitted on
    base_rate: float  # their share that missed the promise
    # The rules' calibrated chance: how often a flagged and an unflagged snapshot missed.
    rule_rates: tuple[float, float] = (0.0, 0.0)
    quality: Mapping[str, float] = field(default_factory=dict)

    def terms(self, features: Sequence[float]) -> tuple[float, ...]:
        return tuple(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.means, self.scales, strict=True)
        )

    def probability(self, features: Sequence[float]) -> float:
        return _sigmoid(self.intercept + sum(self.terms(features)))

    def rule_probability(self, flagged: bool) -> float:
        return self.rule_rates[0] if flagged else self.rule_rates[1]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    weight: float  # its share of the log-odds, against an average open order
    text: str


@dataclass(frozen=True, slots=True)
class RiskScore:
    order_id: int
    probability: float
    reasons: tuple[Reason, ...]
    action: str
    stage: str
    rule_flag: bool


def explain(model: RiskModel, snap: Snapshot, life: OrderLife, *, top: int = 3) -> RiskScore:
    terms = model.terms(snap.features)
    named = dict(zip(FEATURES, snap.features, strict=True))
    means = dict(zip(FEATURES, model.means, strict=True))
    # Stage indicators explain nothing on their own: their weight joins the stage's age; the
    # slack's bends join the slack.
    pushes: dict[str, float] = {}
    for name, term in zip(FEATURES, terms, strict=True):
        key = "stage_age" if name.startswith("stage_") else "slack_days" if name in _SLACK else name
        pushes[key] = pushes.get(key, 0.0) + term
    ranked = sorted((t, n) for n, t in pushes.items() if t > 0.05 and _adverse(n, named, means, model.rhythm))
    reasons = tuple(
        Reason(n, round(t, 3), _words(n, named, snap.stage, life, model.rhythm)) for t, n in reversed(ranked)
    )[:top]
    probability = model.probability(snap.features)
    return RiskScore(
        snap.order_id, probability, reasons, _action(reasons, snap.stage, life), snap.stage, snap.rule_flag
    )


def _adverse(name: str, x: Mapping[str, float], means: Mapping[str, float], rhythm: StoreRhythm) -> bool:
    """Whether the order stands on the bad side of the feature: a term can raise the odds from the
    good side too (a weight fitted negative, an order below average), and "spent almost no time in
    its stage" is no reason to call an order late-prone."""
    if name == "slack_days":
        return x["slack_days"] < means["slack_days"]
    if name == "lane_late_rate":
        return x[name] > rhythm.late_rate
    if name in ("stage_age", "backlog_days"):
        return x[name] > means[name]
    return x[name] > 0  # the yes/no features: backordered, on hold, warned, delayed


def _words(name: str, x: Mapping[str, float], stage: str, life: OrderLife, rhythm: StoreRhythm) -> str:
    if name == "slack_days":
        days = x["slack_days"]
        if days < 0:
            return f"needs {-days:.1f} days more than the time left before the promise"
        return f"only {days:.1f} days to spare before the promise"
    if name == "stage_age":
        return f"in {stage.replace('_', ' ')} for {x['stage_age']:.1f}x the time 9 in 10 orders need there"
    if name == "lane_late_rate":
        return f"{life.lane} misses {x['lane_late_rate']:.0%} of its promises"
    if name == "backlog_days":
        return f"the warehouse has {x['backlog_days']:.1f} days of orders waiting"
    if name == "backordered":
        return "a line is backordered"
    if name == "on_hold":
        return "on hold"
    if name == "delay_watch":
        return "the delay watch warned"
    if name == "carrier_delay":
        return "the carrier reported a delay"
    return name


def _action(reasons: Sequence[Reason], stage: str, life: OrderLife) -> str:
    first = reasons[0].feature if reasons else ""
    if first == "backordered" or (life.backordered and stage != "shipped"):
        return "split" if life.lines > 1 else "re-source"
    if stage == "shipped" or first in ("carrier_delay", "lane_late_rate"):
        return "notify"  # the parcel is out of the warehouse's hands: tell the customer first
    return "expedite"


# --- learning what the model needs besides its weights ----------------------------------------------


def nearest_rank(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def rhythm_of(lives: Sequence[OrderLife]) -> StoreRhythm:
    """Stage durations and lane records from finished orders."""
    durations: dict[str, list[float]] = {s: [] for s in ("placed", "on_hold", *WAREHOUSE_STAGES)}
    transit: dict[str, list[float]] = {}
    late: dict[str, list[int]] = {}
    for life in lives:
        steps = [("placed", life.placed_at, life.approved_at), ("approved", life.approved_at, life.picked_at)]
        steps.append(("picked", life.picked_at, life.shipped_at))
        for stage, start, end in steps:
            if start is not None and end is not None and end >= start:
                durations[stage].append((end - start).total_seconds() / 3600)
        for start, end in life.holds:
            if end is not None:
                durations["on_hold"].append((end - start).total_seconds() / 3600)
        if life.shipped_at is not None and life.delivered_at is not None:
            transit.setdefault(life.lane, []).append(
                (life.delivered_at - life.shipped_at).total_seconds() / 3600
            )
        if life.late is not None:
            late.setdefault(life.lane, []).append(int(life.late))
    everything = [x for xs in late.values() for x in xs]
    store_rate = sum(everything) / len(everything) if everything else 0.0
    all_transit = [x for xs in transit.values() for x in xs]
    return StoreRhythm(
        stage_p50_hours={s: nearest_rank(v, 0.5) for s, v in durations.items() if v},
        stage_p90_hours={s: nearest_rank(v, 0.9) for s, v in durations.items() if v},
        lane_transit_p50_hours={lane: nearest_rank(v, 0.5) for lane, v in transit.items()},
        lane_late_rate={
            lane: (sum(v) + LANE_PRIOR_ORDERS * store_rate) / (len(v) + LANE_PRIOR_ORDERS)
            for lane, v in late.items()
        },
        late_rate=store_rate,
        transit_p50_hours=nearest_rank(all_transit, 0.5) if all_transit else 48.0,
    )


class Backlog:
    """Orders approved and not yet shipped at a moment, in days of the week before's shipments."""

    def __init__(self, lives: Sequence[OrderLife]) -> None:
        self._approved = sorted(life.approved_at for life in lives if life.approved_at is not None)
        self._shipped = sorted(life.shipped_at for life in lives if life.shipped_at is not None)

    def days_at(self, moment: datetime) -> float:
        waiting = bisect_right(self._approved, moment) - bisect_right(self._shipped, moment)
        week = bisect_right(self._shipped, moment) - bisect_right(self._shipped, moment - timedelta(days=7))
        per_day = week / 7
        return min(max(waiting, 0) / per_day, MAX_SLACK_DAYS) if per_day > 0 else 0.0


# --- how good a score is -----------------------------------------------------------------------------


def brier(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    pairs = list(zip(probabilities, outcomes, strict=True))
    return sum((p - float(y)) ** 2 for p, y in pairs) / len(pairs) if pairs else 0.0


def precision_recall(flags: Sequence[bool], outcomes: Sequence[bool]) -> tuple[float, float]:
    hits = sum(1 for f, y in zip(flags, outcomes, strict=True) if f and y)
    flagged, positives = sum(flags), sum(outcomes)
    return (hits / flagged if flagged else 0.0, hits / positives if positives else 0.0)


def recall_at_precision(probabilities: Sequence[float], outcomes: Sequence[bool], precision: float) -> float:
    """The most of the misses a threshold on the probability finds while at least `precision` of
    what it flags does miss."""
    ranked = sorted(zip(probabilities, outcomes, strict=True), key=lambda pair: -pair[0])
    positives = sum(outcomes)
    best, hits = 0.0, 0
    for i, (p, y) in enumerate(ranked, start=1):
        hits += int(y)
        # Only at the end of a run of equal scores: a threshold cannot split ties.
        if i < len(ranked) and ranked[i][0] == p:
            continue
        if positives and hits / i >= precision:
            best = max(best, hits / positives)
    return best


def end_of_day(day: date) -> datetime:
    """A promised day's end, in UTC: delivered after it, the promise is missed."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
