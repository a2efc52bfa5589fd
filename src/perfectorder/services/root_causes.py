"""The improvement ranking with each failure's root causes and cost: where it concentrates (lift
per lane, carrier, warehouse, category, channel and tier) and what it cost, ranked by the orders
it made imperfect or by money.

Whole UTC days under the default settings read the failure rollups; anything else judges the
period's orders one by one from their facts and adds up the same contributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from perfectorder.metrics.perfect_order import Settings, VerdictState
from perfectorder.metrics.rates import Improvement, improvements
from perfectorder.metrics.root_causes import FailureKey, RootCauses, root_causes, summed, without_slices
from perfectorder.services import verdicts
from perfectorder.services.context import ServiceContext, read, reading

Rank = Literal["orders", "cost"]
RANKS: tuple[Rank, ...] = ("orders", "cost")
SumsBySlice = Mapping[tuple[FailureKey, str, str], tuple[int, int, int]]


@dataclass(frozen=True, slots=True)
class RankedFailure:
    improvement: Improvement
    causes: RootCauses


def ranked_failures(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    limit: int = 10,
    rank: Rank = "orders",
    settings: Settings = verdicts.DEFAULT_SETTINGS,
) -> list[RankedFailure]:
    """The period's failures ranked by the final orders they made imperfect, or by their cost
    (most first; orders settle ties), each with its top slices by excess and its cost."""
    days = verdicts.whole_days(placed_from, placed_to)
    if days is None or settings != verdicts.DEFAULT_SETTINGS:
        return _scanned(ctx, placed_from, placed_to, limit=limit, rank=rank, settings=settings)
    today = ctx.clock.now().astimezone(UTC).date()
    with reading(ctx):
        sums = read(ctx, lambda uow: uow.verdicts.failure_slice_sums(*days, today))
        causes = root_causes(sums, ctx.failure_costs)
        ranked = verdicts.improvement_report(
            ctx, placed_from, placed_to, limit=limit, rank=_ranking(rank, causes)
        )
    return _with_causes(ranked, causes, ctx)


def _with_causes(
    ranked: list[Improvement], causes: Mapping[FailureKey, RootCauses], ctx: ServiceContext
) -> list[RankedFailure]:
    # On PostgreSQL each statement sees what was committed when it began: a refresh committing
    # between the two reads may have stored a failure the rollups' read did not see.
    return [
        RankedFailure(i, causes.get(_key(i)) or without_slices(_key(i), i.orders, ctx.failure_costs))
        for i in ranked
    ]


def _scanned(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    limit: int,
    rank: Rank,
    settings: Settings,
) -> list[RankedFailure]:
    judged = verdicts.rows_between(ctx, placed_from, placed_to, settings=settings)
    final = [(v, row) for v, row in judged if v.state is VerdictState.FINAL]
    causes = root_causes(summed(row for _, row in final), ctx.failure_costs)
    every = improvements((v for v, _ in final), limit=len(final))
    return _with_causes(sorted(every, key=_ranking(rank, causes))[:limit], causes, ctx)


def _key(i: Improvement) -> FailureKey:
    return (i.component, i.code, i.stage)


def _ranking(rank: Rank, causes: Mapping[FailureKey, RootCauses]) -> verdicts.RankKey:
    if rank == "orders":
        return verdicts.by_orders

    def by_cost(i: Improvement) -> tuple[object, ...]:
        found = causes.get(_key(i))
        return (-(found.cost.total if found else 0), *verdicts.by_orders(i))

    return by_cost
