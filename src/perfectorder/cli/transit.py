"""`perfectorder transit ...`: the transit times learned per lane, which new promises count."""

from __future__ import annotations

import typer
from rich.table import Table

from perfectorder.bootstrap import Application
from perfectorder.cli.common import console, run
from perfectorder.domain.transit import LaneTransit
from perfectorder.services import transit

transit_app = typer.Typer(help="Transit times learned per lane from delivered parcels.", no_args_is_help=True)


def _table(lanes: list[LaneTransit]) -> Table:
    table = Table("service", "warehouse", "region", "parcels", "P50", "P90", "P95", title="working days")
    for x in lanes:
        table.add_row(
            x.lane.service,
            str(x.lane.warehouse_id),
            x.lane.region,
            f"{x.parcels:,}",
            str(x.p50),
            str(x.p90),
            str(x.p95),
        )
    return table


@transit_app.command("learn")
def learn() -> None:
    """Learn every lane's transit times now from the parcels delivered in the window (the worker
    does this once a day); lanes with too few parcels keep their service's configured days."""

    def action(application: Application) -> list[LaneTransit]:
        return transit.learn_transit_times(application.services)

    lanes = run(action)
    console.print(_table(lanes))
    console.print(f"learned {len(lanes):,} lane(s); new promises count them from now on")


@transit_app.command("show")
def show() -> None:
    """The learned transit times new promises count now."""
    lanes = run(lambda application: transit.learned_lanes(application.services))
    console.print(_table(lanes))
    if not lanes:
        console.print("no lane has enough delivered parcels yet: promises count the configured days")
