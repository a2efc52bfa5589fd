"""History import benchmark: a generated order-history file imported on SQLite and PostgreSQL.
"judged": the seconds `perfectorder import history` then takes to store the imported orders'
verdicts (outside the timed import, which the target is about).

Run:    .venv/bin/python bench/import.py                   (1,000,000 rows: about 15 minutes)
        .venv/bin/python bench/import.py --rows 50000      (a quick look)
        .venv/bin/python bench/import.py --databases postgresql

Needs PostgreSQL at --pg (trust auth); it creates and drops only the databases po_bench_import and
po_bench_copy.

What it does: writes a CSV of --rows order lines (1 to 3 lines per order, Olist-like columns and
formats, a few rows with a missing-value token, a few invalid rows that must be rejected), then for
each database: a fresh schema, `import_history` through the service layer exactly as
`perfectorder import history` runs it, timed from the first row read to the last commit. The
baseline, measured in the same run, is reading the same file with the csv module and nothing else:
"x read" is how many times longer the import takes than merely reading the file.

The target's baseline, on PostgreSQL: PostgreSQL's own COPY of exactly the rows the import wrote
(every table it writes, read back with COPY TO after the import), into a fresh schema with all its
indexes and constraints, in one transaction. "x COPY" is the import's time over that; the target
is 1.5 or less. Judging (storing the verdicts) is timed apart and shown beside it. When
bench/simulate.py exists, its measure() runs last and prints the simulator's orders/second.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.files import csv_files
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from perfectorder.domain.imports import mapping_from_dict
from perfectorder.services import verdicts
from perfectorder.services.history import import_history

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "po_bench_import"
COPY_DATABASE = "po_bench_copy"
LATER = datetime(2026, 11, 24, tzinfo=UTC)
# What a history import writes, parents before children.
WRITTEN = (
    "customers",
    "products",
    "warehouses",
    "orders",
    "order_lines",
    "order_events",
    "feedback",
    "packages",
    "shipments",
    "verdict_queue",
)
MAPPING = {
    "file": {"timezone": "Europe/Berlin", "missing": ["", "Date Not Captured"]},
    "columns": {
        "order_ref": "order_id",
        "line_ref": "item",
        "customer_ref": "customer",
        "status": "status",
        "ordered_at": "purchased",
        "approved_at": "approved",
        "shipped_at": "shipped",
        "delivered_at": "delivered",
        "promised_at": "estimated",
        "sku": "product",
        "quantity": "qty",
        "unit_price": "price",
        "carrier": "mode",
        "warehouse": "site",
        "rating": "review",
    },
    "formats": {"*": ["%Y-%m-%d %H:%M:%S", "%d-%b-%y"]},
    "status": {"canceled": "cancelled"},
    "defaults": {"channel": "marketplace", "currency": "EUR", "country": "DE"},
}
HEADER = [
    "order_id",
    "item",
    "customer",
    "status",
    "purchased",
    "approved",
    "shipped",
    "delivered",
    "estimated",
    "product",
    "qty",
    "price",
    "mode",
    "site",
    "review",
]


def generate(path: Path, rows: int, seed: int = 7) -> tuple[int, int]:
    """Writes `rows` order lines; returns (orders, rows meant to be rejected)."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1)
    fmt = "%Y-%m-%d %H:%M:%S"
    written = orders = bad = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        while written < rows:
            orders += 1
            placed = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
            approved = placed + timedelta(minutes=rng.randrange(5, 600))
            shipped = approved + timedelta(hours=rng.randrange(6, 96))
            delivered = shipped + timedelta(hours=rng.randrange(24, 240))
            promised = placed + timedelta(days=rng.randrange(5, 15))
            status = rng.choices(("delivered", "shipped", "canceled"), (94, 4, 2))[0]
            customer = f"C{rng.randrange(1, rows // 3 + 2):07d}"
            for item in range(1, rng.choice((1, 1, 2, 3)) + 1):
                if written >= rows:
                    break
                written += 1
                purchased = placed.strftime(fmt)
                if rng.random() < 0.0005:
                    purchased, bad = "31-Feb-23", bad + 1  # no such day: rejected
                out.writerow(
                    [
                        f"O{orders:08d}",
                        item,
                        customer,
                        status,
                        purchased,
                        approved.strftime(fmt),
                        shipped.strftime(fmt) if status != "canceled" else "",
                        delivered.strftime(fmt) if status == "delivered" else "Date Not Captured",
                        promised.strftime("%d-%b-%y"),
                        f"SKU-{int(rng.paretovariate(1.2)) % 5000:05d}",
                        rng.choice((1, 1, 1, 2, 3)),
                        f"{rng.randrange(199, 19999) / 100:.2f}",
                        rng.choice(("road", "air", "sea")),
                        rng.choice(("NORTH", "SOUTH")),
                        rng.choice(("", "", "5", "4", "3", "1")),
                    ]
                )
    return orders, bad


