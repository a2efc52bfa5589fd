"""What every command shares: the consoles, and running an action with domain errors shown once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.domain.errors import DomainError
from perfectorder.services import verdicts

T = TypeVar("T")
console = Console()
err = Console(stderr=True)


def run(action: Callable[[Application], T], *, needs_schema: bool = True) -> T:
    """Builds the application, runs `action`, prints a domain error with its code and exits 2.
    A database without the current schema is refused first, with the command that fixes it: a
    newcomer's first command against a fresh file once ended in an SQL traceback."""
    application = build_or_exit(lambda: Settings.from_env().for_jobs())
    try:
        if needs_schema:
            _require_schema(application)
        return action(application)
    except DomainError as e:
        field = f" ({e.field})" if e.field else ""
        err.print(f"[red]error[/red] {e.code}{escape(field)}: {escape(e.message)}")
        raise typer.Exit(2) from e
    finally:
        application.close()


def build_or_exit(settings: Callable[[], Settings]) -> Application:
    """The application, or one line naming the setting that is wrong (the settings' checks raise
    ValueError with the variable and what to write instead) and exit 2, not a traceback."""
    try:
        return build(settings())
    except ValueError as e:
        err.print(f"[red]error[/red] invalid_setting: {escape(str(e))}")
        raise typer.Exit(2) from e


def _require_schema(application: Application) -> None:
    try:
        current, head = application.migrator.readiness()
    except DomainError as e:
        err.print(f"[red]error[/red] {e.code}: {escape(e.message)}")
        raise typer.Exit(2) from e
    if current == head:
        return
    if current is None:
        why = "has no schema yet: run `perfectorder db upgrade` first (`bash scripts/demo.sh` does)"
    else:
        why = f"is at schema revision {current}, this version needs {head}: run `perfectorder db upgrade`"
    err.print(f"[red]error[/red] schema_not_current: the database {why}")
    raise typer.Exit(2)


@contextmanager
def counting(verb: str, unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr ("reading 1,200 rows"); yields the function that moves it."""
    with Progress(
        TextColumn(f"[bold]{verb}[/bold]"),
        BarColumn(),
        TextColumn(f"{{task.completed:,}} {unit}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(unit, total=total or None)
        yield lambda done: bar.update(task, completed=done)


def judge(application: Application, expected: int) -> int:
    """Stores the verdicts of the orders that changed (`expected` of them, about), with a progress
    bar: done here, the first report after a large import or simulation does not have to."""
    with counting("judging", "orders", expected) as progress:
        return verdicts.refresh(application.services, progress=progress)
