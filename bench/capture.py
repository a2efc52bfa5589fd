"""Order-capture benchmark on PostgreSQL: raw SQL vs the service layer vs HTTP, in one run.

Run:    .venv/bin/python bench/capture.py             (about 4 minutes)
        .venv/bin/python bench/capture.py --quick     (about 1.5 minutes)
        .venv/bin/python bench/capture.py --only statements,hot --seconds 5
        .venv/bin/python bench/capture.py --only service --clients 8 --writers 12
        .venv/bin/python bench/capture.py --only raw,service,statements --clients 8 --baseline-rev a618789 \
            --rounds 3
        .venv/bin/python bench/capture.py --only raw,service,audit,statements --clients 8 --rounds 3
            (what the audit row in each capture's transaction costs: "service + audit row" against
            "service layer", same run)

Needs PostgreSQL at --pg (trust auth); it creates and drops only databases named po_bench_*.

How to read it: the machine is small and noisy, so absolute figures move from run to run. What is
meant to be stable is each path's ratio to the raw-SQL baseline measured a minute earlier in the
same run: "× raw orders/s" is the share of the hand-written SQL throughput a path keeps. "starved"
counts clients that finished no order in the window; when it is not zero, p50/p99 describe only
the clients that got through, so read them with the throughput, not alone.
The raw baseline does only the writes of one capture (guarded stock UPDATE, then INSERTs into
orders, order_lines, allocations, stock_movements and five order_events) with everything else
known up front, so it is a floor for latency and a ceiling for throughput, not a rival design.
Every measurement starts on a fresh copy of one template database, so runs do not inherit bloat.

HTTP latency is measured twice at 32 clients. Closed loop (each client sends its next order when
the previous one is answered) can never show a p99 below 32 / throughput: it measures the queue
the clients themselves build. Open loop sends orders at fixed rates (shares of the closed-loop
HTTP throughput at 32 clients, --open-load, 50% and 70% by default) over 32 connections, and times
each order from the moment it was due, so time spent waiting for a free connection counts too.

Another revision in the same run (--baseline-rev REV, e.g. the commit before a change): REV is
checked out into a temporary git worktree outside the repository (removed afterwards), and its
service layer is measured by this same file, so both sides are timed by the same code, in
subprocesses whose PYTHONPATH starts with the worktree's src: they import REV's perfectorder, not the
one the venv's editable install points at (each subprocess reports the module's path and the run
stops if it is not the expected one). REV's runs use their own databases (po_bench_base_*), created
and migrated by REV's code. With --baseline-rev the current code's service layer is measured the same
way, in a subprocess importing this checkout's src: in four A/A runs (--baseline-rev HEAD) the
in-process figure of the same code was 6-14% below the subprocess's, a bias the comparison must not
carry. Each round measures raw SQL, then both service layers (which one goes first alternates by
round); the tables show both shares of raw SQL, current/REV (per round too), both revisions'
statements per capture and the SQL of the statements that differ. Only service layers are compared:
raw SQL is the same for both, and HTTP is measured for the current code only.

--rounds N repeats the raw-SQL and service runs of the throughput table N times and pools them
(orders over the rounds' seconds). The machine is shared, so one 8-second round is worth little on
its own: with both sides in subprocesses, A/A rounds (--baseline-rev HEAD) gave current/REV from
0.84 to 1.03, so read "by round" before a verdict on a difference of a few percent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

import perfectorder
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.domain.errors import DomainError
from perfectorder.domain.orders import CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.values import Channel, PaymentMethod, PaymentStatus
from perfectorder.sample_data import load_sample_store
from perfectorder.services.idempotency import fingerprint, run_idempotent
from perfectorder.services.placing import place_order
from perfectorder.services.ports import AuditEntry

try:  # absent from revisions before the audit row moved into the change's transaction
    from perfectorder.services.call import Call, current_call
except ImportError:  # pragma: no cover - only under --baseline-rev of an older revision
    Call = current_call = None  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent.parent
DB_PREFIX = "po_bench_"
BASELINE_DB_PREFIX = "po_bench_base_"  # another revision's schema: never mixed with the current one's
BENCH_SKUS = 1024
STOCK_UNITS = 10_000_000
HOT_SKUS = ("MUG-CERAMIC-BLUE", "KETTLE-STEEL-17", "TEAPOT-CAST-IRON")
CUSTOMER_ID = 1  # Ada, who has a default address after load_sample_store
AUTHORIZED = Decimal("100.00")
STATEMENT_TARGET = 15
HOT_TARGET = 0.80
SERVICE_TARGET = 0.50  # service layer orders/s at 8 clients, as a share of raw SQL's
MULTI_PROCESS_TARGET = 0.50  # HTTP with several server processes at 8 clients, as a share of raw SQL
P99_TARGET_MS = 50.0  # HTTP p99 at 32 clients
HTTP_CLIENTS = 32
# Unique per run, so external_refs never collide even with --keep.
RUN_TAG = f"{os.getpid():x}{int(time.time()) % 100000:05d}"

# Piped output keeps the tables wide instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 120)


# --- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    pg: str
    seconds: float
    warmup: float
    clients: tuple[int, ...]
    hot_clients: tuple[int, int]
    only: frozenset[str]
    settings: dict[str, int]
    keep: bool
    open_loads: tuple[float, ...] = (0.5, 0.7)
    open_rate: float | None = None
    http_workers: tuple[int, ...] = (1,)  # uvicorn processes of the HTTP rows (--http-workers)
    baseline_rev: str | None = None
    rounds: int = 1
    db_prefix: str = DB_PREFIX
    task: str | None = None  # set in a baseline subprocess only: what to measure (see run_task)
    task_output: str | None = None  # where that subprocess writes its JSON answer

    @property
    def template_db(self) -> str:
        return f"{self.db_prefix}template"

    @property
    def run_db(self) -> str:
        return f"{self.db_prefix}run"


def parse_options(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no database")
    p.add_argument("--seconds", type=float, help="measured seconds per run (default 8, quick 3)")
    p.add_argument("--warmup", type=float, help="unmeasured seconds before each run (default 1)")
    p.add_argument("--quick", action="store_true", help="short runs, about a minute in all")
    p.add_argument("--clients", default="1,8,32", help="client counts of the throughput table")
    p.add_argument("--hot-clients", default="8,64", help="the two client counts of the hot-SKU run")
    p.add_argument(
        "--only",
        default="raw,service,audit,http,open,statements,hot",
        help="sections to run (audit: the service layer writing each capture's audit row, as HTTP does)",
    )
    p.add_argument(
        "--open-load",
        default="0.5,0.7",
        help="open-loop rates as shares of the closed-loop HTTP orders/s at 32 clients",
    )
    p.add_argument("--open-rate", type=float, help="one open-loop rate in orders/s (instead of --open-load)")
    p.add_argument(
        "--http-workers",
        default="1",
        help="server processes of the HTTP rows, e.g. 1,2 (perfectorder serve --workers); the open "
        "loop and the statement counts use the first",
    )
    p.add_argument("--writers", type=int, help="Settings.max_concurrent_writers (default: Settings')")
    p.add_argument("--pool-size", type=int, help="Settings.db_pool_size (default: Settings')")
    p.add_argument("--max-overflow", type=int, help="Settings.db_max_overflow (default: Settings')")
    p.add_argument("--keep", action="store_true", help="keep the po_bench_* databases afterwards")
    p.add_argument("--baseline-rev", help="also measure the service layer of this git revision, same run")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the raw SQL and service runs of the throughput table this many times, pooled",
    )
    # Used by this file when it starts itself as a baseline subprocess, not on the command line.
    p.add_argument("--db-prefix", default=DB_PREFIX, help=argparse.SUPPRESS)
    p.add_argument("--task", help=argparse.SUPPRESS)
    p.add_argument("--task-output", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    overrides = {"max_concurrent_writers": a.writers, "db_pool_size": a.pool_size}
    overrides["db_max_overflow"] = a.max_overflow
    hot = tuple(int(x) for x in a.hot_clients.split(","))
    if len(hot) != 2:
        p.error("--hot-clients takes two counts, e.g. 8,64")
    return Options(
        pg=a.pg.rstrip("/"),
        seconds=a.seconds or (3.0 if a.quick else 8.0),
        warmup=a.warmup if a.warmup is not None else (0.5 if a.quick else 1.0),
        clients=tuple(int(x) for x in a.clients.split(",")),
        hot_clients=(hot[0], hot[1]),
        only=frozenset(s.strip() for s in a.only.split(",")),
        settings={k: v for k, v in overrides.items() if v is not None},
        keep=a.keep,
        open_loads=tuple(float(x) for x in a.open_load.split(",")),
        open_rate=a.open_rate,
        http_workers=tuple(int(x) for x in a.http_workers.split(",")),
        baseline_rev=a.baseline_rev,
        rounds=a.rounds,
        db_prefix=a.db_prefix,
        task=a.task,
        task_output=a.task_output,
    )


# --- databases ---------------------------------------------------------------------------------


def db_url(opts: Options, name: str) -> str:
    return f"{opts.pg}/{name}"


def admin(opts: Options, sql: str) -> None:
    with psycopg.connect(db_url(opts, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def drop_db(opts: Options, name: str) -> None:
    assert name.startswith("po_bench_")  # never anybody else's database
    admin(opts, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_run_db(opts: Options) -> str:
    """A new copy of the template, checkpointed so no run pays for the previous run's dirty pages."""
    drop_db(opts, opts.run_db)
    admin(opts, f"CREATE DATABASE {opts.run_db} TEMPLATE {opts.template_db}")
    admin(opts, "CHECKPOINT")
    return db_url(opts, opts.run_db)


