"""`perfectorder metrics ...`: the stored verdicts and the rollups the reports read."""

from __future__ import annotations

import typer

from perfectorder.bootstrap import Application
from perfectorder.cli.common import console, run
from perfectorder.services import verdicts

metrics = typer.Typer(help="Stored Perfect Order verdicts and their daily rollups.", no_args_is_help=True)


@metrics.command("rebuild")
def rebuild() -> None:
    """Throw the stored verdicts and rollups away and build them again from every order's facts."""

    def action(application: Application) -> int:
        return verdicts.rebuild(application.services)

    console.print(f"rebuilt the verdicts of {run(action):,} order(s)")


@metrics.command("refresh")
def refresh() -> None:
    """Re-judge the orders whose facts changed since the last report (reports do this themselves)."""

    def action(application: Application) -> int:
        return verdicts.refresh(application.services)

    console.print(f"refreshed {run(action):,} order(s)")