def read_only(path: Path) -> float:
    started = time.perf_counter()
    for _ in csv_files.rows(path, encoding="utf-8-sig", delimiter=","):
        pass
    return time.perf_counter() - started


def run_import(url: str, path: Path) -> tuple[float, int, int, float]:
    """(import seconds, orders imported, rows rejected, seconds to judge the imported orders)."""
    application = build(Settings(database_url=url), clock=SimulatedClock(LATER))
    try:
        upgrade(application.engine)
        rules = mapping_from_dict(MAPPING)
        started = time.perf_counter()
        result = import_history(
            application.services,
            lambda: csv_files.rows(path, encoding=rules.encoding, delimiter=rules.delimiter),
            rules,
            source=path.name,
        )
        imported = time.perf_counter()
        # What `perfectorder import history` does next: store every imported order's verdict.
        verdicts.refresh(application.services)
        return imported - started, result.imported, len(result.rejects), time.perf_counter() - imported
    finally:
        application.close()


def fresh_postgres(server: str, name: str = DATABASE) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_postgres(server: str, name: str = DATABASE) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


def copy_baseline(server: str) -> tuple[float, int]:
    """(seconds, rows): PostgreSQL's COPY of the rows the import wrote, into a fresh schema."""
    dumped: dict[str, bytes] = {}
    with psycopg.connect(f"{server}/{DATABASE}") as source:
        for table in WRITTEN:
            data = bytearray()
            with source.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    data += block
            dumped[table] = bytes(data)
    url = fresh_postgres(server, COPY_DATABASE)
    try:
        application = build(
            Settings(database_url=url), clock=SimulatedClock(datetime(2026, 11, 24, tzinfo=UTC))
        )
        try:
            upgrade(application.engine)
        finally:
            application.close()
        with psycopg.connect(f"{server}/{COPY_DATABASE}") as target:
            target.execute(f"TRUNCATE {', '.join(WRITTEN)} CASCADE")
            target.commit()
            started = time.perf_counter()
            for table in WRITTEN:
                with target.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(dumped[table])
            target.commit()
            seconds = time.perf_counter() - started
    finally:
        drop_postgres(server, COPY_DATABASE)
    return seconds, sum(d.count(b"\n") for d in dumped.values())


def simulator_line() -> str | None:
    spec = importlib.util.spec_from_file_location("bench_simulate", ROOT / "bench" / "simulate.py")
    if spec is None or spec.loader is None or not (ROOT / "bench" / "simulate.py").exists():
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.measure())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--no-simulator", action="store_true")
    args = parser.parse_args()
    console = Console(width=120)  # the table stays readable when the output goes to a file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.csv"
        started = time.perf_counter()
        orders, bad = generate(path, args.rows)
        console.print(
            f"generated {args.rows:,} rows ({orders:,} orders, {bad} invalid) in "
            f"{time.perf_counter() - started:.1f} s: {path.stat().st_size / 1e6:.1f} MB"
        )
        baseline = read_only(path)
        table = Table(title=f"history import of {args.rows:,} rows")
        columns = (
            "database",
            "wall s",
            "rows/s",
            "orders/s",
            "x read",
            "imported",
            "rejected",
            "judged in s",
            "x COPY",
        )
        for column in columns:
            table.add_column(column, justify="right" if column != "database" else "left")
        table.add_row(
            "csv read only (baseline)",
            f"{baseline:.1f}",
            f"{args.rows / baseline:,.0f}",
            "",
            "1.0",
            "",
            "",
            "",
            "",
        )
        for name in args.databases.split(","):
            if name == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'import.db'}"
            else:
                url = fresh_postgres(args.pg)
            copy = None
            try:
                wall, imported, rejected, judging = run_import(url, path)
                if name != "sqlite":
                    copy = copy_baseline(args.pg)
            finally:
                if name != "sqlite":
                    drop_postgres(args.pg)
            if copy is not None:
                table.add_row(
                    f"PostgreSQL COPY of the {copy[1]:,} rows written (baseline)",
                    f"{copy[0]:.1f}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "1.0",
                )
            table.add_row(
                name,
                f"{wall:.1f}",
                f"{args.rows / wall:,.0f}",
                f"{imported / wall:,.0f}",
                f"{wall / baseline:.1f}",
                f"{imported:,}",
                f"{rejected:,}",
                f"{judging:.1f} s",
                f"{wall / copy[0]:.2f}" if copy else "",
            )
            console.print(f"{name}: {wall:.1f} s, then judged in {judging:.1f} s")
            if copy is not None:
                console.print(
                    f"{name}: import {wall:.1f} s = {wall / copy[0]:.2f} x PostgreSQL's COPY of its rows "
                    f"({copy[0]:.1f} s); judging {judging:.1f} s more"
                )
        console.print(table)
        console.print("target: the PostgreSQL import within 1.5 x PostgreSQL's COPY of the rows it writes")
    if not args.no_simulator:
        line = simulator_line()
        console.print(line if line else "simulator: bench/simulate.py not present, skipped")


if __name__ == "__main__":
    sys.exit(main())
