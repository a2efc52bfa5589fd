"""The store's upkeep, run by the worker with its periodic jobs: the coming months' partitions,
and delivered messages moved out of the outbox into its archive."""

from __future__ import annotations

from dataclasses import dataclass

from perfectorder.services.context import ServiceContext, run_transaction

# Rows moved per transaction: each batch holds its row locks briefly, and a worker stopped midway
# has committed what it moved.
ARCHIVE_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Upkeep:
    partitions: tuple[str, ...]
    archived: int


def keep_house(ctx: ServiceContext) -> Upkeep:
    now = ctx.clock.now()
    made = run_transaction(ctx, lambda uow: uow.storage.ensure_partitions(now))
    before = now - ctx.outbox_retention
    archived = 0
    while True:
        moved = run_transaction(
            ctx, lambda uow: uow.outbox.archive_delivered(before=before, at=now, limit=ARCHIVE_BATCH)
        )
        archived += moved
        if moved < ARCHIVE_BATCH:
            return Upkeep(tuple(made), archived)
