"""Perfect Order reports on a million orders: the rollups against a scan of the same month.

Run:    .venv/bin/python bench/metrics.py                    (1,000,000 orders: a few minutes to load)
        .venv/bin/python bench/metrics.py --orders 100000    (a quick look)

Needs PostgreSQL at --pg (trust auth); it creates and drops only the database po_bench_metrics
(`--keep` leaves it, for bench/dashboard.py or a look around).

How the orders are loaded: judging a million orders through the services would take hours, so
the benchmark writes what refreshing them would have written: `orders` rows (spread over three
years, 6 channels, 3 tiers, 4 categories, 3 carriers, 2 warehouses, realistic failure rates) and
their stored verdicts in `order_verdicts` and `verdict_failures`, with COPY; the daily rollups
(`verdict_rollups`), the daily KPI rollups with their duration histograms (`kpi_rollups`) and
the failure rollups of the improvement page's root causes (`failure_rollups`) are then summed from
those verdicts by the same `contributions()`, `kpi_contributions()` and `failure_contributions()`
the incremental refresh uses. The load time is printed.

What is measured, through the service layer (`services/verdicts.py`, what the API routes call),
for a random calendar month, --runs times each:
- perfect-order report grouped by channel, from the rollups;
- KPI report (cycle time median/p90 and the other KPIs), from the KPI rollups;
- baseline: the same perfect-order figures grouped by channel computed by scanning the month's
  per-order verdict rows with one SQL aggregate (what a report without rollups would do at best).
"x scan" is each p95 over the baseline's p95, measured in the same run.

Then, for a few of the months, the KPI report is checked against metrics.kpis over the month's
per-order KPI facts: counts and rates must be equal, every median and p90 within
metrics.quantiles.RELATIVE_ERROR; the largest relative error seen is printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache, partial

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.metrics.kpi_rollup import MONTH_PURCHASES, customers_by_purchases_moves, kpi_contributions
from perfectorder.metrics.kpis import Kpis, customer_behaviour, kpis
from perfectorder.metrics.measures import OrderKpiFacts
from perfectorder.metrics.perfect_order import COMPONENTS, Failure
from perfectorder.metrics.quantiles import RELATIVE_ERROR, SMALLEST
from perfectorder.metrics.rollup import COUNTS, NEVER, VerdictRow, contributions, sole_failures
from perfectorder.metrics.root_causes import FAILURE_COUNTS, failure_contributions, lane_label
from perfectorder.services import verdicts

DATABASE = "po_bench_metrics"
START = date(2023, 1, 1)
DAYS = 3 * 365
NOW = datetime(2026, 3, 1, tzinfo=UTC)
# The store's last day: the orders of its last days are still open. (They were counted back from
# NOW, two months after the last order, so no order was ever open and the board's open views, holds
# and the promise-risk scoring read an empty set.)
LAST_DAY = START + timedelta(days=DAYS - 1)
CHANNELS = ("web", "marketplace", "phone", "email", "store", "customer_service")
TIERS = ("standard", "silver", "gold")
CATEGORIES = ("kitchen", "home", "garden", "office")
CARRIERS = ("DHL", "UPS", "GLS")
WAREHOUSES = ("BER", "HAM")
COUNTRIES = ("DE", "AT", "NL")
FAILURES = (  # (component, code, stage, probability)
    ("on_time", "late_delivery", "shipping", 0.05),
    ("undamaged", "damaged_in_transit", "shipping", 0.01),
    ("accurate", "packing_mismatch", "packing", 0.006),
    ("complete", "short_shipment", "picking", 0.004),
    ("communicated", "message_missing", "communication", 0.01),
)


def copy_rows(conn: psycopg.Connection, table: str, columns: list[str], rows: Iterable[list[object]]) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


ORDER_COLUMNS = [
    "id",
    "channel",
    "external_ref",
    "customer_id",
    "status",
    "currency",
    "total",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_postal_code",
    "ship_country",
    "shipping_service",
    "backorder_policy",
    "promised_ship_date",
    "promised_date",
    "placed_at",
    "updated_at",
]
VERDICT_COLUMNS = [
    "order_id",
    "placed_on",
    "channel",
    "customer_id",
    "tier",
    "warehouses",
    "carriers",
    "categories",
    "state",
    "final_from",
    "components",
    "failures",
    "kpi",
    "refreshed_at",
    "lanes",
    "currency",
    "refunded",
    "reshipped",
]
FAILURE_COLUMNS = ["order_id", "component", "code", "stage", "sole", "placed_on", "final_from"]


def customers_for(orders: int) -> int:
    """A store's customers grow with its orders (five orders each over the three years), so the
    customers active in a month grow too; never under 20,000 (bench/dashboard.py opens those)."""
    return max(20_000, orders // 5)


def load(server: str, orders: int, *, seed: int = 11, jobs: int = 1) -> tuple[str, float]:
    """Creates po_bench_metrics with `orders` judged orders, a calendar month per job at a time;
    returns (SQLAlchemy URL, seconds)."""
    started = time.perf_counter()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    url = f"{server.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"
    application = build(Settings(database_url=url))
    upgrade(application.engine)
    application.close()
    rng = random.Random(seed)
    customers = customers_for(orders)
    # A growing store (more orders each month) whose ids follow time, as a real store's do: a
    # month's orders sit together on disk, as they would after three years of trading.
    per_day = Counter(int(rng.triangular(0, DAYS, DAYS)) for _ in range(orders))
    with psycopg.connect(f"{server}/{DATABASE}") as conn:
        copy_rows(
            conn,
            "customers",
            ["id", "email", "name", "tier", "created_at"],
            ([i, f"c{i}@bench.invalid", f"C{i}", TIERS[i % 3], NOW] for i in range(1, customers + 1)),
        )
    # A month holds whole days and its own customers' month, so months load independently (the
    # biggest first, to keep the jobs busy to the end).
    months = sorted(_months(per_day), key=lambda m: -sum(n for _, n in m[1]))
    work = partial(_load_month, server, customers, seed)
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for _ in pool.imap_unordered(work, months):
                pass
    else:
        for month in months:
            work(month)
    with psycopg.connect(f"{server}/{DATABASE}", autocommit=True) as conn:
        conn.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), %s)", (orders,))
        conn.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), %s)", (customers,))
        # What autovacuum does to a live database: statistics, and the visibility map that lets
        # index-only scans skip the table (freshly COPY'd rows have none yet).
        conn.execute("VACUUM ANALYZE")
    return url, time.perf_counter() - started


Month = tuple[int, list[tuple[date, int]]]  # (its first order id, [(day, orders placed that day)])


def _months(per_day: Counter[int]) -> list[Month]:
    by_month: dict[date, list[tuple[date, int]]] = {}
    for offset in sorted(per_day):
        day = START + timedelta(days=offset)
        by_month.setdefault(day.replace(day=1), []).append((day, per_day[offset]))
    out, first = [], 1
    for days in by_month.values():
        out.append((first, days))
        first += sum(n for _, n in days)
    return out


def _load_month(server: str, customers: int, seed: int, month: Month) -> int:
    """Loads one calendar month's orders, verdicts and rollups in one transaction."""
    first, days = month
    rng = random.Random(f"{seed}:{days[0][0]}")
    placed = [day for day, n in days for _ in range(n)]
    rollups = Rollups()
    with psycopg.connect(f"{server}/{DATABASE}") as conn:
        batch = 100_000
        for start in range(0, len(placed), batch):
            chunk = list(enumerate(placed[start : start + batch], start=first + start))
            _load_batch(conn, rng, rollups, chunk, customers)
        rollups.flush(conn)
    return len(placed)