def app_settings(opts: Options, url: str) -> Settings:
    return replace(Settings(), database_url=url, **opts.settings)


def create_template(opts: Options) -> str | None:
    """Schema and sample store through our own code, bulk bench SKUs and stock through SQL.

    Returns an API key secret when the app has API keys, so the HTTP runs work with or without auth.
    """
    drop_db(opts, opts.template_db)
    admin(opts, f"CREATE DATABASE {opts.template_db}")
    application = build(app_settings(opts, db_url(opts, opts.template_db)))
    try:
        upgrade(application.engine)
        load_sample_store(application.services)
        secret = issue_api_key(application)
    finally:
        application.close()
    with psycopg.connect(db_url(opts, opts.template_db), autocommit=True) as conn:
        add_bench_stock(conn)
        conn.execute("VACUUM ANALYZE")
    return secret


def add_bench_stock(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "INSERT INTO products (sku, name, category, price, currency, weight_kg, active, fulfilment,"
        " production_days, lead_time_days, created_at)"
        " SELECT 'BENCH-' || lpad(g::text, 4, '0'), 'Bench item ' || g, 'bench', 10.00, 'EUR', 0.1, true,"
        " 'made_to_stock', 0, 14, now() FROM generate_series(0, %s) AS g",
        (BENCH_SKUS - 1,),
    )
    conn.execute(
        "INSERT INTO stock (product_id, warehouse_id, on_hand, reserved, bin_location)"
        " SELECT p.id, w.id, 0, 0, '' FROM products p, warehouses w"
        " WHERE p.fulfilment = 'made_to_stock' AND w.code = 'BER' ON CONFLICT DO NOTHING"
    )
    conn.execute("UPDATE stock SET on_hand = %s", (STOCK_UNITS,))


def issue_api_key(application: Application) -> str | None:
    try:
        from perfectorder.domain.access import Role
        from perfectorder.services.access import create_api_key
    except ImportError:
        return None
    try:
        return create_api_key(application.services, name="bench", role=Role.ADMIN, created_by="bench").secret
    except Exception as e:  # the access module is new; the bench must run whatever state it is in
        console.print(f"[yellow]no API key for the HTTP runs: {e!r}[/yellow]")
        return None


# --- fixture: what the raw-SQL client knows up front ------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    products: dict[str, tuple[int, Decimal]]  # sku -> (product_id, price)
    warehouse_id: int
    address: tuple[str, ...]
    bench_skus: tuple[str, ...]


def load_fixture(url: str) -> Fixture:
    with psycopg.connect(url) as conn:
        products = {
            sku: (pid, price) for pid, sku, price in conn.execute("SELECT id, sku, price FROM products")
        }
        (warehouse_id,) = conn.execute("SELECT id FROM warehouses WHERE code = 'BER'").fetchone() or (0,)
        address = conn.execute(
            "SELECT name, line1, line2, city, region, postal_code, country, phone, timezone"
            " FROM customer_addresses WHERE customer_id = %s AND is_default",
            (CUSTOMER_ID,),
        ).fetchone()
    assert address is not None, "sample customer has no default address"
    bench = tuple(sorted(s for s in products if s.startswith("BENCH-")))
    return Fixture(products, warehouse_id, tuple(address), bench)


def sku_picker(fx: Fixture, client: int, clients: int, hot: bool) -> Callable[[int], str]:
    """Spread runs give each client its own slice of SKUs, so clients never wait on each other's
    stock rows; hot runs send everybody round-robin over the same three."""
    if hot:
        return lambda n: HOT_SKUS[(client + n) % len(HOT_SKUS)]
    mine = fx.bench_skus[client % clients :: clients]
    return lambda n: mine[n % len(mine)]


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Recorder:
    """One per client thread or task: merged afterwards, so nothing is shared while measuring."""

    start: float = 0.0
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, t0: float, t1: float, outcome: str) -> None:
        # Judged by when it ends: an order that waited through the warm-up still counts, with its wait.
        if not self.start <= t1 <= self.end:
            return
        self.outcomes[outcome] += 1
        if outcome == "ok":
            self.latencies.append(t1 - t0)


@dataclass(frozen=True)
class Result:
    path: str
    clients: int
    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    starved: int  # clients that finished no order at all in the window: an unfair queue somewhere
    round_rates: tuple[float, ...] = ()  # orders/s of each round, when --rounds pooled several

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))] * 1000

    @property
    def errors(self) -> Counter[str]:
        return Counter({k: v for k, v in self.outcomes.items() if k != "ok"})


def merge(path: str, clients: int, seconds: float, recorders: Sequence[Recorder]) -> Result:
    latencies = [x for r in recorders for x in r.latencies]
    outcomes: Counter[str] = Counter()
    for r in recorders:
        outcomes.update(r.outcomes)
    starved = sum(1 for r in recorders if not r.outcomes)
    return Result(path, clients, seconds, latencies, outcomes, starved)


def pool(results: Sequence[Result]) -> Result:
    """The rounds of one path at one client count as one result: all their orders over all their seconds."""
    if len(results) == 1:
        return results[0]
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r.outcomes)
    return Result(
        results[0].path,
        results[0].clients,
        sum(r.seconds for r in results),
        [x for r in results for x in r.latencies],
        outcomes,
        max(r.starved for r in results),  # starved is read against the client count: the worst round's
        tuple(r.rate for r in results),
    )


Place = Callable[[int], str]  # places order number n of its client, returns "ok" or an error code


def run_threads(
    path: str, clients: int, opts: Options, make_client: Callable[[int], Place], after: Callable[[], None]
) -> Result:
    """Each thread builds its client (connection etc.) first; the clock starts when all are ready."""
    recorders = [Recorder() for _ in range(clients)]
    ready = threading.Barrier(clients + 1)

    def loop(i: int) -> None:
        place = make_client(i)
        ready.wait()
        rec, n = recorders[i], 0
        while (t0 := time.perf_counter()) < rec.end:
            outcome = place(n)
            rec.add(t0, time.perf_counter(), outcome)
            n += 1

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter() + opts.warmup
    for rec in recorders:
        rec.start, rec.end = start, start + opts.seconds
    ready.wait()
    for t in threads:
        t.join()
    after()
    return merge(path, clients, opts.seconds, recorders)


