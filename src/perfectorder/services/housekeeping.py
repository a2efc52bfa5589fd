"""The store's upkeep, run by the worker with its periodic jobs: the coming months' partitions,
and delivered messages moved out of the outbox into its archive."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import partial

from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import UnitOfWork

log = logging.getLogger(__name__)

# Rows moved per transaction: each batch holds its row locks briefly, and a worker stopped midway
# has committed what it moved.
ARCHIVE_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Upkeep:
    partitions: tuple[str, ...]  # made in this round
    archived: int
    # Partitions not made, and why: "busy" ones are tried again at the next round.
    problems: tuple[str, ...] = ()


def _make(uow: UnitOfWork, *, table: str, month: date) -> str:
    return uow.storage.make_partition(table, month)


def keep_house(ctx: ServiceContext) -> Upkeep:
    now = ctx.clock.now()
    made, problems = [], []
    # One transaction per partition: the locks of one month's move are held for that move only,
    # and a month that cannot be made does not stop the others or the archive.
    for table, month in read(ctx, lambda uow: uow.storage.partition_plan(now)):
        outcome = run_transaction(ctx, partial(_make, table=table, month=month))
        if outcome == "made":
            made.append(f"{table}_{month:%Y_%m}")
        elif outcome != "exists":
            problems.append(f"{table} {month:%Y-%m}: {outcome}")
            log.warning("partition of %s for %s not made: %s", table, f"{month:%Y-%m}", outcome)
    before = now - ctx.outbox_retention
    archived = 0
    while True:
        moved = run_transaction(
            ctx, lambda uow: uow.outbox.archive_delivered(before=before, at=now, limit=ARCHIVE_BATCH)
        )
        archived += moved
        if moved < ARCHIVE_BATCH:
            return Upkeep(tuple(made), archived, tuple(problems))
