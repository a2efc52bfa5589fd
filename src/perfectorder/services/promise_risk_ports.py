"""What the promise-risk model needs from storage and from a library that fits it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from perfectorder.domain.promise_risk import OrderLife, RiskModel, RiskScore


@dataclass(frozen=True, slots=True)
class Fit:
    """A logistic model fitted on standardised features."""

    intercept: float
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]


class RiskLearner(Protocol):
    def fit(self, rows: Sequence[Sequence[float]], outcomes: Sequence[bool]) -> Fit: ...


@dataclass(frozen=True, slots=True)
class StoredScore:
    order_id: int
    probability: float
    rule_flag: bool
    stage: str
    action: str
    reasons: tuple[tuple[str, float, str], ...]  # (feature, weight, words), strongest first
    scored_at: datetime


class PromiseRiskRepository(Protocol):
    def finished(self, since: datetime, until: datetime) -> list[OrderLife]:
        """Orders placed in [since, until) whose promise is settled (delivered, or lost and judged
        late), with their outcome."""
        ...

    def open(self) -> list[OrderLife]:
        """Every order not yet delivered or cancelled, as far as it has gone."""
        ...

    def backlog(self, now: datetime) -> tuple[int, int]:
        """(orders approved and not shipped, orders shipped in the 7 days before `now`)."""
        ...

    def save_model(self, model: RiskModel, *, snapshots: int) -> None: ...
    def model(self) -> RiskModel | None:
        """The latest trained model, or None before the first training."""
        ...

    def replace_scores(self, scores: Sequence[RiskScore], *, at: datetime) -> None:
        """The scores of the open orders, replacing every earlier score."""
        ...

    def scores(self, order_ids: Sequence[int]) -> Mapping[int, StoredScore]: ...
    def riskiest(self, limit: int) -> list[StoredScore]:
        """Open orders by their chance of missing the promise, highest first."""
        ...
