"""Pages of figures gathered in one read: the dashboard's overview and improvement list.

Every figure is read from what the last refresh stored (`verdicts.refresh`, a job of the worker);
a page never refreshes, so it writes nothing, and it shows `as_of`, the moment its figures are from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from perfectorder.metrics.failure_cost import FailureCosts
from perfectorder.metrics.kpis import CustomerBehaviour, Kpis
from perfectorder.metrics.perfect_order import Settings
from perfectorder.metrics.rates import Improvement, PerfectOrderRates
from perfectorder.metrics.rollup import rates_from_sums
from perfectorder.services import board, root_causes, verdicts
from perfectorder.services.context import ServiceContext, reading
from perfectorder.services.root_causes import Rank, RankedFailure


@dataclass(frozen=True, slots=True)
class Overview:
    report: dict[str, PerfectOrderRates]  # per slice when grouped
    overall: PerfectOrderRates  # the whole store, or the focused slice
    previous: PerfectOrderRates  # the same, for the period of the same length just before
    trend: tuple[tuple[date, float | None, int], ...]  # (day, perfect order rate, final orders)
    kpis: Kpis
    behaviour: CustomerBehaviour
    late: int
    at_risk: int
    ranked: tuple[Improvement, ...]
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class Improvements:
    overall: PerfectOrderRates
    ranked: tuple[RankedFailure, ...]
    as_of: datetime | None
    costs: FailureCosts  # what the costs were counted with


def overview(
    ctx: ServiceContext,
    placed_from: datetime,
    placed_to: datetime,
    *,
    group_by: str | None = None,
    focus: str | None = None,
    ranked: int = 5,
    settings: Settings = verdicts.DEFAULT_SETTINGS,
) -> Overview:
    """The overview page's figures, in one read transaction. `focus` narrows the tiles and the
    trend to one slice of `group_by` (say channel "web"): the API's groups[key] for that group_by."""
    before_from, before_to = verdicts.previous_period(placed_from, placed_to)
    with reading(ctx):
        report = verdicts.perfect_order_report(
            ctx, placed_from, placed_to, group_by=group_by, settings=settings
        )
        if focus:
            empty = rates_from_sums(verdicts.EMPTY)
            before = verdicts.perfect_order_report(
                ctx, before_from, before_to, group_by=group_by, settings=settings
            )
            overall, previous = report.get(focus, empty), before.get(focus, empty)
        else:
            whole = (
                report
                if group_by is None
                else verdicts.perfect_order_report(ctx, placed_from, placed_to, settings=settings)
            )
            overall = whole["all"]
            previous = verdicts.perfect_order_report(ctx, before_from, before_to, settings=settings)["all"]
        trend = verdicts.perfect_order_trend(
            ctx, placed_from, placed_to, granularity="day", group_by=group_by if focus else None
        )
        kpis, behaviour = verdicts.kpi_report(ctx, placed_from, placed_to)
        late, at_risk = board.late_and_at_risk(ctx)
        return Overview(
            report=report,
            overall=overall,
            previous=previous,
            trend=tuple(
                (p.period, p.rates.perfect_order_rate, p.rates.orders)
                for p in trend
                if p.key == (focus or p.key)
            ),
            kpis=kpis,
            behaviour=behaviour,
            late=late,
            at_risk=at_risk,
            ranked=tuple(
                verdicts.improvement_report(ctx, placed_from, placed_to, limit=ranked, settings=settings)
            ),
            as_of=verdicts.figures_as_of(ctx),
        )


def improvements(
    ctx: ServiceContext, placed_from: datetime, placed_to: datetime, *, limit: int, rank: Rank = "orders"
) -> Improvements:
    """The improvement page: the period's rate and its failures ranked, each with where it
    concentrates and its cost, in one read transaction."""
    with reading(ctx):
        return Improvements(
            overall=verdicts.perfect_order_report(ctx, placed_from, placed_to)["all"],
            ranked=tuple(root_causes.ranked_failures(ctx, placed_from, placed_to, limit=limit, rank=rank)),
            as_of=verdicts.figures_as_of(ctx),
            costs=ctx.failure_costs,
        )
