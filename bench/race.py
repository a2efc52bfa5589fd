"""Harsh race: many clients change the same few orders and stock rows at once, over HTTP.

Run:    .venv/bin/python bench/race.py                          (64 clients x 30 s: about 1 minute)
        .venv/bin/python bench/race.py --clients 64 --seconds 30
        .venv/bin/python bench/race.py --clients 16 --seconds 5  (a quick look)

Needs PostgreSQL at --pg (trust auth). The server runs the `perfectorder` this process imports
(printed at the start; PYTHONPATH=<checkout>/src points both at another checkout). It creates
`po_bench_race` (dropped at the end unless --keep), migrates it and loads the sample store through
the services, plus three hot SKUs of its own for each phase with --units (default 50) each in
warehouse BER. Then it starts the real server (uvicorn, one process, tests/live_server.py) and runs
two phases against it:

- **baseline**: the same mix from 1 client for --baseline-seconds (half before the race, half
  after, so drift on a shared machine weighs on both sides of the ratios), on its own three hot
  SKUs: what each request costs when nobody races it.
- **race**: --clients threads (each with its own httpx.Client and the admin API key) for --seconds,
  on three other hot SKUs. Each loops over a random mix: place an order (2-3 of the hot SKUs in
  random line order, 1-3 units each, cash on delivery or a card authorized for the total), cancel a
  whole order, cancel one unit of a line, release an order to picking, receive a few units, remove
  one unit by adjustment. Half the order verbs aim at the last orders anybody placed, so several
  clients hit the same order at the same moment.

Every answer's status and latency is recorded (the first --warmup seconds of each phase are left
out of the figures). Refusals (409 insufficient_stock, invalid_transition, not_cancellable,
nothing_to_pick, adjustment_below_reserved, concurrent_change, 422 ...) are expected; any 5xx or
transport error is a failure. At the end it reads the database directly and checks:

- no stock row has on_hand < 0, reserved < 0 or reserved > on_hand;
- each stock row's `reserved` is what its allocations in reserved/picking (reserves_stock) hold;
- the stock ledger adds up to the stock rows; open pick tasks ask for what allocations on pick
  lists hold;
- no lost update: every 2xx answer left its row or event (orders, cancellations, line
  cancellations, releases, receipts, adjustments);
- units sold beyond stock, per SKU: max(0, live allocated units (reserved/picking/picked/packed/
  shipped) - units ever received), which must be 0.

Printed: requests by kind and status, requests/s and orders placed/s, p50/p99 overall and per kind,
with throughput and p99 as ratios against the baseline (machines are noisy: compare within a run),
the CPU the load generator itself used (it shares the machine with the server and PostgreSQL),
the checks, and every 5xx with its body and the server's traceback. Exits 1 if a check fails,
anything was oversold, a 5xx or transport error occurred or a client hung.

The server runs with a very high per-key rate limit: every client shares the admin key, and the
default limit (200/s) would answer 429 instead of racing.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import api_key, make_application  # noqa: E402 - the tests' own store set-up
from tests.live_server import ServerProcess  # noqa: E402 - the same server runner the tests use
from tests.stock_checks import (  # noqa: E402
    assert_ledger_adds_up,
    assert_no_negative_or_overreserved_stock,
    assert_reservations_belong_to_open_allocations,
)

import perfectorder  # noqa: E402 - printed: which code the server runs
from perfectorder.adapters.clock import SimulatedClock  # noqa: E402
from perfectorder.adapters.db import tables as t  # noqa: E402
from perfectorder.sample_data import load_sample_store  # noqa: E402
from perfectorder.services import catalog, inventory  # noqa: E402
from perfectorder.services.ports import ProductSpec  # noqa: E402

DATABASE = "po_bench_race"
WAREHOUSE = "BER"
PRICES = (Decimal("19.90"), Decimal("7.50"), Decimal("42.00"))
# Each phase gets its own hot SKUs, so the race starts from the stock the baseline started from.
PHASE_SKUS = {
    "baseline": ("BASE-KETTLE", "BASE-TEAPOT", "BASE-LANTERN"),
    "race": ("HOT-KETTLE", "HOT-TEAPOT", "HOT-LANTERN"),
}
# Relative weights of the request kinds in the mix.
MIX = {"place": 40, "cancel": 12, "cancel_line": 14, "release": 12, "receive": 10, "adjust": 12}
# Distinct reasons, so the lost-update check finds exactly the rows this benchmark's answers made.
CANCEL_REASON = "race: customer phoned"
LINE_REASON = "race: one too many"
RECEIPT_REASON = "race: restock"
ADJUST_REASON = "race: damaged on the shelf"
CUSTOMERS = 8  # a few e-mails shared by all clients: new-customer registration races too
HOLDING = ("reserved", "picking")
LIVE = ("reserved", "picking", "picked", "packed", "shipped")


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    status: int  # 0: transport error, no answer
    code: str  # the error code, or the new order's status for a placed order
    started: float  # seconds since the phase began
    ms: float
    body: str = ""  # kept for failures only


@dataclass(frozen=True, slots=True)
class Placed:
    order_id: int
    lines: int


class Board:
    """The orders placed last by anybody: clients pick targets here, so they collide."""

    def __init__(self, size: int = 16) -> None:
        self._recent: deque[Placed] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, placed: Placed) -> None:
        with self._lock:
            self._recent.append(placed)

    def pick(self, rng: random.Random) -> Placed | None:
        with self._lock:
            return rng.choice(self._recent) if self._recent else None


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float
    warmup: float
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0  # perf_counter at the start, when every client is connected
    window: float = 0.0  # seconds measured: from the end of the warm-up to the last answer
    duration: float = 0.0
    hung: int = 0  # client threads still waiting on an answer long after the end
    cpu: float = 0.0  # CPU seconds this process (the load generator) spent in the phase

    @property
    def measured(self) -> list[Outcome]:
        # `started` of an outcome counts from its own phase's start, so this holds for joined phases.
        return [o for o in self.outcomes if o.started >= self.warmup]

    def joined(self, other: Phase) -> Phase:
        """Both halves as one phase: a baseline taken before and after the race, so the machine's
        drift (other jobs on it) weighs on both sides of the ratio alike."""
        return Phase(
            self.name,
            self.clients,
            self.seconds + other.seconds,
            self.warmup,
            self.outcomes + other.outcomes,
            window=self.window + other.window,
            duration=self.duration + other.duration,
            hung=self.hung + other.hung,
            cpu=self.cpu + other.cpu,
        )


# -- set-up ------------------------------------------------------------------------------------------


def create_database(server: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    return f"{server}/{DATABASE}"


def drop_database(server: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def prepare_store(url: str, units: int) -> tuple[Engine, Callable[[], None], str]:
    """Migrates, loads the sample store and the hot SKUs through the services; returns the app's
    engine (for the checks at the end), its close function and an admin API key."""
    application = make_application(url, SimulatedClock(datetime.now(UTC)))
    ctx = application.services
    load_sample_store(ctx)
    for skus in PHASE_SKUS.values():
        for sku, price in zip(skus, PRICES, strict=True):
            catalog.create_product(ctx, ProductSpec(sku, f"Hot {sku.lower()}", price, "EUR"))
            inventory.receive_stock(ctx, sku=sku, warehouse=WAREHOUSE, quantity=units)
    return application.engine, application.close, api_key(application)


# -- the requests ------------------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any]]  # kind, path, JSON body


def place(rng: random.Random, skus: tuple[str, ...]) -> Request:
    """2-3 of the hot SKUs in random line order: orders lock the same stock rows in varying order."""
    price = dict(zip(skus, PRICES, strict=True))
    units = {sku: rng.randint(1, 3) for sku in rng.sample(skus, rng.choice((2, 3)))}  # in line order
    lines = [{"sku": sku, "quantity": n, "unit_price": str(price[sku])} for sku, n in units.items()]
    total = sum((price[sku] * n for sku, n in units.items()), Decimal(0))
    payment: dict[str, Any] = (
        {"method": "cash_on_delivery"}
        if rng.random() < 0.5
        else {"method": "card", "status": "authorized", "authorized_amount": str(total)}
    )
    customer = rng.randrange(CUSTOMERS)
    body = {
        "channel": "web",
        "external_ref": f"RACE-{rng.getrandbits(64):016x}",
        "currency": "EUR",
        "customer": {"email": f"racer{customer}@bench.invalid", "name": f"Racer {customer}"},
        "shipping_address": {
            "name": f"Racer {customer}",
            "line1": "Kastanienallee 7",
            "city": "Berlin",
            "postal_code": "10435",
            "country": "DE",
            "timezone": "Europe/Berlin",
        },
        "lines": lines,
        "payment": payment,
    }
    return "place", "/api/v1/orders", body


def order_verb(kind: str, target: Placed, rng: random.Random) -> Request:
    order = f"/api/v1/orders/{target.order_id}"
    if kind == "cancel":
        return kind, f"{order}/cancel", {"reason": CANCEL_REASON}
    if kind == "cancel_line":
        line_no = rng.randint(1, target.lines)
        return kind, f"{order}/lines/{line_no}/cancel", {"quantity": 1, "reason": LINE_REASON}
    return kind, f"{order}/release", {}


def stock_change(kind: str, rng: random.Random, skus: tuple[str, ...]) -> Request:
    sku = rng.choice(skus)
    if kind == "receive":
        body = {"sku": sku, "warehouse": WAREHOUSE, "quantity": rng.randint(1, 6), "reason": RECEIPT_REASON}
        return kind, "/api/v1/stock/receipts", body
    body = {"sku": sku, "warehouse": WAREHOUSE, "delta": -1, "reason": ADJUST_REASON}
    return kind, "/api/v1/stock/adjustments", body


def next_request(rng: random.Random, skus: tuple[str, ...], board: Board, mine: deque[Placed]) -> Request:
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    if kind in ("receive", "adjust"):
        return stock_change(kind, rng, skus)
    if kind == "place":
        return place(rng, skus)
    # Half the time an order anybody placed last (races between clients), else one of our own.
    target = board.pick(rng) if rng.random() < 0.5 or not mine else rng.choice(mine)
    return order_verb(kind, target, rng) if target else place(rng, skus)


def send(http: httpx.Client, request: Request, origin: float) -> tuple[Outcome, dict[str, Any] | None]:
    kind, path, body = request
    started = time.perf_counter()
    try:
        answer = http.post(path, json=body)
    except httpx.HTTPError as e:
        ms = (time.perf_counter() - started) * 1000
        return Outcome(kind, 0, type(e).__name__, started - origin, ms, repr(e)), None
    ms = (time.perf_counter() - started) * 1000
    try:
        payload = answer.json()
    except ValueError:
        payload = None
    if answer.is_success:
        code = payload.get("status", "") if kind == "place" and isinstance(payload, dict) else ""
        return Outcome(kind, answer.status_code, code, started - origin, ms), payload
    code = payload["error"]["code"] if isinstance(payload, dict) and "error" in payload else "?"
    kept = answer.text[:2000] if answer.status_code >= 500 else ""
    return Outcome(kind, answer.status_code, code, started - origin, ms, kept), None


# -- the phases --------------------------------------------------------------------------------------


def client_loop(
    base: str,
    key: str,
    phase: Phase,
    skus: tuple[str, ...],
    board: Board,
    start: threading.Barrier,
    seed: int,
) -> None:
    rng = random.Random(seed)
    mine: deque[Placed] = deque(maxlen=8)
    outcomes: list[Outcome] = []
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
        http.get("/readyz")  # connected before the start, so every client begins at once
        start.wait()
        deadline = phase.started + phase.warmup + phase.seconds
        while time.perf_counter() < deadline:
            request = next_request(rng, skus, board, mine)
            outcome, payload = send(http, request, phase.started)
            outcomes.append(outcome)
            if outcome.kind == "place" and outcome.status == 201 and payload is not None:
                placed = Placed(payload["id"], len(payload["lines"]))
                board.add(placed)
                mine.append(placed)
    # One extend per client at the end: no lock taken on the hot path of the loop.
    phase.outcomes.extend(outcomes)


def run_phase(
    name: str, base: str, key: str, clients: int, seconds: float, warmup: float, seed: int
) -> Phase:
    phase = Phase(name, clients, seconds, warmup)
    board = Board()

    def begin() -> None:
        phase.started = time.perf_counter()

    start = threading.Barrier(clients, action=begin)
    threads = [
        threading.Thread(
            target=client_loop,
            args=(base, key, phase, PHASE_SKUS[name], board, start, seed * 1000 + n),
            daemon=True,  # a hung client must not keep the benchmark from reporting
        )
        for n in range(clients)
    ]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    # Long enough for the last request (httpx times out after 60 s) to come back.
    give_up = time.perf_counter() + warmup + seconds + 90
    for thread in threads:
        thread.join(timeout=max(0.0, give_up - time.perf_counter()))
    phase.duration = time.perf_counter() - phase.started
    phase.window = phase.duration - warmup
    phase.hung = sum(thread.is_alive() for thread in threads)
    phase.cpu = time.process_time() - cpu
    return phase


# -- the checks --------------------------------------------------------------------------------------


def check(name: str, assertion: Callable[[], None]) -> tuple[str, bool, str]:
    try:
        assertion()
    except AssertionError as e:
        return name, False, str(e) or "see the stock table"
    return name, True, ""


def open_pick_tasks_match(engine: Engine) -> None:
    pt, al = t.pick_tasks, t.allocations
    with engine.connect() as conn:
        asked = dict(
            conn.execute(
                select(pt.c.allocation_id, func.sum(pt.c.quantity - pt.c.picked_qty))
                .where(pt.c.status == "open")
                .group_by(pt.c.allocation_id)
            ).all()
        )
        held = dict(conn.execute(select(al.c.id, al.c.quantity).where(al.c.status == "picking")).all())
    assert asked == held, f"{len(set(asked.items()) ^ set(held.items()))} allocations differ"


def invariants(engine: Engine) -> list[tuple[str, bool, str]]:
    return [
        check(
            "no stock row negative or over-reserved", lambda: assert_no_negative_or_overreserved_stock(engine)
        ),
        check(
            "reserved = allocations in reserved/picking",
            lambda: assert_reservations_belong_to_open_allocations(engine, HOLDING),
        ),
        check("ledger sums = stock rows", lambda: assert_ledger_adds_up(engine)),
        check("open pick tasks = allocations on pick lists", lambda: open_pick_tasks_match(engine)),
    ]


def successes(phases: list[Phase], kind: str) -> int:
    return sum(o.kind == kind and 200 <= o.status < 300 for p in phases for o in p.outcomes)


def lost_updates(engine: Engine, phases: list[Phase]) -> list[tuple[str, int, int]]:
    """(what, 2xx answers, rows found): every success must have left exactly its own trace."""
    ev, sm, orders = t.order_events, t.stock_movements, t.orders

    def count(query: Any) -> int:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def events(kind: str, reason: str | None = None) -> int:
        query = select(func.count()).select_from(ev).where(ev.c.type == kind)
        if reason is not None:
            query = query.where(ev.c.data["reason"].as_string() == reason)
        return count(query)

    def movements(kind: str, reason: str) -> int:
        return count(
            select(func.count()).select_from(sm).where((sm.c.movement == kind) & (sm.c.reason == reason))
        )

    placed = count(select(func.count()).select_from(orders).where(orders.c.external_ref.like("RACE-%")))
    return [
        ("orders placed", successes(phases, "place"), placed),
        ("orders cancelled", successes(phases, "cancel"), events("order.cancelled", CANCEL_REASON)),
        ("lines cancelled", successes(phases, "cancel_line"), events("order.line_cancelled")),
        ("released to picking", successes(phases, "release"), events("order.released_to_picking")),
        ("receipts", successes(phases, "receive"), movements("receipt", RECEIPT_REASON)),
        ("adjustments", successes(phases, "adjust"), movements("adjustment", ADJUST_REASON)),
    ]


@dataclass(frozen=True, slots=True)
class SkuStock:
    sku: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int
    holding: int  # units of allocations in reserved/picking
    live: int  # units of allocations in reserved .. shipped
    received: int  # units that ever came in: receipts and positive adjustments

    @property
    def beyond(self) -> int:
        return max(0, self.live - self.received)


def sku_stock(engine: Engine, sku: str) -> SkuStock:
    s, sm, al, p = t.stock, t.stock_movements, t.allocations, t.products

    def units(query: Any) -> int:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one() or 0)

    with engine.connect() as conn:
        product_id = conn.execute(select(p.c.id).where(p.c.sku == sku)).scalar_one()
    from_stock = (al.c.product_id == product_id) & al.c.reserves_stock  # made-to-order lines hold none
    return SkuStock(
        sku,
        units(select(func.sum(s.c.on_hand)).where(s.c.product_id == product_id)),
        units(select(func.sum(s.c.reserved)).where(s.c.product_id == product_id)),
        units(select(func.sum(sm.c.on_hand_delta)).where(sm.c.product_id == product_id)),
        units(select(func.sum(sm.c.reserved_delta)).where(sm.c.product_id == product_id)),
        units(select(func.sum(al.c.quantity)).where(from_stock & al.c.status.in_(HOLDING))),
        units(select(func.sum(al.c.quantity)).where(from_stock & al.c.status.in_(LIVE))),
        units(
            select(func.sum(sm.c.on_hand_delta)).where(
                (sm.c.product_id == product_id)
                & sm.c.movement.in_(("receipt", "adjustment"))
                & (sm.c.on_hand_delta > 0)
            )
        ),
    )


# -- the report --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the value below which a share q of the values lie."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def is_failure(o: Outcome) -> bool:
    return o.status == 0 or o.status >= 500


def requests_table(baseline: Phase, race: Phase) -> Table:
    counts = {p.name: Counter((o.kind, o.status, o.code) for o in p.measured) for p in (baseline, race)}
    table = Table(title="requests by kind and answer (measured window)")
    for column in ("kind", "status", "code", "baseline", "race"):
        table.add_column(column, justify="left" if column in ("kind", "code") else "right")
    for kind, status, code in sorted(set(counts["baseline"]) | set(counts["race"])):
        row = (kind, status, code)
        table.add_row(
            kind,
            str(status) if status else "transport",
            code,
            str(counts["baseline"][row]),
            str(counts["race"][row]),
        )
    return table


def throughput(phase: Phase) -> tuple[float, float]:
    measured = phase.measured
    placed = sum(o.kind == "place" and o.status == 201 for o in measured)
    return len(measured) / phase.window, placed / phase.window


def latency_table(baseline: Phase, race: Phase) -> Table:
    table = Table(title=f"latency, ms ({race.clients} clients vs 1)")
    for column in ("kind", "n", "p50", "p99", "max", "baseline p99", "x baseline (p99)"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in ("all", *MIX):
        mine = [o.ms for o in race.measured if kind in ("all", o.kind)]
        theirs = [o.ms for o in baseline.measured if kind in ("all", o.kind)]
        p99, base = percentile(mine, 0.99), percentile(theirs, 0.99)
        table.add_row(
            kind,
            str(len(mine)),
            f"{percentile(mine, 0.5):.1f}",
            f"{p99:.1f}",
            f"{max(mine, default=float('nan')):.1f}",
            f"{base:.1f}",
            f"{p99 / base:.1f}",
        )
    return table


def throughput_table(baseline: Phase, race: Phase) -> Table:
    table = Table(title="throughput")
    columns = ("phase", "clients", "seconds", "requests/s", "orders placed/s", "p99 ms", "load generator")
    for column in columns:
        table.add_column(column, justify="left" if column == "phase" else "right")
    figures = {}
    for phase in (baseline, race):
        requests, orders = throughput(phase)
        p99 = percentile([o.ms for o in phase.measured], 0.99)
        figures[phase.name] = (requests, orders, p99)
        # The clients share the machine with the server and PostgreSQL: their CPU is not the server's.
        cores = phase.cpu / phase.duration
        row = (phase.clients, f"{phase.window:.1f}", f"{requests:.1f}", f"{orders:.1f}", f"{p99:.1f}")
        table.add_row(phase.name, *(str(x) for x in row), f"{cores:.2f} cores")
    ratios = [r / b for r, b in zip(figures["race"], figures["baseline"], strict=True)]
    table.add_row("race x baseline", "", "", f"{ratios[0]:.2f}", f"{ratios[1]:.2f}", f"{ratios[2]:.1f}", "")
    return table


def stock_table(stocks: list[SkuStock]) -> Table:
    table = Table(title="hot SKUs at the end (BER)")
    columns = ("sku", "on hand", "reserved", "ledger on hand", "ledger reserved", "held", "live", "received")
    for column in (*columns, "sold beyond stock"):
        table.add_column(column, justify="left" if column == "sku" else "right")
    for s in stocks:
        figures = (s.on_hand, s.reserved, s.ledger_on_hand, s.ledger_reserved, s.holding, s.live, s.received)
        table.add_row(s.sku, *(str(f) for f in figures), str(s.beyond))
    return table


def print_failures(console: Console, phases: list[Phase], server_log: str) -> None:
    failures = [(p.name, o) for p in phases for o in p.outcomes if is_failure(o)]
    for name, o in failures[:10]:
        console.print(
            f"[red]{name} {o.kind} -> {o.status or 'transport error'} after {o.ms:.0f} ms:[/] {o.body}",
            soft_wrap=True,
        )
    if len(failures) > 10:
        console.print(f"... and {len(failures) - 10} more")
    tracebacks = server_log.count("Traceback")
    console.print(f"server log: {len(server_log.splitlines())} lines, {tracebacks} tracebacks")
    if tracebacks:
        # The first traceback in full; the final lines of the others name their errors.
        first = server_log.index("Traceback")
        console.print(
            server_log[max(0, first - 300) : first + 6000], markup=False, highlight=False, soft_wrap=True
        )
        errors = Counter(
            line.strip()
            for block in server_log.split("Traceback")[1:]
            for line in block.strip().splitlines()[-1:]
        )
        for line, n in errors.most_common(10):
            console.print(f"  {n} x {line}", markup=False, highlight=False, soft_wrap=True)


def checks_table(
    stock_checks: list[tuple[str, bool, str]],
    traces: list[tuple[str, int, int]],
    stocks: list[SkuStock],
    phases: list[Phase],
) -> tuple[Table, bool]:
    """Every check as PASS/FAIL, and whether all passed."""
    outcomes = [o for p in phases for o in p.outcomes]
    oversold = sum(s.beyond for s in stocks)
    errors = sum(o.status >= 500 for o in outcomes)
    unanswered = sum(o.status == 0 for o in outcomes)
    hung = sum(p.hung for p in phases)
    rows = [
        *stock_checks,
        *((f"no lost update: {what}", a == f, f"{a} 2xx, {f} found") for what, a, f in traces),
        ("units sold beyond stock", oversold == 0, str(oversold)),
        ("5xx answers", errors == 0, str(errors)),
        ("transport errors", unanswered == 0, str(unanswered)),
        ("clients hung", hung == 0, str(hung)),
    ]
    table = Table(title="checks")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for name, ok, detail in rows:
        table.add_row(name, "PASS" if ok else "[red]FAIL[/]", detail)
    return table, all(ok for _, ok, _ in rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--baseline-seconds", type=float, default=10, help="1 client, half before and half after the race"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds left out at the start of each phase")
    parser.add_argument("--units", type=int, default=50, help="units of each hot SKU at the start")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help=f"leave {DATABASE} for a look around")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    console = Console()
    url = create_database(args.pg)
    engine, close, key = prepare_store(url, args.units)
    server = ServerProcess(
        url, PERFECTORDER_RATE_LIMIT_PER_SECOND="1000000", PERFECTORDER_RATE_LIMIT_BURST="1000000"
    )
    try:
        server.start()
        console.print(f"serving {Path(perfectorder.__file__).parent} at {server.base}")
        half = args.baseline_seconds / 2
        console.print(f"baseline: 1 client for {half:.0f} s, before and after the race ...")
        before = run_phase("baseline", server.base, key, 1, half, args.warmup, seed=1)
        console.print(f"race: {args.clients} clients for {args.seconds:.0f} s ...")
        race = run_phase("race", server.base, key, args.clients, args.seconds, args.warmup, seed=2)
        after = run_phase("baseline", server.base, key, 1, half, args.warmup, seed=3)
        baseline = before.joined(after)
        server_log = server.output()
        checks = invariants(engine)
        traces = lost_updates(engine, [baseline, race])
        stocks = [sku_stock(engine, sku) for skus in PHASE_SKUS.values() for sku in skus]
    finally:
        server.stop()
        close()
        if not args.keep:
            drop_database(args.pg)

    console.print(requests_table(baseline, race))
    console.print(throughput_table(baseline, race))
    console.print(latency_table(baseline, race))
    console.print(stock_table(stocks))
    report, passed = checks_table(checks, traces, stocks, [baseline, race])
    console.print(report)
    print_failures(console, [baseline, race], server_log)
    console.print(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