# --- path (a): raw SQL with psycopg --------------------------------------------------------------

RAW_RESERVE = (
    "UPDATE stock SET reserved = reserved + 1"
    " WHERE product_id = %s AND warehouse_id = %s AND on_hand - reserved >= 1"
)
RAW_ORDER = (
    "INSERT INTO orders (channel, external_ref, customer_id, status, currency, total, ship_name, ship_line1,"
    " ship_line2, ship_city, ship_region, ship_postal_code, ship_country, ship_phone, ship_timezone,"
    " shipping_service, backorder_policy, requested_delivery_date, promised_ship_date, promised_date,"
    " payment_method, payment_status, payment_authorized, payment_reference, note, placed_at, approved_at,"
    " updated_at) VALUES ('web', %s, %s, 'approved', 'EUR', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
    " 'standard', 'reject', NULL, %s, %s, 'card', 'authorized', %s, NULL, '', %s, %s, %s)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
RAW_LINE = (
    "INSERT INTO order_lines (order_id, line_no, product_id, sku, quantity, unit_price, backordered_qty,"
    " cancelled_qty) VALUES (%s, 1, %s, %s, 1, %s, 0, 0) RETURNING id"
)
RAW_ALLOCATION = (
    "INSERT INTO allocations (order_id, order_line_id, product_id, warehouse_id, quantity, reserves_stock,"
    " status, planned_ship_date) VALUES (%s, %s, %s, %s, 1, true, 'reserved', %s)"
)
RAW_MOVEMENT = (
    "INSERT INTO stock_movements (product_id, warehouse_id, movement, on_hand_delta, reserved_delta,"
    " order_id, reason, actor, created_at)"
    " VALUES (%s, %s, 'reservation', 0, 1, %s, 'reserved for order', 'channel:web', %s)"
)
RAW_EVENTS = "INSERT INTO order_events (order_id, type, occurred_at, actor, data) VALUES " + ", ".join(
    ["(%s, %s, %s, 'channel:web', %s)"] * 5
)


def raw_client(conn: psycopg.Connection[Any], fx: Fixture, pick: Callable[[int], str], tag: str) -> Place:
    def place(n: int) -> str:
        try:
            outcome = raw_capture(conn, fx, pick(n), f"{tag}-{n}")
        except psycopg.Error as e:
            outcome = f"sqlstate_{e.sqlstate}"
        if outcome == "ok":
            conn.commit()
        else:
            conn.rollback()
        return outcome

    return place


def raw_capture(conn: psycopg.Connection[Any], fx: Fixture, sku: str, ref: str) -> str:
    """The rows place_order writes for a one-line order, in the same order, in one transaction."""
    product_id, price = fx.products[sku]
    now = datetime.now(UTC)
    ship_day, promised = now.date() + timedelta(days=1), now.date() + timedelta(days=3)
    with conn.cursor() as cur:
        cur.execute(RAW_RESERVE, (product_id, fx.warehouse_id))
        if cur.rowcount != 1:
            return "insufficient_stock"
        order = (ref, CUSTOMER_ID, price, *fx.address, ship_day, promised, AUTHORIZED, now, now, now)
        row = cur.execute(RAW_ORDER, order).fetchone()
        if row is None:
            return "duplicate_order"
        order_id = row[0]
        (line_id,) = cur.execute(RAW_LINE, (order_id, product_id, sku, price)).fetchone() or (0,)
        cur.execute(RAW_ALLOCATION, (order_id, line_id, product_id, fx.warehouse_id, ship_day))
        cur.execute(RAW_MOVEMENT, (product_id, fx.warehouse_id, order_id, now))
        cur.execute(RAW_EVENTS, raw_events(order_id, ref, price, ship_day, promised, now))
    return "ok"


def raw_events(
    order_id: int, ref: str, price: Decimal, ship_day: date, promised: date, now: datetime
) -> list[Any]:
    data = [
        (
            "order.placed",
            {"channel": "web", "external_ref": ref, "total": {"amount": str(price)}, "lines": 1},
        ),
        ("order.verified", {}),
        ("order.stock_reserved", {"allocations": [{"line_no": 1, "quantity": 1, "from_stock": True}]}),
        ("order.promised", {"promised_date": promised.isoformat(), "ship_date": ship_day.isoformat()}),
        ("order.approved", {"automatic": True}),
    ]
    return [x for kind, payload in data for x in (order_id, kind, now, Json(payload))]


def measure_raw(opts: Options, clients: int, hot: bool) -> Result:
    url = fresh_run_db(opts)
    fx = load_fixture(url)
    tag = f"R{RUN_TAG}{'h' if hot else ''}{clients}"

    conns: list[psycopg.Connection[Any]] = []

    def make(i: int) -> Place:
        conns.append(conn := psycopg.connect(url))
        return raw_client(conn, fx, sku_picker(fx, i, clients, hot), f"{tag}-{i}")

    def close() -> None:
        for conn in conns:
            conn.close()

    return run_threads("raw SQL", clients, opts, make, after=close)


# --- path (b): the service layer, threads sharing one Application -------------------------------


def order_command(sku: str, ref: str) -> PlaceOrder:
    return PlaceOrder(
        channel=Channel.WEB,
        external_ref=ref,
        currency="EUR",
        lines=(LineInput(sku, 1),),
        customer=CustomerInput(id=CUSTOMER_ID),
        payment=PaymentInput(PaymentMethod.CARD, PaymentStatus.AUTHORIZED, AUTHORIZED),
    )


AUDITED = "service + audit row"


def audited_call() -> Call:
    """What the HTTP audit trail sets for a POST: the capture's transaction then writes its row."""
    return Call(
        describe=lambda: AuditEntry(
            datetime.now(UTC), "key:bench", "admin", "POST", "/api/v1/orders", 201, "127.0.0.1", "ok"
        )
    )


def service_client(
    application: Application, pick: Callable[[int], str], tag: str, *, audited: bool = False
) -> Place:
    def place(n: int) -> str:
        token = current_call.set(audited_call()) if audited else None
        try:
            place_order(application.services, order_command(pick(n), f"{tag}-{n}"))
        except DomainError as e:
            return e.code
        except Exception as e:  # counted and shown, not fatal: the run should finish to show the rest
            return type(e).__name__
        finally:
            if token is not None:
                current_call.reset(token)
        return "ok"

    return place


def measure_service(opts: Options, clients: int, hot: bool, *, audited: bool = False) -> Result:
    """`audited`: each capture carries the audit row an HTTP call writes in its transaction."""
    url = fresh_run_db(opts)
    fx = load_fixture(url)
    application = build(app_settings(opts, url))
    tag = f"{'A' if audited else 'S'}{RUN_TAG}{'h' if hot else ''}{clients}"

    def make(i: int) -> Place:
        return service_client(application, sku_picker(fx, i, clients, hot), f"{tag}-{i}", audited=audited)

    path = AUDITED if audited else "service layer"
    return run_threads(path, clients, opts, make, after=application.close)


# --- path (c): HTTP against uvicorn in a subprocess ----------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_path(workers: int) -> str:
    return "HTTP" if workers == 1 else f"HTTP, {workers} processes"


@contextmanager
def uvicorn_server(opts: Options, url: str, workers: int = 1) -> Iterator[Server]:
    """Started like `perfectorder serve --workers N`: no access log."""
    port = free_port()
    env = {**os.environ, "PERFECTORDER_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    # The bench measures capture, not the per-key rate limit, which would otherwise answer 429.
    env["PERFECTORDER_RATE_LIMIT_PER_SECOND"] = "1000000"
    env["PERFECTORDER_RATE_LIMIT_BURST"] = "1000000"
    env.update({f"PERFECTORDER_{k.upper()}": str(v) for k, v in opts.settings.items()})
    log = Path(tempfile.mkstemp(prefix="po_bench_uvicorn_", suffix=".log")[1])
    cmd = [sys.executable, "-m", "uvicorn", "perfectorder.api.app:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {server.log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("uvicorn did not start listening in time")


def http_request(port: int, body: bytes, api_key: str | None) -> bytes:
    auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
    head = (
        f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def order_body(sku: str, ref: str) -> bytes:
    return json.dumps(
        {
            "channel": "web",
            "external_ref": ref,
            "currency": "EUR",
            "customer": {"id": CUSTOMER_ID},
            "lines": [{"sku": sku, "quantity": 1}],
            "payment": {"method": "card", "status": "authorized", "authorized_amount": str(AUTHORIZED)},
        },
        separators=(",", ":"),
    ).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and whether the server keeps the connection; the body is read and dropped."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    await reader.readexactly(length)
    return status, keep


async def http_client(
    server: Server,
    pick: Callable[[int], str],
    tag: str,
    rec: Recorder,
    ready: asyncio.Event,
    api_key: str | None,
) -> None:
    """A hand-rolled keep-alive HTTP/1.1 client: an order costs the bench a few microseconds, so
    nearly all of the two cores go to uvicorn and PostgreSQL (httpx would take a real share)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await ready.wait()
    n = 0
    while (t0 := time.perf_counter()) < rec.end:
        writer.write(http_request(server.port, order_body(pick(n), f"{tag}-{n}"), api_key))
        try:
            status, keep = await read_response(reader)
            outcome = "ok" if status == 201 else f"http_{status}"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            outcome, keep = "connection_error", False
        rec.add(t0, time.perf_counter(), outcome)
        n += 1
        if not keep:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.close()


async def http_load(
    server: Server, fx: Fixture, clients: int, opts: Options, tag: str, api_key: str | None
) -> list[Recorder]:
    ready = asyncio.Event()
    recorders = [Recorder() for _ in range(clients)]
    tasks = [
        asyncio.create_task(
            http_client(server, sku_picker(fx, i, clients, False), f"{tag}-{i}", rec, ready, api_key)
        )
        for i, rec in enumerate(recorders)
    ]
    await asyncio.sleep(0.2)  # let every client connect before the clock starts
    start = time.perf_counter() + opts.warmup
    for rec in recorders:
        rec.start, rec.end = start, start + opts.seconds
    ready.set()
    await asyncio.gather(*tasks)
    return recorders


def measure_http(
    opts: Options, clients: int, api_key: str | None, workers: int = 1
) -> tuple[Result, list[str]]:
    url = fresh_run_db(opts)
    fx = load_fixture(url)
    with uvicorn_server(opts, url, workers) as server:
        if workers > 1:
            time.sleep(2.0)  # the listening socket opens before every process has started
        tag = f"H{RUN_TAG}{workers}x{clients}"
        recorders = asyncio.run(http_load(server, fx, clients, opts, tag, api_key))
    problems = server_problems(server.log)
    server.log.unlink(missing_ok=True)
    return merge(http_path(workers), clients, opts.seconds, recorders), problems


@dataclass(frozen=True)
class OpenLoop:
    """Orders sent at a fixed rate, each timed from the moment it was due, not from when a
    connection was free to send it (no coordinated omission)."""

    rate: float  # orders/s offered
    result: Result  # latencies of the orders due in the measured window, however late they finished
    unfinished: int  # due in the window, not answered by the end of the drain
    most_waiting: int  # the deepest client-side queue: > 0 means all connections were busy at once


async def open_loop_load(
    server: Server, fx: Fixture, rate: float, connections: int, opts: Options, tag: str, api_key: str | None
) -> OpenLoop:
    queue: asyncio.Queue[tuple[float, int] | None] = asyncio.Queue()
    done: list[tuple[float, float, str]] = []  # (due, finished, outcome)
    most_waiting = 0

    async def connection(i: int) -> None:
        pick = sku_picker(fx, i, connections, False)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            while (item := await queue.get()) is not None:
                due, n = item
                writer.write(http_request(server.port, order_body(pick(n), f"{tag}-{n}"), api_key))
                try:
                    status, keep = await read_response(reader)
                    outcome = "ok" if status == 201 else f"http_{status}"
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    outcome, keep = "connection_error", False
                done.append((due, time.perf_counter(), outcome))
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection(i)) for i in range(connections)]
    await asyncio.sleep(0.2)  # let every connection open before the first order is due
    begin = time.perf_counter()
    start, end = begin + opts.warmup, begin + opts.warmup + opts.seconds
    interval, n = 1.0 / rate, 0
    while (due := begin + n * interval) < end:
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        # Everything due by now is queued at once, so a late wake-up does not lower the rate.
        while (due := begin + n * interval) <= time.perf_counter() and due < end:
            queue.put_nowait((due, n))
            n += 1
        most_waiting = max(most_waiting, queue.qsize())
    for _ in tasks:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(tasks, timeout=30.0)  # drain: late answers still count
    for task in pending:
        task.cancel()
    in_window = [(due, t1, outcome) for due, t1, outcome in done if start <= due < end]
    outcomes = Counter(outcome for _, _, outcome in in_window)
    latencies = [t1 - due for due, t1, outcome in in_window if outcome == "ok"]
    offered = sum(1 for k in range(n) if start <= begin + k * interval < end)
    result = Result("HTTP open loop", connections, opts.seconds, latencies, outcomes, starved=0)
    return OpenLoop(rate, result, max(0, offered - len(in_window)), most_waiting)


def measure_open_loop(opts: Options, rate: float, api_key: str | None) -> tuple[OpenLoop, list[str]]:
    url = fresh_run_db(opts)
    fx = load_fixture(url)
    with uvicorn_server(opts, url) as server:
        found = asyncio.run(open_loop_load(server, fx, rate, HTTP_CLIENTS, opts, f"O{RUN_TAG}", api_key))
    problems = server_problems(server.log)
    server.log.unlink(missing_ok=True)
    return found, problems


def http_stack() -> str:
    """What uvicorn picks with its defaults (--loop auto --http auto), as `perfectorder serve` does."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    return f"{loop} + {http}"


def server_problems(log: Path) -> list[str]:
    """Lines of the server's log that say something went wrong (it logs warnings and worse only)."""
    lines = log.read_text(errors="replace").splitlines()
    return [ln for ln in lines if "Error" in ln or "Traceback" in ln or "ERROR" in ln][:20]


# --- statements per capture -----------------------------------------------------------------------


@dataclass
class Tally:
    scenario: str
    statements: list[tuple[str, int]] = field(default_factory=list)  # (SQL, parameter sets)
    commits: int = 0
    checkouts: int = 0
    # Statements and transactions shared by the requests of a ~100 ms batch (refusals' audit rows).
    batched: list[str] = field(default_factory=list)
    batched_commits: int = 0

    @property
    def round_trips(self) -> int:
        """What a libpq trace shows: each statement (an executemany is pipelined into one), BEGIN and
        COMMIT per transaction, and the pool's pre-ping per checkout (pool_pre_ping=True)."""
        return len(self.statements) + 2 * self.commits + self.checkouts


# The raw-SQL baseline: 6 statements in one transaction on a dedicated connection (no pre-ping).
RAW_TALLY = Tally("raw SQL baseline (for comparison)", [("", 1)] * 6, commits=1)


@contextmanager
def counting(application: Application, scenario: str) -> Iterator[Tally]:
    tally = Tally(scenario)
    batch_connections: set[int] = set()

    def before(conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        # A call's own audit row is one of its statements; only the writer of refusals batches them.
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG") and many:
            tally.batched.append(statement)
            batch_connections.add(id(conn))
        else:
            tally.statements.append((statement, len(params) if many else 1))

    def commit(conn: Any) -> None:
        if id(conn) in batch_connections:
            tally.batched_commits += 1
        else:
            tally.commits += 1

    def checkout(*_args: Any) -> None:
        tally.checkouts += 1

    listeners = [("before_cursor_execute", before), ("commit", commit), ("checkout", checkout)]
    for name, fn in listeners:
        event.listen(application.engine, name, fn)
    try:
        yield tally
    finally:
        for name, fn in listeners:
            event.remove(application.engine, name, fn)
        tally.checkouts -= len(batch_connections)  # the batch writer's own checkouts (and pre-pings)


def count_statements(opts: Options, api_key: str | None) -> list[Tally]:
    application = build(app_settings(opts, fresh_run_db(opts)))
    tag = f"C{RUN_TAG}"
    try:
        tallies = []
        with counting(application, "service, cold reference cache") as tally:
            service_once(application, f"{tag}-0")
        tallies.append(tally)
        with counting(application, "service") as tally:
            service_once(application, f"{tag}-1")
        tallies.append(tally)
        with counting(application, "service + idempotency key") as tally:
            idempotent_once(application, f"{tag}-2")
        tallies.append(tally)
        if current_call is not None:
            with counting(application, AUDITED) as tally:
                token = current_call.set(audited_call())
                try:
                    service_once(application, f"{tag}-3")
                finally:
                    current_call.reset(token)
            tallies.append(tally)
        return tallies + count_http(application, tag, api_key)
    finally:
        application.close()


def service_once(application: Application, ref: str) -> int:
    # The default caller: place_order's keyword arguments are changing while auth lands.
    return place_order(application.services, order_command(HOT_SKUS[0], ref)).id


def idempotent_once(application: Application, ref: str) -> None:
    """As the route does it: the key is claimed and the answer stored in the capture's transaction."""
    run_idempotent(
        application.services,
        scope="POST /api/v1/orders",
        key=f"key-{ref}",
        request_fingerprint=fingerprint({"external_ref": ref}),
        operation=lambda: (201, {"id": service_once(application, ref)}),
    )


def count_http(application: Application, tag: str, api_key: str | None) -> list[Tally]:
    """The HTTP route in-process (same engine, so the listeners see it, audit trail included).

    The capture's audit row is written in its own transaction. Calls that change nothing are queued
    and written in batches; the queue is flushed inside the window so such a batch would be seen,
    reported apart from the capture's own statements."""
    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app

    audit_log = getattr(application.services.uow, "audit_log", None)
    flush: Callable[[], Any] = audit_log.flush if audit_log is not None else (lambda: None)

    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    runs = [
        ("HTTP route, cold key cache", f"{tag}-h0", {}),
        ("HTTP route", f"{tag}-h1", {}),
        ("HTTP route + Idempotency-Key", f"{tag}-h2", {"Idempotency-Key": f"key-{tag}-h2"}),
    ]
    tallies = []
    with TestClient(create_app(application=application), raise_server_exceptions=False) as client:
        for scenario, ref, extra in runs:
            flush()
            with counting(application, scenario) as tally:
                response = client.post(
                    "/api/v1/orders", content=order_body(HOT_SKUS[0], ref), headers={**headers, **extra}
                )
                flush()
            if response.status_code != 201:
                console.print(f"[red]{scenario}: HTTP {response.status_code} {response.text[:300]}")
            tallies.append(tally)
    return tallies


# --- the service layer of two revisions, each in subprocesses (--baseline-rev) -------------------


@dataclass(frozen=True)
class Checkout:
    """Code whose service layer a subprocess measures: it imports perfectorder from `src` and works
    on the databases named `db_prefix`*."""

    path: str  # the row's name in the tables
    src: Path
    db_prefix: str


CURRENT = Checkout("service layer", ROOT / "src", DB_PREFIX)


@dataclass
class Baseline:
    """Another revision, checked out beside the repository."""

    rev: str  # as given on the command line, for the tables
    commit: str
    checkout: Checkout
    tallies: list[Tally] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.checkout.path


SETTING_FLAGS = {
    "max_concurrent_writers": "--writers",
    "db_pool_size": "--pool-size",
    "db_max_overflow": "--max-overflow",
}


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@contextmanager
def baseline_worktree(rev: str) -> Iterator[Baseline]:
    """REV in a detached worktree under the temp directory: the repository's own working tree, index
    and HEAD are left alone (someone may be committing there)."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    parent = Path(tempfile.mkdtemp(prefix="po_bench_rev_"))
    tree = parent / "tree"
    git("worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        yield Baseline(rev, commit, Checkout(f"service layer @ {rev}", tree / "src", BASELINE_DB_PREFIX))
    finally:
        git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)


def run_child(opts: Options, checkout: Checkout, task: str) -> dict[str, Any]:
    """One task of run_task in a new interpreter that imports the checkout's code; returns its answer."""
    args = ["--pg", opts.pg, "--seconds", str(opts.seconds), "--warmup", str(opts.warmup)]
    args += ["--only", ",".join(sorted(opts.only)), "--db-prefix", checkout.db_prefix]
    for key, value in opts.settings.items():
        args += [SETTING_FLAGS[key], str(value)]
    # PYTHONPATH goes before site-packages, whose editable-install .pth points at the repository's src.
    pythonpath = [str(checkout.src), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
    fd, output = tempfile.mkstemp(prefix="po_bench_task_", suffix=".json")
    os.close(fd)
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), *args, "--task", task, "--task-output", output]
        subprocess.run(cmd, env=env, check=True)
        answer: dict[str, Any] = json.loads(Path(output).read_text())
    finally:
        Path(output).unlink(missing_ok=True)
    # A figure measured on the wrong code would look like a valid comparison, so refuse it.
    imported = Path(answer["perfectorder"])
    if not imported.is_relative_to(checkout.src):
        raise RuntimeError(f"the {checkout.path} subprocess imported {imported}, not from {checkout.src}")
    return answer


def prepare_baseline(opts: Options, baseline: Baseline) -> None:
    """REV's template database (its own migrations and sample store) and its statements per capture."""
    answer = run_child(opts, baseline.checkout, "prepare")
    baseline.tallies = [tally_from_json(x) for x in answer["tallies"]]
    console.log(f"{baseline.rev} = {baseline.commit[:12]}, its subprocesses import {answer['perfectorder']}")


def measure_in_subprocess(opts: Options, checkout: Checkout, clients: int, hot: bool) -> Result:
    answer = run_child(opts, checkout, f"{'hot' if hot else 'spread'}:{clients}")
    return result_from_json(checkout.path, answer["result"])


def measure_service_layers(
    opts: Options, baseline: Baseline | None, clients: int, hot: bool, rev_first: bool = False
) -> list[Result]:
    """In-process as usual; with --baseline-rev, the current code and REV, each in a fresh subprocess:
    the same code measured in this process (after the template and the raw-SQL run) came out 6-14%
    slower than in a subprocess (A/A runs, --baseline-rev HEAD), which would bias the comparison."""
    if baseline is None:
        return [measure_service(opts, clients, hot)]
    order = (baseline.checkout, CURRENT) if rev_first else (CURRENT, baseline.checkout)
    return [measure_in_subprocess(opts, checkout, clients, hot) for checkout in order]


def run_task(opts: Options) -> None:
    """The subprocess side of --baseline-rev: one task, with whichever perfectorder PYTHONPATH gave it,
    on the databases of --db-prefix; the answer goes to --task-output as JSON.

    prepare: create the template, then count statements (if "statements" is in --only).
    spread:N / hot:N: measure_service at N clients.
    """
    assert opts.task and opts.task_output
    answer: dict[str, Any] = {"perfectorder": perfectorder.__file__}
    kind, _, clients = opts.task.partition(":")
    if kind == "prepare":
        api_key = create_template(opts)
        tallies = count_statements(opts, api_key) if "statements" in opts.only else []
        answer["tallies"] = [asdict(t) for t in tallies]
    elif kind in ("spread", "hot"):
        answer["result"] = result_to_json(measure_service(opts, int(clients), hot=kind == "hot"))
    else:
        raise SystemExit(f"unknown task {opts.task!r}")
    Path(opts.task_output).write_text(json.dumps(answer))


def result_to_json(result: Result) -> dict[str, Any]:
    # Not asdict: it would rebuild the Counter from (key, count) pairs, counting the pairs.
    fields = ("clients", "seconds", "latencies", "starved")
    return {"outcomes": dict(result.outcomes), **{k: getattr(result, k) for k in fields}}


def result_from_json(path: str, data: dict[str, Any]) -> Result:
    return Result(
        path, data["clients"], data["seconds"], data["latencies"], Counter(data["outcomes"]), data["starved"]
    )


def tally_from_json(data: dict[str, Any]) -> Tally:
    return Tally(**{**data, "statements": [(sql, sets) for sql, sets in data["statements"]]})


# --- report ------------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]MISS[/red]"


def fmt_starved(result: Result) -> str:
    return f"[red]{result.starved}/{result.clients}[/red]" if result.starved else "-"


def fmt_errors(result: Result) -> str:
    return ", ".join(f"{k}×{v}" for k, v in result.errors.most_common(4)) or "-"


def throughput_table(
    results: dict[tuple[str, int], Result], clients: Sequence[int], baseline: Baseline | None = None
) -> Table:
    table = Table(title="Capture, spread over 1024 SKUs (orders/s; latency in ms)", show_lines=False)
    columns = (
        "clients",
        "path",
        "orders/s",
        "p50",
        "p99",
        "× raw orders/s",
        "× raw p50",
        "starved",
        "errors",
    )
    for col in columns:
        table.add_column(col, justify="left" if col in ("path", "errors") else "right")
    for n in clients:
        raw = results.get(("raw SQL", n))
        http = [http_path(w) for w in dict.fromkeys((1, *sorted(set(results_workers(results)))))]
        for path in ("raw SQL", "service layer", AUDITED, *([baseline.path] if baseline else []), *http):
            r = results.get((path, n))
            if r is None:
                continue
            table.add_row(
                str(n),
                path,
                f"{r.rate:.0f}",
                f"{r.pct(0.5):.1f}",
                f"{r.pct(0.99):.1f}",
                ratio(r.rate, raw.rate if raw else None),
                ratio(r.pct(0.5), raw.pct(0.5) if raw else None),
                fmt_starved(r),
                fmt_errors(r),
            )
        table.add_section()
    return table


def results_workers(results: dict[tuple[str, int], Result]) -> list[int]:
    """The server process counts of the HTTP rows present."""
    found = []
    for path, _ in results:
        if path == "HTTP":
            found.append(1)
        elif path.startswith("HTTP, ") and path.endswith(" processes"):
            found.append(int(path.split()[1]))
    return found


def ratio(value: float, base: float | None) -> str:
    if not base or base != base:
        return "-"
    return f"{value / base:.2f}"


def statements_table(tallies: Sequence[Tally]) -> Table:
    table = Table(
        title=f"SQL per capture (one single-line order, existing customer; target <= {STATEMENT_TARGET})"
    )
    columns = (
        "capture",
        "statements",
        "transactions",
        "round trips",
        "target",
        "beyond 'service'",
        "batched",
    )
    for col in columns:
        table.add_column(
            col, justify="left" if col in ("capture", "beyond 'service'", "batched") else "right"
        )
    plain = next(t for t in tallies if t.scenario == "service")
    for t in [*tallies, RAW_TALLY]:
        # Cold figures are paid once per cache expiry (30 s reference data, 5 s API key) per process.
        judged = "cold" not in t.scenario and t is not RAW_TALLY
        target = mark(len(t.statements) <= STATEMENT_TARGET) if judged else "-"
        extra = (
            ", ".join(label(sql) for sql in [x for x, _ in extra_statements(plain, t)])
            if t is not RAW_TALLY
            else ""
        )
        batched = ", ".join(label(sql) for sql in t.batched)
        if batched:
            batched += f" ({t.batched_commits} tx, shared by the requests of ~100 ms)"
        row = (t.scenario, str(len(t.statements)), str(t.commits), str(t.round_trips), target, extra, batched)
        table.add_row(*row)
    return table


def statement_list(tally: Tally) -> Table:
    table = Table(title=f"The statements of one capture ({tally.scenario})")
    table.add_column("#", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("SQL (shortened)")
    for i, (sql, sets) in enumerate(tally.statements, 1):
        table.add_row(str(i), str(sets), shorten(sql))
    return table


def label(sql: str) -> str:
    """'INSERT audit_log', 'SELECT customers', ...: enough to tell statements apart in one line."""
    words = sql.split()
    verb = words[0].upper()
    after = {"INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM", "SELECT": "FROM"}.get(verb)
    upper = [w.upper() for w in words]
    if after in upper:
        return f"{verb} {words[upper.index(after) + 1]}"
    return verb


def shorten(sql: str, width: int = 96) -> str:
    flat = " ".join(sql.split())
    for marker in (" VALUES ", " WHERE ", " FROM "):
        head, sep, _ = flat.partition(marker)
        if sep and len(head) > width // 2:
            flat = head[: width // 2] + " ..." + sep + flat[len(head) + len(sep) :]
            break
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def baseline_table(
    results: dict[tuple[str, int], Result], clients: Sequence[int], baseline: Baseline
) -> Table:
    """Both service layers as shares of the same raw-SQL run, and their quotient: above 1.00 the
    current code keeps more of raw SQL's throughput than REV did."""
    rev = baseline.rev
    table = Table(title=f"Service layer: current code vs {rev} ({baseline.commit[:12]}), same run (orders/s)")
    columns = (
        "clients",
        "raw SQL",
        "current",
        "current × raw",
        rev,
        f"{rev} × raw",
        f"current / {rev}",
        "by round",
        "starved",
    )
    for col in columns:
        table.add_column(col, justify="right")
    for n in clients:
        raw = results.get(("raw SQL", n))
        current, old = results.get(("service layer", n)), results.get((baseline.path, n))
        if raw is None or current is None or old is None:
            continue
        table.add_row(
            str(n),
            f"{raw.rate:.0f}",
            f"{current.rate:.0f}",
            ratio(current.rate, raw.rate),
            f"{old.rate:.0f}",
            ratio(old.rate, raw.rate),
            ratio(current.rate, old.rate),
            " ".join(f"{a / b:.2f}" for a, b in zip(current.round_rates, old.round_rates, strict=True) if b)
            or "-",
            f"{fmt_starved(current)} / {fmt_starved(old)}",
        )
    return table


def statements_vs_baseline(tallies: Sequence[Tally], baseline: Baseline) -> Table:
    """Statements per capture of both revisions, scenario by scenario, and the statements one has and
    the other has not (same SQL text; a statement whose text changed shows on both sides)."""
    rev = baseline.rev
    table = Table(title=f"SQL per capture: current code vs {rev}")
    for col in ("capture", "current", rev, "only in current", f"only in {rev}"):
        table.add_column(col, justify="right" if col in ("current", rev) else "left")
    old_by_scenario = {t.scenario: t for t in baseline.tallies}
    for t in tallies:
        old = old_by_scenario.get(t.scenario)
        if old is None:
            continue
        added = ", ".join(label(sql) for sql, _ in extra_statements(old, t)) or "-"
        gone = ", ".join(label(sql) for sql, _ in extra_statements(t, old)) or "-"
        table.add_row(t.scenario, str(len(t.statements)), str(len(old.statements)), added, gone)
    return table


def print_statement_differences(tallies: Sequence[Tally], baseline: Baseline) -> None:
    """The SQL itself of the statements that differ in the plain capture, where labels are not enough."""
    current = next(t for t in tallies if t.scenario == "service")
    old = next((t for t in baseline.tallies if t.scenario == "service"), None)
    if old is None:
        return
    for side, base, other in (("current", old, current), (baseline.rev, current, old)):
        for sql, sets in extra_statements(base, other):
            console.print(f"only in {side} (service, {sets} row(s)): {' '.join(sql.split())}", markup=False)


def hot_table(
    results: dict[tuple[str, int], Result], low: int, high: int, baseline: Baseline | None = None
) -> Table:
    table = Table(title=f"Hot SKUs: every order takes one of the same {len(HOT_SKUS)} SKUs (orders/s)")
    columns = ("path", f"{low} clients", f"{high} clients", f"{high}/{low}", "target", "starved", "errors")
    for col in columns:
        table.add_column(col, justify="left" if col in ("path", "errors") else "right")
    for path in ("raw SQL", "service layer", *([baseline.path] if baseline else [])):
        a, b = results.get((path, low)), results.get((path, high))
        if a is None or b is None:
            continue
        keep = b.rate / a.rate if a.rate else 0.0
        target = mark(keep >= HOT_TARGET) if path != "raw SQL" else "(reference)"
        starved = f"{fmt_starved(a)} / {fmt_starved(b)}"
        errors = f"{fmt_errors(a)} / {fmt_errors(b)}"
        row = (path, f"{a.rate:.0f}", f"{b.rate:.0f}", f"{keep:.2f}", f">= {HOT_TARGET:.2f} {target}")
        table.add_row(*row, starved, errors)
    return table


# --- main --------------------------------------------------------------------------------------


def run_all(opts: Options, api_key: str | None, baseline: Baseline | None = None) -> None:
    spread: dict[tuple[str, int], Result] = {}
    hot: dict[tuple[str, int], Result] = {}
    problems: list[str] = []
    for n in opts.clients:
        for result in measure_raw_and_service(opts, baseline, n):
            spread[(result.path, n)] = result
        if "http" in opts.only:
            for workers in opts.http_workers:
                result, found = measure_http(opts, n, api_key, workers)
                spread[(http_path(workers), n)] = progress(result)
                problems += found
    open_loops: list[tuple[OpenLoop, str]] = []
    if "open" in opts.only:
        for rate, basis in open_loop_rates(opts, spread, api_key):
            found_open, found = measure_open_loop(opts, rate, api_key)
            open_loops.append((found_open, basis))
            progress(found_open.result, f"open loop at {rate:.0f}/s: ")
            problems += found
    tallies = count_statements(opts, api_key) if "statements" in opts.only else []
    if "hot" in opts.only:
        for n in opts.hot_clients:
            hot[("raw SQL", n)] = progress(measure_raw(opts, n, hot=True), "hot ")
            for result in measure_service_layers(opts, baseline, n, hot=True):
                hot[(result.path, n)] = progress(result, "hot ")
    report(opts, spread, tallies, hot, problems, open_loops, baseline)


def measure_raw_and_service(opts: Options, baseline: Baseline | None, clients: int) -> list[Result]:
    """--rounds times raw SQL, then the service layer right after it, so each round's service figures
    are divided by a raw figure of the same minute; with two revisions the one that goes first
    alternates from round to round, so neither always runs in the other's wake. Rounds are pooled."""
    runs: dict[str, list[Result]] = {}
    for k in range(opts.rounds):
        found = [measure_raw(opts, clients, hot=False)] if "raw" in opts.only else []
        if "service" in opts.only:
            found += measure_service_layers(opts, baseline, clients, hot=False, rev_first=k % 2 == 1)
        if "audit" in opts.only:
            found.append(measure_service(opts, clients, hot=False, audited=True))
        for result in found:
            runs.setdefault(result.path, []).append(
                progress(result, f"round {k + 1}: " if opts.rounds > 1 else "")
            )
    return [pool(results) for results in runs.values()]


def open_loop_rates(
    opts: Options, spread: dict[tuple[str, int], Result], api_key: str | None
) -> list[tuple[float, str]]:
    """The offered rates: --open-rate, or each --open-load times the closed-loop HTTP throughput at
    the same 32 clients, i.e. what the server answered when kept saturated (measured first if the
    run has no such row)."""
    if opts.open_rate:
        return [(opts.open_rate, "--open-rate")]
    capacity = spread.get(("HTTP", HTTP_CLIENTS))
    if capacity is None:
        result, _ = measure_http(opts, HTTP_CLIENTS, api_key)
        capacity = progress(result, "calibration: ")
    return [
        (
            load * capacity.rate,
            f"{load:.0%} of the closed-loop rate at {HTTP_CLIENTS} ({capacity.rate:.0f}/s)",
        )
        for load in opts.open_loads
    ]


def progress(result: Result, label: str = "") -> Result:
    console.log(
        f"{label}{result.path} x{result.clients}: {result.rate:.0f} orders/s, "
        f"p50 {result.pct(0.5):.1f} ms, p99 {result.pct(0.99):.1f} ms, starved clients: {result.starved}, "
        f"errors: {fmt_errors(result)}"
    )
    return result


def report(
    opts: Options,
    spread: dict[tuple[str, int], Result],
    tallies: Sequence[Tally],
    hot: dict[tuple[str, int], Result],
    problems: Sequence[str],
    open_loops: Sequence[tuple[OpenLoop, str]] = (),
    baseline: Baseline | None = None,
) -> None:
    console.rule("perfectorder capture benchmark")
    settings = app_settings(opts, "")
    console.print(
        f"{os.cpu_count()} CPUs, {opts.seconds:g} s measured after {opts.warmup:g} s warm-up per run; "
        f"max_concurrent_writers={settings.max_concurrent_writers}, pool={settings.db_pool_size}"
        f"+{settings.db_max_overflow}; HTTP server: uvicorn, "
        f"{', '.join(map(str, opts.http_workers))} process(es), {http_stack()}"
    )
    # The venv's editable install imports ROOT/src unless PYTHONPATH says otherwise: say which it was.
    console.print(f"current code: {Path(perfectorder.__file__).parent}")
    if spread:
        console.print(throughput_table(spread, opts.clients, baseline))
    if baseline is not None and any(path == baseline.path for path, _ in spread):
        console.print(baseline_table(spread, opts.clients, baseline))
    if open_loops or ("HTTP", HTTP_CLIENTS) in spread:
        console.print(latency_table(spread.get(("HTTP", HTTP_CLIENTS)), open_loops))
    if tallies:
        console.print(statements_table(tallies))
        console.print(statement_list(next(t for t in tallies if t.scenario == "service")))
    if tallies and baseline is not None:
        console.print(statements_vs_baseline(tallies, baseline))
        print_statement_differences(tallies, baseline)
    if hot:
        console.print(hot_table(hot, *opts.hot_clients, baseline))
    if any(r.starved for r in [*spread.values(), *hot.values()]):
        console.print(
            "[yellow]starved: clients that finished no order in the measured window. Their waits are in no "
            "percentile, so p50/p99 of those rows describe the lucky clients only.[/yellow]"
        )
    if problems:
        console.print("[red]uvicorn logged problems:[/red]")
        for line in problems:
            console.print(f"  {line}", markup=False)
    console.print(targets_table(spread, tallies, hot, open_loops, opts, baseline))


def latency_table(closed: Result | None, open_loops: Sequence[tuple[OpenLoop, str]]) -> Table:
    table = Table(title=f"HTTP latency at {HTTP_CLIENTS} clients (target p99 < {P99_TARGET_MS:g} ms)")
    columns = ("load", "offered/s", "orders/s", "p50", "p99", "max", "target", "notes")
    for col in columns:
        table.add_column(col, justify="left" if col in ("load", "notes") else "right")
    if closed is not None:
        floor = HTTP_CLIENTS / closed.rate * 1000 if closed.rate else float("nan")
        table.add_row(
            "closed loop",
            "-",
            f"{closed.rate:.0f}",
            f"{closed.pct(0.5):.1f}",
            f"{closed.pct(0.99):.1f}",
            f"{closed.pct(1.0):.1f}",
            mark(closed.pct(0.99) < P99_TARGET_MS),
            f"mean latency is {HTTP_CLIENTS}/throughput = {floor:.0f} ms by construction",
        )
    for found, basis in open_loops:
        r = found.result
        notes = [basis]
        if found.unfinished:
            notes.append(f"{found.unfinished} unanswered")
        if found.most_waiting:
            notes.append(f"at worst {found.most_waiting} due order(s) waited for a free connection")
        if r.errors:
            notes.append(fmt_errors(r))
        table.add_row(
            "open loop",
            f"{found.rate:.0f}",
            f"{r.rate:.0f}",
            f"{r.pct(0.5):.1f}",
            f"{r.pct(0.99):.1f}",
            f"{r.pct(1.0):.1f}",
            mark(r.pct(0.99) < P99_TARGET_MS and not found.unfinished and not r.errors),
            "; ".join(notes),
        )
    return table


def targets_table(
    spread: dict[tuple[str, int], Result],
    tallies: Sequence[Tally],
    hot: dict[tuple[str, int], Result],
    open_loops: Sequence[tuple[OpenLoop, str]],
    opts: Options,
    baseline: Baseline | None = None,
) -> Table:
    """The issue's four targets in one place (and, with --baseline-rev, the comparison with REV). A row
    with starved clients is a MISS whatever its ratio: its throughput came from the lucky clients."""
    table = Table(title="Targets")
    for col in ("target", "measured", "verdict"):
        table.add_column(col, justify="left")
    raw, service = spread.get(("raw SQL", 8)), spread.get(("service layer", 8))
    if raw is not None and service is not None and raw.rate:
        share = service.rate / raw.rate
        table.add_row(
            f"service layer at 8 clients >= {SERVICE_TARGET:.2f} x raw SQL",
            f"{share:.3f} ({service.rate:.0f} vs {raw.rate:.0f} orders/s)",
            verdict(share >= SERVICE_TARGET, raw, service),
        )
    closed = spread.get(("HTTP", HTTP_CLIENTS))
    if closed is not None:
        table.add_row(
            f"HTTP p99 < {P99_TARGET_MS:g} ms at {HTTP_CLIENTS} clients, closed loop",
            f"{closed.pct(0.99):.0f} ms at {closed.rate:.0f} orders/s",
            verdict(closed.pct(0.99) < P99_TARGET_MS, closed),
        )
    for workers in sorted(set(results_workers(spread)) - {1}):
        many = spread.get((http_path(workers), 8))
        if raw is not None and many is not None and raw.rate:
            share = many.rate / raw.rate
            table.add_row(
                f"HTTP with {workers} processes at 8 clients >= {MULTI_PROCESS_TARGET:.2f} x raw SQL",
                f"{share:.3f} ({many.rate:.0f} vs {raw.rate:.0f} orders/s)",
                verdict(share >= MULTI_PROCESS_TARGET, raw, many),
            )
        at32, one32 = spread.get((http_path(workers), HTTP_CLIENTS)), spread.get(("HTTP", HTTP_CLIENTS))
        if at32 is not None:
            beside = f"; 1 process: {one32.pct(0.99):.0f} ms at {one32.rate:.0f}/s" if one32 else ""
            table.add_row(
                f"HTTP with {workers} processes, closed-loop p99 at {HTTP_CLIENTS} clients (reported)",
                f"{at32.pct(0.99):.0f} ms at {at32.rate:.0f} orders/s{beside}",
                "-",
            )
    for found, _ in open_loops:
        r = found.result
        table.add_row(
            f"HTTP p99 < {P99_TARGET_MS:g} ms at {HTTP_CLIENTS} connections, open loop",
            f"{r.pct(0.99):.0f} ms at {found.rate:.0f} orders/s offered, {r.rate:.0f} answered",
            verdict(r.pct(0.99) < P99_TARGET_MS and not found.unfinished and not r.errors),
        )
    judged = [t for t in tallies if "cold" not in t.scenario]
    if judged:
        worst = max(judged, key=lambda t: len(t.statements))
        table.add_row(
            f"<= {STATEMENT_TARGET} statements per capture",
            f"{len(worst.statements)} at most ({worst.scenario})",
            mark(len(worst.statements) <= STATEMENT_TARGET),
        )
    low, high = opts.hot_clients
    a, b = hot.get(("service layer", low)), hot.get(("service layer", high))
    if a is not None and b is not None and a.rate:
        keep = b.rate / a.rate
        table.add_row(
            f"hot SKUs: service at {high} clients >= {HOT_TARGET:.2f} x at {low}",
            f"{keep:.3f} ({b.rate:.0f} vs {a.rate:.0f} orders/s)",
            verdict(keep >= HOT_TARGET, a, b),
        )
    if baseline is not None:
        add_baseline_targets(table, spread, tallies, baseline)
    return table


def verdict(ok: bool, *results: Result | None) -> str:
    starved = sum(r.starved for r in results if r is not None)
    return mark(ok and not starved) + (f" ({starved} clients starved)" if starved else "")


def add_baseline_targets(
    table: Table, spread: dict[tuple[str, int], Result], tallies: Sequence[Tally], baseline: Baseline
) -> None:
    """No slower capture than REV: the service layer's share of raw SQL at 8 clients at or above REV's
    in the same run, and no judged capture with more statements than REV's."""
    rev = baseline.rev
    raw, current, old = (spread.get((path, 8)) for path in ("raw SQL", "service layer", baseline.path))
    if raw is not None and current is not None and old is not None and raw.rate and old.rate:
        shares = (current.rate / raw.rate, old.rate / raw.rate)
        table.add_row(
            f"service layer at 8 clients: share of raw SQL >= {rev}'s",
            f"{shares[0]:.3f} vs {shares[1]:.3f} (current / {rev} = {current.rate / old.rate:.3f})",
            verdict(shares[0] >= shares[1], raw, current, old),
        )
    old_by_scenario = {t.scenario: t for t in baseline.tallies}
    pairs = [
        (t, old_by_scenario[t.scenario])
        for t in tallies
        if "cold" not in t.scenario and t.scenario in old_by_scenario
    ]
    if pairs:
        worst = max(len(t.statements) for t, _ in pairs)
        worst_old = max(len(o.statements) for _, o in pairs)
        more = [t.scenario for t, o in pairs if len(t.statements) > len(o.statements)]
        table.add_row(
            f"statements per capture <= {rev}'s",
            f"at most {worst} vs {worst_old}" + (f"; more in: {', '.join(more)}" if more else ""),
            mark(not more),
        )


def extra_statements(base: Tally, other: Tally) -> list[tuple[str, int]]:
    remaining = Counter(sql for sql, _ in base.statements)
    extra = []
    for sql, sets in other.statements:
        if remaining[sql] > 0:
            remaining[sql] -= 1
        else:
            extra.append((sql, sets))
    return extra


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse_options(argv)
    if opts.task:  # a --baseline-rev subprocess: the parent reads its answer and drops its databases
        run_task(opts)
        return
    started = time.monotonic()
    worktree = baseline_worktree(opts.baseline_rev) if opts.baseline_rev else nullcontext(None)
    try:
        with worktree as baseline:
            api_key = create_template(opts)
            if baseline is not None:
                prepare_baseline(opts, baseline)
            run_all(opts, api_key, baseline)
    finally:
        if not opts.keep:
            for prefix in (DB_PREFIX, BASELINE_DB_PREFIX):
                drop_db(opts, f"{prefix}run")
                drop_db(opts, f"{prefix}template")
    console.print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
