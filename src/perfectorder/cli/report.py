"""`perfectorder report`: the Perfect Order figures for a period, as a table or as JSON."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.bootstrap import Application
from perfectorder.cli.common import console, run
from perfectorder.domain.promise import MAX_GRACE_MINUTES
from perfectorder.metrics.perfect_order import COMPONENTS, OnTimeBasis, OnTimeReference, Settings
from perfectorder.metrics.rates import PerfectOrderRates
from perfectorder.services import verdicts


def _figures(r: PerfectOrderRates) -> dict[str, object]:
    return {
        "orders": r.orders,
        "perfect_order_rate": r.perfect_order_rate,
        "perfect_order_index": r.perfect_order_index,
        "components": {
            k: {"rate": c.rate, "evaluated": c.evaluated, "failed": c.failed} for k, c in r.components.items()
        },
        "pending": r.pending,
        "provisional": r.provisional,
        "cancelled": r.cancelled,
        "lines_evaluated": r.lines_evaluated,
        "lines_late": r.lines_late,
        "line_on_time_rate": r.line_on_time_rate,
    }


def _day(text: str, option: str) -> date:
    # As the API reads its period: a calendar date written YYYY-MM-DD, nothing looser.
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it YYYY-MM-DD", param_hint=option) from None


def _placed(r: PerfectOrderRates) -> int:
    return r.orders + r.pending + r.provisional + r.cancelled


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _terms(settings: Settings) -> str:
    if settings.basis is None and settings.grace_minutes is None:
        return ""
    basis = settings.basis.value if settings.basis else "each order's"
    grace = "" if settings.grace_minutes is None else f", {settings.grace_minutes} min grace"
    return f" (on time by {basis}{grace})"


def report(
    start: Annotated[
        str | None, typer.Option("--from", help="First day placed, YYYY-MM-DD (default: 30 days before --to)")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day placed, inclusive (default: today)")
    ] = None,
    group_by: Annotated[
        str | None, typer.Option(help="channel, warehouse, carrier, category or tier")
    ] = None,
    on_time_reference: Annotated[OnTimeReference, typer.Option(help="original, latest or requested")] = (
        OnTimeReference.ORIGINAL
    ),
    on_time_tolerance_days: Annotated[int, typer.Option(min=0, max=30, help="Days late still on time")] = 0,
    on_time_basis: Annotated[
        OnTimeBasis | None,
        typer.Option(
            help="date (the promised day) or time (the promised time plus grace); default: each order's"
        ),
    ] = None,
    grace_minutes: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_GRACE_MINUTES, help="Minutes late still on time at time basis"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same figures as the API, as JSON")] = False,
    database_url: Annotated[str | None, typer.Option(help="Overrides PERFECTORDER_DATABASE_URL")] = None,
) -> None:
    """Perfect order rate, component rates and index of the orders placed in a period. Stores the
    verdicts of orders changed since the last refresh first, so the figures are current."""
    if database_url:
        os.environ["PERFECTORDER_DATABASE_URL"] = database_url
    if group_by not in (None, "channel", "warehouse", "carrier", "category", "tier"):
        raise typer.BadParameter("use channel, warehouse, carrier, category or tier", param_hint="--group-by")
    last = _day(end, "--to") if end else date.today()
    first = _day(start, "--from") if start else last - timedelta(days=30)
    settings = Settings(
        on_time_reference, on_time_tolerance_days, basis=on_time_basis, grace_minutes=grace_minutes
    )

    def action(a: Application) -> tuple[dict[str, PerfectOrderRates], tuple[date, date] | None]:
        bounds = verdicts.report_period(first, last)  # the API's rule: reversed refused, long allowed
        # A command-line job may write; the API's and dashboard's reports never refresh themselves.
        verdicts.refresh(a.services)
        groups = verdicts.perfect_order_report(a.services, *bounds, group_by=group_by, settings=settings)
        return groups, verdicts.placed_span(a.services)

    groups, span = run(action)
    everything = groups.get("all") or next(iter(groups.values()), None)
    if not as_json and span is not None and (everything is None or _placed(everything) == 0):
        # Years of imported history and the default last 30 days: say where the orders are.
        console.print(
            f"No orders were placed from {first} to {last}. The store's orders were placed from "
            f"{span[0]} to {span[1]}: try --from {span[0]} --to {span[1]}."
        )
    if as_json:
        body = _figures(groups["all"]) if group_by is None else {k: _figures(v) for k, v in groups.items()}
        console.print_json(json.dumps(body))
        return
    table = Table(
        group_by or "period",
        "final orders",
        "perfect",
        "index",
        *COMPONENTS,
        "lines judged",
        "lines late",
        "provisional",
        "pending",
        "cancelled",
        title=f"Perfect Order {first} to {last}" + _terms(settings),
    )
    for key, r in groups.items():
        table.add_row(
            key if group_by else f"{first}..{last}",
            str(r.orders),
            _pct(r.perfect_order_rate),
            _pct(r.perfect_order_index),
            *(_pct(r.components[c].rate) for c in COMPONENTS),
            str(r.lines_evaluated),
            str(r.lines_late),
            str(r.provisional),
            str(r.pending),
            str(r.cancelled),
        )
    console.print(table)
    provisional = sum(r.provisional for r in groups.values())
    if provisional:
        # Rates count final verdicts only: say why recent orders are not in them yet, and when.
        days = verdicts.DEFAULT_SETTINGS.settlement.days
        console.print(
            f"{provisional:,} delivered order(s) are provisional: a verdict becomes final {days} days after "
            "delivery (returns and claims settle first), and only final orders count in the rates."
        )