def _load_batch(
    conn: psycopg.Connection,
    rng: random.Random,
    rollups: Rollups,
    placed: list[tuple[int, date]],
    customers: int,
) -> None:
    order_rows, verdict_rows, failure_rows = [], [], []
    for oid, day in placed:
        row = _order(rng, oid, day, customers)
        placed_at = datetime.combine(row.placed_on, datetime.min.time(), UTC) + timedelta(
            hours=rng.randrange(24)
        )
        order_rows.append(
            [
                oid,
                row.channel,
                f"B{oid}",
                row.customer_id,
                "delivered" if row.state == "delivered" else row.state,
                "EUR",
                "25.80",
                "x",
                "x",
                "x",
                "10115",
                row.lanes[0][-2:] if row.lanes else "DE",
                "standard",
                "reject",
                row.kpi.promised_ship_date,
                row.kpi.promised_date,
                placed_at,
                placed_at,
            ]
        )
        verdict_rows.append(
            [
                oid,
                row.placed_on,
                row.channel,
                row.customer_id,
                row.tier,
                ",".join(row.warehouses),
                ",".join(row.carriers),
                ",".join(row.categories),
                row.state,
                row.final_from,
                _components_json(tuple(row.components.items())),
                _failures_json(row.failures),
                json.dumps(_kpi_json(row.kpi)),
                NOW,
                "\n".join(row.lanes),
                row.currency,
                row.refunded,
                row.reshipped,
            ]
        )
        for (c, code, stage), sole in sole_failures(row).items():
            failure_rows.append([oid, c, code, stage, sole, row.placed_on, row.final_from])
        rollups.add(row)
    copy_rows(conn, "orders", ORDER_COLUMNS, order_rows)
    copy_rows(conn, "order_verdicts", VERDICT_COLUMNS, verdict_rows)
    copy_rows(conn, "verdict_failures", FAILURE_COLUMNS, failure_rows)


