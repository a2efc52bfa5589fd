"""Use cases of the promise-risk model: train it on the store's settled orders, score every open
order with it, and read the scores (the orders board, the API).

Training sees each settled order once, at a moment while it was still open (a fixed fraction of
its open time drawn from its id, so a retraining sees the same moments), with the features it had
then and whether it went on to miss its promise. Scoring sees each open order now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Conflict, Forbidden, NotFound
from perfectorder.domain.promise_risk import (
    MAX_SLACK_DAYS,
    Backlog,
    OrderLife,
    Reason,
    RiskModel,
    RiskScore,
    Snapshot,
    StoreRhythm,
    brier,
    explain,
    features_at,
    precision_recall,
    recall_at_precision,
    rhythm_of,
    snapshot_moment,
)
from perfectorder.services.board_ports import OPEN_STATUSES
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import UnitOfWork
from perfectorder.services.promise_risk_ports import RiskLearner, StoredScore

TRAIN_EVERY = timedelta(days=1)
SCORE_EVERY = timedelta(minutes=5)
# Fewer settled orders than this, or no miss among them, and there is nothing to learn from yet.
MIN_SNAPSHOTS = 200
_GOLDEN = 2654435761  # Knuth's multiplicative hash: spreads consecutive ids over [0, 1)


def moment_fraction(order_id: int) -> float:
    return ((order_id * _GOLDEN) % 2**32) / 2**32


@dataclass(frozen=True, slots=True)
class Training:
    model: RiskModel
    snapshots: int
    seconds_reading: float = 0.0


def snapshots_of(lives: Sequence[OrderLife], rhythm: StoreRhythm) -> list[Snapshot]:
    """Each settled order seen once while it was open: the training rows, and the rows a model is
    measured on (with the rhythm it learned)."""
    backlog = Backlog(lives)
    out = []
    for life in lives:
        moment = snapshot_moment(life, moment_fraction(life.order_id))
        if moment is not None:
            out.append(features_at(life, moment, rhythm, backlog.days_at(moment)))
    return out


def fit(lives: Sequence[OrderLife], learner: RiskLearner, *, at: datetime) -> tuple[RiskModel, int]:
    rhythm = rhythm_of(lives)
    snaps = snapshots_of(lives, rhythm)
    outcomes = [bool(s.late) for s in snaps]
    misses = sum(outcomes)
    if len(snaps) < MIN_SNAPSHOTS or misses == 0 or misses == len(snaps):
        raise Conflict(
            "not_enough_history",
            f"training needs {MIN_SNAPSHOTS} settled orders with both kept and missed promises "
            f"(found {len(snaps)}, {misses} missed); train again once more orders are delivered",
        )
    fitted = learner.fit([s.features for s in snaps], outcomes)
    flagged = [s.late for s in snaps if s.rule_flag]
    unflagged = [s.late for s in snaps if not s.rule_flag]
    model = RiskModel(
        intercept=fitted.intercept,
        weights=fitted.weights,
        means=fitted.means,
        scales=fitted.scales,
        rhythm=rhythm,
        trained_at=at,
        orders=len(snaps),
        base_rate=misses / len(snaps),
        rule_rates=(
            sum(map(bool, flagged)) / len(flagged) if flagged else 0.0,
            sum(map(bool, unflagged)) / len(unflagged) if unflagged else 0.0,
        ),
    )
    return replace(model, quality=quality(model, snaps)), len(snaps)


def quality(model: RiskModel, snaps: Sequence[Snapshot]) -> dict[str, float]:
    """The model against the rules on the same snapshots: Brier scores (lower is better), the
    rules' precision and recall, and the model's recall at the rules' precision."""
    outcomes = [bool(s.late) for s in snaps]
    model_p = [model.probability(s.features) for s in snaps]
    rules_p = [model.rule_probability(s.rule_flag) for s in snaps]
    precision, recall = precision_recall([s.rule_flag for s in snaps], outcomes)
    return {
        "snapshots": float(len(snaps)),
        "missed": float(sum(outcomes)),
        "brier_model": brier(model_p, outcomes),
        "brier_rules": brier(rules_p, outcomes),
        "rules_precision": precision,
        "rules_recall": recall,
        "model_recall_at_rules_precision": recall_at_precision(model_p, outcomes, precision),
    }


