"""`perfectorder import ...`: bring orders in from files, with a reject file and a summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from perfectorder.bootstrap import Application, files
from perfectorder.cli.common import console, counting, err, judge, run
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.imports import ORDER_COLUMNS, ORDER_REQUIRED, mapping_from_dict
from perfectorder.services.history import HistoryResult, Reject, import_history
from perfectorder.services.importing import OrderImportResult, import_orders

imports = typer.Typer(
    help="Import orders from files: live orders, or history that happened elsewhere.", no_args_is_help=True
)
T = TypeVar("T")
REJECT_COLUMNS = ("row", "order_ref", "code", "column", "message")


@imports.command("history")
def history(
    file: Annotated[Path, typer.Argument(help="The order-history file (CSV)")],
    mapping: Annotated[Path, typer.Option(help="The mapping of the file's columns (TOML)")],
    rejects: Annotated[
        Path | None, typer.Option(help="Where rejected rows go; default FILE.rejects.csv")
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, max=50_000, help="Orders per transaction")] = 5000,
) -> None:
    """Record past orders as they happened (their times, states, shipments), then store their Perfect
    Order verdicts; idempotent."""
    document = _or_exit(lambda: files().read_toml(mapping))
    rules = _or_exit(lambda: mapping_from_dict(document))
    columns = _or_exit(lambda: files().header(file, encoding=rules.encoding, delimiter=rules.delimiter))
    named = {h.strip() for h in columns}
    absent = [c for listed in rules.columns.values() for c in listed if c not in named]
    if absent:
        err.print(f"[red]error[/red] column_missing: the file has no column(s) {escape(', '.join(absent))}")
        raise typer.Exit(2)
    reject_path = rejects or file.with_name(file.name + ".rejects.csv")

    def action(application: Application) -> tuple[HistoryResult, int]:
        with counting("reading", "rows") as progress:
            found = import_history(
                application.services,
                lambda: files().rows(file, encoding=rules.encoding, delimiter=rules.delimiter),
                rules,
                source=file.name,
                chunk=chunk,
                progress=progress,
            )
        return found, judge(application, found.imported)

    result, judged = run(action)
    files().write_rejects(reject_path, result.rejects, REJECT_COLUMNS)
    table = Table(title=f"history import of {file.name}")
    table.add_column("")
    table.add_column("count", justify="right")
    for label, value in (
        ("rows read", result.rows),
        ("orders in file", result.orders),
        ("orders imported", result.imported),
        ("already imported", result.duplicates),
        ("rows rejected", len(result.rejects)),
        ("dates before their order, read as missing", result.implausible_dates),
        ("orders judged (Perfect Order)", judged),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    if result.rejects:
        console.print(_reasons(result.rejects))
        console.print(f"rejected rows and why: {reject_path}")


@imports.command("orders")
def orders(
    file: Annotated[Path, typer.Argument(help="Orders to place (CSV, one row per line; see docs/import.md)")],
    rejects: Annotated[
        Path | None, typer.Option(help="Where rejected rows go; default FILE.rejects.csv")
    ] = None,
    delimiter: Annotated[str, typer.Option(min=1, max=1, help="Column separator")] = ",",
    encoding: Annotated[
        str, typer.Option(help="Text encoding; a UTF-8 byte-order mark is read either way")
    ] = "utf-8-sig",
) -> None:
    """Place live orders from a file, each verified and reserved exactly as over the API."""
    columns = {
        c.strip() for c in _or_exit(lambda: files().header(file, encoding=encoding, delimiter=delimiter))
    }
    absent = [c for c in ORDER_REQUIRED if c not in columns]
    unknown = sorted(columns - set(ORDER_COLUMNS))
    if absent or unknown:
        problem = (
            f"missing column(s) {', '.join(absent)}" if absent else f"unknown column(s) {', '.join(unknown)}"
        )
        err.print(f"[red]error[/red] {'column_missing' if absent else 'unknown_column'}: {escape(problem)}")
        raise typer.Exit(2)
    reject_path = rejects or file.with_name(file.name + ".rejects.csv")

    def action(application: Application) -> OrderImportResult:
        with counting("placing", "orders") as progress:
            return import_orders(
                application.services,
                files().rows(file, encoding=encoding, delimiter=delimiter),
                progress=progress,
            )

    result = run(action)
    files().write_rejects(reject_path, result.rejects, REJECT_COLUMNS)
    table = Table(title=f"order import of {file.name}")
    table.add_column("")
    table.add_column("count", justify="right")
    for label, value in (
        ("rows read", result.rows),
        ("orders in file", result.orders),
        ("orders placed", result.placed),
        ("already placed", result.already_placed),
        ("rows rejected", len(result.rejects)),
    ):
        table.add_row(label, f"{value:,}")
    for code, count in sorted(result.rejected_by_code().items()):
        table.add_row(f"  rejected: {code}", f"{count:,}")
    console.print(table)
    if result.rejects:
        console.print(f"rejected rows and why: {reject_path}")


def _or_exit(read: Callable[[], T]) -> T:
    try:
        return read()
    except InvalidInput as e:
        err.print(f"[red]error[/red] {e.code} ({escape(str(e.field))}): {escape(e.message)}")
        raise typer.Exit(2) from e


def _reasons(rejects: Sequence[Reject]) -> Table:
    """What went wrong, grouped, with the first of each kind: usually a value the mapping does not
    know yet (a status, a channel, a date format), fixed once in the mapping for every row."""
    groups: dict[tuple[str, str], list[Reject]] = {}
    for r in rejects:
        groups.setdefault((r.code, r.column), []).append(r)
    table = Table(title="rows rejected, by reason")
    for name in ("code", "column", "rows", "first (row: message)"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for (code, column), found in sorted(groups.items(), key=lambda g: -len(g[1]))[:10]:
        first = found[0]
        # The file's own text is shown as written, never read as rich markup ("[status]").
        table.add_row(
            escape(code), escape(column), f"{len(found):,}", escape(f"{first.row}: {first.message}")
        )
    return table