@cache
def _components_json(components: tuple[tuple[str, bool | None], ...]) -> str:
    return json.dumps(dict(components))  # a handful of distinct ones: each encoded once


@cache
def _failures_json(failures: tuple[Failure, ...]) -> str:
    return json.dumps([[f.component, f.reason, f.stage, f.code] for f in failures])


class Rollups:
    """The rollups the refresh would have written for a month's orders, summed by the same
    contributions() and kpi_contributions(), with the month's customers_by_purchases as the refresh
    keeps it."""

    def __init__(self) -> None:
        # Orders counted per slice and counts: most orders of a day count alike in most slices.
        self.daily: Counter[tuple[tuple[date, str, str, str, date], tuple[int, ...]]] = Counter()
        self.kpi: Counter[tuple[date, str, str, int]] = Counter()
        self.failures: dict[tuple[object, ...], list[int]] = {}

    def add(self, row: VerdictRow) -> None:
        slices = contributions(row)
        counted = tuple(slices[0][1][c] for c in COUNTS)  # every slice counts the order alike
        for key, _ in slices:
            self.daily[(key, counted)] += 1
        self.kpi.update(kpi_contributions(row.placed_on, row.kpi))
        for moved, counts in failure_contributions(row).items():
            into = self.failures.setdefault(moved, [0, 0, 0])
            for i, n in enumerate(counts):
                into[i] += n

    def flush(self, conn: psycopg.Connection) -> None:
        daily: dict[tuple[date, str, str, str, date], list[int]] = {}
        for (key, counted), orders in self.daily.items():
            into = daily.setdefault(key, [0] * len(COUNTS))
            for i, n in enumerate(counted):
                into[i] += n * orders
        copy_rows(
            conn,
            "verdict_rollups",
            ["day", "dimension", "key", "state", "final_from", *COUNTS],
            ([*key, *values] for key, values in daily.items()),
        )
        months = [(k[0], 0, n) for k, n in self.kpi.items() if k[1] == MONTH_PURCHASES]
        self.kpi.update(customers_by_purchases_moves(months))
        copy_rows(
            conn,
            "kpi_rollups",
            ["day", "measure", "key", "bucket", "n"],
            ([*k, n] for k, n in self.kpi.items() if n),
        )
        copy_rows(
            conn,
            "failure_rollups",
            ["day", "final_from", "component", "code", "stage", "dimension", "key", *FAILURE_COUNTS],
            ([*key, *counts] for key, counts in self.failures.items()),
        )
        self.daily.clear()
        self.kpi.clear()
        self.failures.clear()