def train(ctx: ServiceContext, *, window_days: int | None = None) -> Training:
    """Fits the model on the orders placed in the window whose promise is settled and stores it."""
    learner = ctx.risk_learner
    if learner is None:
        raise Conflict(
            "risk_learner_missing", "this process was built without a learner; train with the CLI or worker"
        )
    now = ctx.clock.now()
    since = now - timedelta(days=window_days or ctx.risk_window_days)
    lives = read(ctx, lambda uow: uow.promise_risk.finished(since, now))
    model, snapshots = fit(lives, learner, at=now)
    run_transaction(ctx, lambda uow: uow.promise_risk.save_model(model, snapshots=snapshots))
    return Training(model, snapshots)


def latest_model(ctx: ServiceContext) -> RiskModel | None:
    return read(ctx, lambda uow: uow.promise_risk.model())


def train_if_due(ctx: ServiceContext, every: timedelta = TRAIN_EVERY) -> Training | None:
    """Trains when the model is older than `every`; a store without enough history yet is left
    alone until it has (the worker asks at each refresh)."""
    model = latest_model(ctx)
    if model is not None and ctx.clock.now() - model.trained_at < every:
        return None
    try:
        return train(ctx)
    except Conflict as refused:
        if refused.code == "not_enough_history":
            return None
        raise


def score(
    model: RiskModel, lives: Sequence[OrderLife], backlog_days: float, now: datetime
) -> list[RiskScore]:
    out = []
    for life in lives:
        if life.deadline <= now:
            # Past its promise it has missed it: certain, and the customer should hear it.
            stage, _ = life.stage_at(now)
            out.append(RiskScore(life.order_id, 1.0, (_PAST,), "notify", stage, True))
            continue
        out.append(explain(model, features_at(life, now, model.rhythm, backlog_days), life))
    return out


_PAST = Reason("past_promise", 0.0, "the promised day has passed")


def score_open(ctx: ServiceContext) -> int:
    """Scores every open order with the latest model; returns how many (0 before any training)."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> int:
        model = uow.promise_risk.model()
        if model is None:
            return 0
        waiting, shipped_week = uow.promise_risk.backlog(now)
        backlog_days = min(waiting / (shipped_week / 7), MAX_SLACK_DAYS) if shipped_week else 0.0
        scores = score(model, uow.promise_risk.open(), backlog_days, now)
        uow.promise_risk.replace_scores(scores, at=now)
        return len(scores)

    return run_transaction(ctx, work)


def score_if_due(ctx: ServiceContext, every: timedelta = SCORE_EVERY) -> int | None:
    last = read(ctx, lambda uow: uow.promise_risk.riskiest(1))
    if last and ctx.clock.now() - last[0].scored_at < every:
        return None
    return score_open(ctx)


def _staff_only(caller: Principal) -> None:
    # Its reasons are the store's own figures (lane miss rates over every channel, the warehouse's
    # backlog): internals no tenant's key sees, even for its own orders.
    if caller.is_tenant:
        raise Forbidden(
            "forbidden", "order risk is the store's own analysis; read the order's status instead"
        )


def order_risk(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> StoredScore | None:
    """The order's latest score; None when it is not open or not scored yet."""
    _staff_only(caller)

    def work(uow: UnitOfWork) -> StoredScore | None:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("order_not_found", f"no order has id {order_id}", field="order_id")
        if order.status not in OPEN_STATUSES:
            return None  # closed since the last scoring: nothing left to miss
        return uow.promise_risk.scores([order_id]).get(order_id)

    return read(ctx, work)


def riskiest(ctx: ServiceContext, *, limit: int = 50, caller: Principal = SYSTEM) -> list[StoredScore]:
    """Open orders by their chance of missing the promise, highest first."""
    _staff_only(caller)
    return read(ctx, lambda uow: uow.promise_risk.riskiest(limit))
