"""`perfectorder simulate SCENARIO.toml`: a living store in simulated time, through the real services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from perfectorder.bootstrap import build, files, simulated_clock
from perfectorder.cli.common import console, err, judge
from perfectorder.config import Settings
from perfectorder.domain.errors import DomainError
from perfectorder.simulation.runner import Live, simulate
from perfectorder.simulation.scenario import scenario_from_dict


def simulate_command(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario (TOML), e.g. scenarios/demo.toml")],
    seed: Annotated[int | None, typer.Option(help="Overrides the scenario's seed")] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            help="Share the store while simulating: write this file once the first --ready-days are "
            "stored and judged (a server can start then), judge every week as it goes, show progress "
            "on the dashboard, and leave other writers their turn"
        ),
    ] = None,
    ready_days: Annotated[int, typer.Option(min=1, help="Simulated days before --ready-file")] = 14,
) -> None:
    """Run a scenario into the database, then store every order's verdict. Same seed, same report."""
    try:
        scenario = scenario_from_dict(files().read_toml(scenario_file))
    except DomainError as e:
        err.print(f"[red]error[/red] {e.code} ({escape(str(e.field))}): {escape(e.message)}")
        raise typer.Exit(2) from e
    clock = simulated_clock(datetime.combine(scenario.start, datetime.min.time(), UTC))
    settings = Settings.from_env()
    # Generated data can be generated again: skip the per-commit fsync while simulating.
    application = build(settings.with_bulk_writes().for_jobs(), clock=clock)
    try:
        application.migrator.upgrade()
        with Progress(
            TextColumn(f"[bold]{scenario.name}[/bold] day"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[orders]:,} orders, {task.fields[rate]:,.0f} orders/s"),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            task = bar.add_task("days", total=scenario.days, orders=0, rate=0.0)
            started = datetime.now(UTC)

            def tick(day: int, orders: int) -> None:
                elapsed = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
                bar.update(task, completed=day, orders=orders, rate=orders / elapsed)

            live = None
            if ready_file is not None:
                target = ready_file

                def ready() -> None:
                    target.write_text(f"{datetime.now(UTC).isoformat()}\n")

                days = min(ready_days, scenario.days)
                live = Live(f"Simulation '{scenario.name}'", ready_days=days, on_ready=ready)
            summary = simulate(
                application, clock, scenario, seed=seed, progress=tick, until=datetime.now(UTC), live=live
            )
        refreshed = summary.judged + judge(application, summary.orders)
    except DomainError as e:
        err.print(f"[red]error[/red] {e.code} ({escape(str(e.field))}): {escape(e.message)}")
        raise typer.Exit(2) from e
    finally:
        application.close()
    refused = ", ".join(
        f"{code} {n:,}" for code, n in sorted(summary.refused_by_code.items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"{scenario.name}: {summary.days} days, {summary.orders:,} orders placed "
        f"({summary.refused:,} refused{': ' + refused if refused else ''}), {summary.shipped:,} orders "
        f"shipped, {summary.delivered:,} delivered, "
        f"{summary.lost} lost ({summary.reshipped} reshipped), "
        f"{summary.returns} returns ({summary.returns_received} received), "
        f"{summary.feedback} feedback; "
        f"{summary.seconds:.1f} s, {summary.orders_per_second:,.0f} orders/s; {refreshed:,} verdicts stored"
    )
    if summary.stopped_at is not None:
        console.print(
            f"stopped at the present ({summary.stopped_at:%Y-%m-%d %H:%M} UTC): the scenario runs on past "
            "today, and a store holds nothing that has not happened yet; parcels on their way stay so"
        )