def _order(rng: random.Random, oid: int, placed_on: date, customers: int) -> VerdictRow:
    placed_at = datetime.combine(placed_on, datetime.min.time(), UTC) + timedelta(hours=9)
    roll = rng.random()
    state = (
        "cancelled" if roll < 0.02 else "pending" if placed_on > LAST_DAY - timedelta(days=6) else "delivered"
    )
    failures: list[Failure] = []
    reached: dict[str, datetime] = {}
    delivered_on = None
    final = NEVER
    if state == "delivered":
        for component, code, stage, p in FAILURES:
            if rng.random() < p:
                failures.append(Failure(component, code.replace("_", " "), stage, code))
        reached = {
            "approved": placed_at + timedelta(minutes=rng.randrange(1, 90)),
            "shipped": placed_at + timedelta(hours=rng.randrange(12, 60)),
        }
        reached["delivered"] = reached["shipped"] + timedelta(hours=rng.randrange(20, 120))
        delivered_on = reached["delivered"].date()
        final = (reached["delivered"] + timedelta(days=30)).date() + timedelta(days=1)
    components = (
        {c: not any(f.component == c for f in failures) for c in COMPONENTS} if state == "delivered" else {}
    )
    carrier, warehouse = rng.choice(CARRIERS), rng.choice(WAREHOUSES)
    country = rng.choices(COUNTRIES, (80, 12, 8))[0]
    customer = rng.randrange(1, customers + 1)
    # A damaged parcel is mostly refunded; a lost one, shipped again.
    refunded = "25.80" if any(f.component == "undamaged" for f in failures) and rng.random() < 0.6 else "0"
    return VerdictRow(
        order_id=oid,
        placed_on=placed_on,
        channel=rng.choices(CHANNELS, (50, 25, 8, 5, 7, 5))[0],
        customer_id=customer,
        tier=TIERS[oid % 3],
        warehouses=(warehouse,) if state != "cancelled" else (),
        carriers=(carrier,) if state != "cancelled" else (),
        categories=tuple(sorted(set(rng.choices(CATEGORIES, k=rng.choice((1, 1, 2)))))),
        state=state,
        final_from=final,
        components=components,
        failures=tuple(failures),
        kpi=OrderKpiFacts(
            order_id=oid,
            customer_id=customer,
            placed_at=placed_at,
            cancelled=state == "cancelled",
            promised_ship_date=placed_on + timedelta(days=2),
            promised_date=placed_on + timedelta(days=5),
            reached=reached,
            lines_ordered=1,
            units_ordered=2,
            lines_complete_first=1 if state == "delivered" else 0,
            units_first_shipment=2 if state == "delivered" else 0,
            accurate=components.get("accurate"),
            delivered_on=delivered_on,
            outcome_known=state == "delivered",
            lines_due=0 if state == "cancelled" else 1,
            lines_on_time_in_full=int(
                delivered_on is not None and delivered_on <= placed_on + timedelta(days=5)
            ),
        ),
        lanes=(lane_label(carrier, "standard", warehouse, country),) if state != "cancelled" else (),
        currency="EUR",
        refunded=Decimal(refunded),
        reshipped=int(any(f.code == "short_shipment" for f in failures)),
    )


_KPI_FIELDS = tuple(f.name for f in fields(OrderKpiFacts))


def _kpi_json(k: OrderKpiFacts) -> dict[str, object]:
    """The facts as the refresh stores them (`kpi` of order_verdicts), read back by kpi_facts()."""
    out: dict[str, object] = {name: getattr(k, name) for name in _KPI_FIELDS}
    for name, value in out.items():
        if isinstance(value, date):  # datetimes too
            out[name] = value.isoformat()
    out["reached"] = {s: t.isoformat() for s, t in k.reached.items()}
    out["returned_reasons"] = list(k.returned_reasons)
    return out


SCAN = text(
    """
    SELECT channel, count(*) FILTER (WHERE state = 'delivered' AND final_from <= :today) AS final,
           count(*) FILTER (WHERE state = 'delivered' AND final_from <= :today
                            AND failures::text = '[]') AS perfect,
           count(*) FILTER (WHERE state = 'pending') AS pending,
           count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE state = 'delivered' AND final_from <= :today
                            AND (components->>'on_time')::boolean IS FALSE) AS late
    FROM order_verdicts WHERE placed_on >= :start AND placed_on < :end GROUP BY channel
    """
)


