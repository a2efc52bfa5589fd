"""What every use case runs with, and the one loop that retries a transaction that lost a race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from perfectorder.domain.approval import RiskRules
from perfectorder.domain.errors import Conflict, Unavailable
from perfectorder.domain.self_service import ReturnWindows
from perfectorder.domain.transit import LearningTerms
from perfectorder.domain.verification import Limits
from perfectorder.metrics.failure_cost import FailureCosts
from perfectorder.services.ports import Clock, TransientConflict, UnitOfWork, UnitOfWorkFactory
from perfectorder.services.promise_risk_ports import RiskLearner
from perfectorder.services.webhook_targets import WebhookGuard

T = TypeVar("T")

# The unit of work of the transaction this call runs inside, if any: a use case called from within
# another (the idempotency wrapper, a batch import) joins its transaction instead of opening one.
_ambient: ContextVar[UnitOfWork | None] = ContextVar("perfectorder_ambient_uow", default=None)
# Set inside `batch`: each use case then runs in a savepoint of the batch's transaction.
_batched: ContextVar[bool] = ContextVar("perfectorder_batched", default=False)


class ConcurrentChange(Conflict):
    """Retries ran out while other transactions kept changing the same thing; nothing was written."""

    def __init__(self) -> None:
        super().__init__(
            "concurrent_change",
            "others kept changing the same order or stock while this ran; nothing was changed, "
            "read it again and retry",
        )


@dataclass(frozen=True, slots=True)
class ServiceContext:
    uow: UnitOfWorkFactory
    clock: Clock
    limits: Limits = field(default_factory=Limits)
    risk: RiskRules = field(default_factory=lambda: RiskRules(review_above=Decimal("10000")))
    retry_attempts: int = 8
    page_size_limit: int = 200
    capture_at_shipment: bool = True
    webhook_guard: WebhookGuard = field(default_factory=WebhookGuard)
    # How long deliveries are signed with a subscription's previous secret too, after a rotation.
    webhook_secret_grace: timedelta = timedelta(hours=24)
    # What a failure costs on the improvement page (PERFECTORDER_FAILURE_COSTS).
    failure_costs: FailureCosts = field(default_factory=FailureCosts)
    # How long a customer's signed status link works, and each carrier's tracking page ({number}).
    status_link_lifetime: timedelta = timedelta(days=120)
    tracking_urls: Mapping[str, str] = field(default_factory=dict)
    return_windows: ReturnWindows = field(default_factory=ReturnWindows)
    transit: LearningTerms = field(default_factory=LearningTerms)
    # Fits the promise-risk model (a library adapter); None in processes that never train.
    risk_learner: RiskLearner | None = None
    risk_window_days: int = 180  # settled orders placed this far back train the model
    # Percent beyond a PO line's quantity a receipt may still accept (PERFECTORDER_PO_OVER_RECEIPT).
    po_over_receipt_percent: Decimal = Decimal(0)
    # Delivered messages older than this leave the outbox for its archive
    # (PERFECTORDER_OUTBOX_RETENTION_DAYS).
    outbox_retention: timedelta = timedelta(days=30)


def run_transaction(ctx: ServiceContext, work: Callable[[UnitOfWork], T], *, read_only: bool = False) -> T:
    """Runs `work` in one transaction, again from the start when it loses a race."""
    ambient = _ambient.get()
    if ambient is not None:
        # The enclosing transaction commits, and retries from its own start if it loses a race.
        with ambient.savepoint() if _batched.get() else nullcontext():
            return work(ambient)
    for attempt in range(ctx.retry_attempts):
        try:
            with ctx.uow(read_only=read_only) as uow:
                token = _ambient.set(uow)
                try:
                    result = work(uow)
                    uow.commit()
                finally:
                    _ambient.reset(token)
                return result
        except TransientConflict:
            # Jittered backoff so the losers of a race do not collide again in lockstep.
            time.sleep(random.uniform(0, 0.002 * (2**attempt)))
    raise ConcurrentChange()


def read(ctx: ServiceContext, work: Callable[[UnitOfWork], T]) -> T:
    ambient = _ambient.get()
    if ambient is not None:
        return work(ambient)
    for attempt in range(ctx.retry_attempts):
        try:
            with ctx.uow(read_only=True) as uow:
                return work(uow)
        except TransientConflict:
            # A read cancelled under us (a read replica replaying what conflicts with it): again.
            time.sleep(random.uniform(0, 0.002 * (2**attempt)))
    raise Unavailable()


@contextmanager
def reading(ctx: ServiceContext) -> Iterator[None]:
    """Runs the reads inside it in one read-only transaction: a page or report that gathers several
    figures takes them over one connection in one transaction, instead of a checkout and a BEGIN per
    figure (on SQLite also from one snapshot). Inside an ambient transaction it simply joins it."""
    if _ambient.get() is not None:
        yield
        return
    try:
        with ctx.uow(read_only=True) as uow:
            token = _ambient.set(uow)
            try:
                yield
            finally:
                _ambient.reset(token)
    except TransientConflict as e:
        # Cancelled under us (a read replica replaying what conflicts with it) midway through a
        # page: the page cannot be re-run from here, so it says "try again", not "bug".
        raise Unavailable() from e


@contextmanager
def batch(ctx: ServiceContext) -> Iterator[None]:
    """Runs the use cases called inside it in one transaction, each in its own savepoint.

    For a single-writer job (the simulator) whose thousands of small steps would otherwise each pay
    for a transaction: a refused step still leaves nothing behind (its savepoint is rolled back), and
    nothing is visible to others until the batch commits. Not for concurrent writers: a lost race
    cannot be retried from the batch's start, so it fails the batch.
    """
    if _ambient.get() is not None:
        raise RuntimeError("batches do not nest")
    with ctx.uow() as uow:
        uow_token, batch_token = _ambient.set(uow), _batched.set(True)
        try:
            yield
            uow.commit()
        finally:
            _batched.reset(batch_token)
            _ambient.reset(uow_token)
