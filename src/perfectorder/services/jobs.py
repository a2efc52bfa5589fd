"""Long jobs say how far they are as they go, so whoever watches the store can tell: the demo's
dashboard serves while the simulation is still filling the store behind it."""

from __future__ import annotations

from datetime import datetime, timedelta

from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import JobProgress

# A job that has said nothing for this long has most likely stopped (interrupted, killed).
SILENT_AFTER = timedelta(minutes=2)


def report(ctx: ServiceContext, progress: JobProgress) -> None:
    run_transaction(ctx, lambda uow: uow.jobs.save(progress))


def unfinished(ctx: ServiceContext) -> list[JobProgress]:
    """Jobs that started and have not said they finished, oldest first."""
    return read(ctx, lambda uow: uow.jobs.unfinished())


def is_stalled(progress: JobProgress, now: datetime) -> bool:
    return now - progress.updated_at > SILENT_AFTER