def measure(application: Application, runs: int, rng: random.Random) -> dict[str, list[float]]:
    months = [(date(2023 + m // 12, m % 12 + 1, 1)) for m in range(0, 36)]
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, call: Callable[..., object], *args: object, **kwargs: object) -> None:
        started = time.perf_counter()
        call(*args, **kwargs)
        timings[name].append((time.perf_counter() - started) * 1000)

    for _ in range(runs):
        first = rng.choice(months)
        after = (first + timedelta(days=32)).replace(day=1)
        start = datetime.combine(first, datetime.min.time(), UTC)
        end = datetime.combine(after, datetime.min.time(), UTC)
        services = application.services
        timed(
            "perfect-order by channel (rollups)",
            verdicts.perfect_order_report,
            services,
            start,
            end,
            group_by="channel",
        )
        timed("KPIs (rollups)", verdicts.kpi_report, services, start, end)
        with application.engine.connect() as conn:
            params = {"start": first, "end": after, "today": NOW.date()}
            timed(
                "baseline: scan of the month's verdicts", lambda c, p: c.execute(SCAN, p).all(), conn, params
            )
    return timings


def check_kpis(application: Application, months: int, rng: random.Random) -> tuple[int, float]:
    """(orders checked, largest relative error of a quantile) of the KPI report against metrics.kpis
    over the same months' per-order facts; raises if a count or rate differs or a quantile is beyond
    the bound."""
    checked, worst = 0, 0.0
    for _ in range(months):
        first = date(2023 + rng.randrange(3), rng.randrange(12) + 1, 1)
        after = (first + timedelta(days=32)).replace(day=1)
        start, end = (datetime.combine(d, datetime.min.time(), UTC) for d in (first, after))
        report, behaviour = verdicts.kpi_report(application.services, start, end)
        with application.services.uow(read_only=True) as uow:
            facts = uow.verdicts.kpi_facts(first, after)
        exact = customer_behaviour(facts)
        assert behaviour.customers == exact.customers, (behaviour, exact)
        assert behaviour.repeat_purchase_rate == exact.repeat_purchase_rate, (behaviour, exact)
        checked += len(facts)
        worst = max(worst, _compare(report, kpis(facts)))
    return checked, worst


def _compare(report: Kpis, exact: Kpis) -> float:
    """The largest relative error of a median or p90; raises if a count or rate differs, or a
    quantile is beyond the bound."""
    worst = 0.0
    assert report.orders == exact.orders
    assert report.distributions.keys() == exact.distributions.keys()
    for name, truth in exact.distributions.items():
        mine = report.distributions[name]
        assert mine.count == truth.count, name
        for got, want in ((mine.median, truth.median), (mine.p90, truth.p90)):
            if want is None or got is None:
                assert got is want, name
                continue
            assert abs(got - want) <= RELATIVE_ERROR * abs(want) * (1 + 1e-9) + SMALLEST, (name, got, want)
            worst = max(worst, abs(got - want) / abs(want) if want else 0.0)
    assert report.rates.keys() == exact.rates.keys()
    for name, want in exact.rates.items():
        got = report.rates[name]
        assert got == want or (got is not None and want is not None and abs(got - want) < 1e-12), name
    assert report.by_key.keys() == exact.by_key.keys()
    for name, by_key in exact.by_key.items():
        assert report.by_key[name].keys() == by_key.keys(), name
        for key, rate in by_key.items():
            assert abs(report.by_key[name][key] - rate) < 1e-12, (name, key)
    return worst


def arguments(description: str | None) -> argparse.Namespace:
    """The options of the benchmarks on this store (bench/dashboard.py loads it too)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="months loaded at once")
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__)
    console = Console()
    url, seconds = load(args.pg, args.orders, jobs=args.jobs)
    console.print(f"loaded {args.orders:,} orders with their verdicts and rollups in {seconds:.1f} s (COPY)")
    application = build(Settings(database_url=url), clock=SimulatedClock(NOW))
    try:
        measure(application, 3, random.Random(1))  # warm-up: caches, connections, plans
        timings = measure(application, args.runs, random.Random(2))
        checked, worst = check_kpis(application, 3, random.Random(3))
    finally:
        application.close()
        if not args.keep:
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    baseline = statistics.quantiles(timings["baseline: scan of the month's verdicts"], n=20)[-1]
    table = Table(
        title=f"one calendar month of {args.orders:,} orders over 3 years, {args.runs} runs, PostgreSQL"
    )
    for column in ("report", "p50 ms", "p95 ms", "x scan (p95)"):
        table.add_column(column, justify="left" if column == "report" else "right")
    for name, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        table.add_row(name, f"{statistics.median(values):.1f}", f"{p95:.1f}", f"{p95 / baseline:.2f}")
    console.print(table)
    console.print(
        f"KPI report checked against metrics.kpis over {checked:,} orders of 3 months: counts and rates "
        f"equal, largest quantile error {worst:.3%} (bound {RELATIVE_ERROR:.0%})"
    )
    console.print("target: p95 < 100 ms for the perfect-order and KPI reports")


if __name__ == "__main__":
    main()
