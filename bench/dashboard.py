"""Every dashboard page on a million orders, over HTTP, from a served process.

Run:    .venv/bin/python bench/dashboard.py                    (1,000,000 orders: a few minutes to load)
        .venv/bin/python bench/dashboard.py --orders 100000    (a quick look)

Needs PostgreSQL at --pg (trust auth). It loads the store of bench/metrics.py (orders with their
stored verdicts and daily rollups, into po_bench_metrics, which it drops at the end unless --keep),
then adds what the operational pages read: 2 warehouses, 2,000 products with stock, one line per
order, a stock-ledger row per order (turnover), the orders of the last days open in every stage
with holds, returns for 3% of orders and feedback for 10%, a parcel with its carrier scans per
delivered order (the carriers page, order ETAs), each order's timeline (one to six events) and
its e-mails (one to three, delivered, with their attempts); then what the worker would have done
by the store's last evening (housekeeping: monthly partitions made and the loaded rows moved into
them, e-mails delivered over 30 days before archived; skipped in a checkout from before
partitions, so this file run there measures the store without them); a verdict refresh then builds
the loyalty projection from those purchases, as on an upgraded store. Then it starts the real server
(uvicorn, one process), logs in as a dashboard user, and requests each page --runs times with
varying parameters (random calendar months, orders, customers, searches).

Also the customer's order-status page, through signed links to random orders (no login).

Printed per page: p50 and p95 in ms, and p95 over the baseline's p95, measured in the same run:
the login page (a template rendered and sent, no database), i.e. what any page costs at least.
Target: every page p95 < 300 ms; the customer's status page p95 < 100 ms.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live_server import running_server  # noqa: E402 - the same server runner the tests use

from metrics import DATABASE, LAST_DAY, NOW, arguments, copy_rows, load  # noqa: E402 - a sibling script
from perfectorder.adapters.clock import SimulatedClock  # noqa: E402
from perfectorder.bootstrap import build  # noqa: E402
from perfectorder.config import Settings  # noqa: E402
from perfectorder.domain.access import Role  # noqa: E402
from perfectorder.services import access, promise_risk, status_page, verdicts  # noqa: E402

PASSWORD = "bench-dashboard-password"
STATUS_PAGE = "customer's status page (signed link)"
TARGETS = {STATUS_PAGE: 100.0}
PRODUCTS = 2_000
OPEN_STAGES = ("received", "on_hold", "approved", "picking", "picked", "packed", "shipped")
REASONS = ("damaged_in_transit", "wrong_item", "changed_mind", "arrived_late", "defective")


def add_operations(server: str, orders: int, seed: int = 5) -> float:
    """Adds the rows the operational pages read to the store bench/metrics.py loaded."""
    started = time.perf_counter()
    rng = random.Random(seed)
    with psycopg.connect(f"{server}/{DATABASE}") as conn:
        conn.execute(
            "INSERT INTO warehouses (id, code, name) VALUES (1, 'BER', 'Berlin'), (2, 'HAM', 'Hamburg')"
        )
        categories = ("kitchen", "home", "garden", "office")
        copy_rows(
            conn,
            "products",
            ["id", "sku", "name", "category", "price", "currency", "unit_cost", "created_at"],
            [
                [p, f"SKU-{p:05d}", f"Product {p}", categories[p % 4], "12.90", "EUR", "4.10", NOW]
                for p in range(1, PRODUCTS + 1)
            ],
        )
        copy_rows(
            conn,
            "stock",
            ["product_id", "warehouse_id", "on_hand", "reserved", "bin_location"],
            [
                [p, w, (on_hand := rng.randrange(0, 400)), rng.randrange(0, on_hand + 1), f"A{p % 40:02d}"]
                for p in range(1, PRODUCTS + 1)
                for w in (1, 2)
            ],
        )
        # Products by Zipf-like popularity, so some sell far more than others.
        weights = [1 / (p**1.1) for p in range(1, PRODUCTS + 1)]
        picks = rng.choices(range(1, PRODUCTS + 1), weights, k=orders)
        copy_rows(
            conn,
            "order_lines",
            ["order_id", "line_no", "product_id", "sku", "quantity", "unit_price"],
            [
                [oid, 1, picks[oid - 1], f"SKU-{picks[oid - 1]:05d}", 2, "12.90"]
                for oid in range(1, orders + 1)
            ],
        )
        placed = dict(conn.execute("SELECT id, placed_at FROM orders").fetchall())
        copy_rows(
            conn,
            "stock_movements",
            [
                "product_id",
                "warehouse_id",
                "movement",
                "on_hand_delta",
                "reserved_delta",
                "order_id",
                "created_at",
            ],
            [
                [picks[oid - 1], 1 + oid % 2, "pick", -2, -2, oid, at + timedelta(days=1)]
                for oid, at in placed.items()
            ],
        )
        # The orders of the store's last days are open: spread them over the stages.
        pending = [r[0] for r in conn.execute("SELECT id FROM orders WHERE status = 'pending' ORDER BY id")]
        for stage in OPEN_STAGES:
            ids = [oid for oid in pending if OPEN_STAGES[oid % len(OPEN_STAGES)] == stage]
            conn.execute("UPDATE orders SET status = %s WHERE id = ANY(%s)", (stage, ids))
        held = [oid for oid in pending if OPEN_STAGES[oid % len(OPEN_STAGES)] == "on_hold"]
        copy_rows(
            conn,
            "order_holds",
            ["order_id", "reason", "note", "placed_at", "placed_by"],
            [
                [oid, rng.choice(("payment", "credit", "risk")), "bench", placed[oid], "system"]
                for oid in held
            ],
        )
        conn.execute(
            "UPDATE order_lines SET backordered_qty = 2 WHERE order_id = ANY(%s) AND order_id %% 9 = 0",
            (pending,),
        )
        delivered = [r[0] for r in conn.execute("SELECT id FROM orders WHERE status = 'delivered'")]
        returned = rng.sample(delivered, len(delivered) * 3 // 100)
        copy_rows(
            conn,
            "returns",
            ["order_id", "reason", "criterion", "stage", "status", "created_at"],
            [
                [
                    oid,
                    reason,
                    None if reason == "changed_mind" else "accurate",
                    None if reason == "changed_mind" else "picking",
                    "authorized",
                    placed[oid] + timedelta(days=rng.randrange(5, 30)),
                ]
                for oid in returned
                for reason in [rng.choice(REASONS)]
            ],
        )
        add_parcels(conn, rng, delivered, placed)
        add_timelines(conn, delivered, placed)
        rated = rng.sample(delivered, len(delivered) // 10)
        copy_rows(
            conn,
            "feedback",
            ["order_id", "rating", "comment", "created_at", "updated_at"],
            [
                [
                    oid,
                    rng.choice((5, 5, 5, 4, 4, 3, 2, 1)),
                    "",
                    placed[oid] + timedelta(days=6),
                    placed[oid] + timedelta(days=6),
                ]
                for oid in rated
            ],
        )
        conn.commit()
        # What autovacuum does to a live database: statistics, and the visibility map that lets
        # index-only scans skip the table (freshly COPY'd rows have none yet).
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


CARRIERS = (("DHL", "standard", 2), ("UPS", "express", 1), ("GLS", "economy", 3))


def add_parcels(conn: psycopg.Connection, rng: random.Random, delivered: list[int], placed: dict) -> None:
    """A package and a parcel per delivered order, with its carrier's scans: in transit the next
    morning, now and then a delay or damage, then the delivery (what the carrier page, the ETA and
    learning read)."""
    conn.execute(
        "INSERT INTO shipping_services (code, carrier, name, transit_days, active) VALUES "
        "('standard', 'DHL', 'DHL standard', 2, true), ('express', 'UPS', 'UPS express', 1, true), "
        "('economy', 'GLS', 'GLS economy', 3, true) ON CONFLICT DO NOTHING"
    )
    packages, parcels, events = [], [], []
    for oid in delivered:
        carrier, service, days = CARRIERS[oid % 3]
        shipped = placed[oid] + timedelta(days=1, hours=6)
        took = days + rng.choice((-1, 0, 0, 0, 1)) + (3 if rng.random() < 0.05 else 0)
        arrived = shipped + timedelta(days=max(took, 1), hours=4)
        warehouse = 1 + oid % 2
        scan = shipped + timedelta(hours=rng.choice((4, 10, 20, 30)))
        damaged = rng.random() < 0.02
        packages.append([oid, oid, warehouse, "1.0", 20, 20, 20, "shipped", shipped, "bench"])
        parcels.append(
            [oid, oid, oid, warehouse, carrier, service, f"T{oid}", "delivered", shipped, arrived]
            + ["DE", "10115", scan, damaged, False]
        )
        events.append([carrier, f"{oid}-1", oid, "in_transit", scan, "", scan])
        if took > days:
            events.append([carrier, f"{oid}-2", oid, "delayed", scan + timedelta(hours=6), "hub", scan])
        if damaged:
            events.append([carrier, f"{oid}-3", oid, "damaged", scan + timedelta(hours=8), "crushed", scan])
        events.append([carrier, f"{oid}-4", oid, "delivered", arrived, "", arrived])
    copy_rows(
        conn,
        "packages",
        [
            "id",
            "order_id",
            "warehouse_id",
            "weight_kg",
            "length_cm",
            "width_cm",
            "height_cm",
            "status",
            "packed_at",
            "packed_by",
        ],
        packages,
    )
    copy_rows(
        conn,
        "shipments",
        [
            "id",
            "order_id",
            "package_id",
            "warehouse_id",
            "carrier",
            "service",
            "tracking_number",
            "status",
            "shipped_at",
            "delivered_at",
            "ship_country",
            "ship_postal_code",
            "first_scan_at",
            "damaged",
            "lost",
        ],
        parcels,
    )
    copy_rows(
        conn,
        "carrier_events",
        ["carrier", "event_id", "shipment_id", "type", "occurred_at", "detail", "received_at"],
        events,
    )
    conn.execute("SELECT setval(pg_get_serial_sequence('packages', 'id'), %s)", (max(delivered, default=1),))
    conn.execute("SELECT setval(pg_get_serial_sequence('shipments', 'id'), %s)", (max(delivered, default=1),))


STEPS = (
    ("order.approved", timedelta(hours=1)),
    ("order.picked", timedelta(hours=20)),
    ("order.packed", timedelta(hours=22)),
    ("order.shipped", timedelta(days=1, hours=6)),
)


def add_timelines(conn: psycopg.Connection, delivered: list[int], placed: dict) -> None:
    """Each order's timeline (placed, and for a delivered one its five steps) and the e-mails it
    caused (confirmation; shipped and delivered notices), delivered at once with one attempt each:
    the rows that grow fastest, which the order page, the status page and the verdicts read."""
    done = set(delivered)
    events, messages, attempts = [], [], []
    for oid, at in placed.items():
        steps = [("order.placed", timedelta(0))]
        if oid in done:
            steps += [*STEPS, ("order.delivered", timedelta(days=3, hours=4))]
        events += [[oid, kind, at + after, "bench", "{}"] for kind, after in steps]
        for kind, after in steps:
            topic = {"order.placed": "confirmation", "order.shipped": "shipped"}.get(kind)
            topic = "delivered" if kind == "order.delivered" else topic
            if topic is not None:
                mid = len(messages) + 1
                sent = at + after + timedelta(seconds=20)
                messages.append(
                    [mid, f"bench-{mid}", "email", topic, oid, f"c{oid}@bench.invalid", "{}"]
                    + ["delivered", 1, at + after, at + after, sent]
                )
                attempts.append([mid, sent, True, "bench"])
    copy_rows(conn, "order_events", ["order_id", "type", "occurred_at", "actor", "data"], events)
    copy_rows(
        conn,
        "outbox",
        ["id", "message_id", "kind", "topic", "order_id", "recipient", "payload"]
        + ["status", "attempts", "next_attempt_at", "created_at", "delivered_at"],
        messages,
    )
    copy_rows(conn, "outbox_attempts", ["outbox_id", "attempted_at", "ok", "worker"], attempts)
    conn.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), %s)", (max(len(messages), 1),))


def pages(rng: random.Random, orders: int, links: list[str]) -> list[tuple[str, str]]:
    """(page, path) for one round, with this round's random month, order, customer and link."""
    month = date(2023 + rng.randrange(0, 36) // 12, rng.randrange(1, 13), 1)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    period = f"from={month}&to={end}"
    customer = rng.randrange(1, 20_001)
    return [
        ("baseline: login page", "/login"),
        ("overview (a month)", f"/?{period}"),
        ("overview, one channel", f"/?{period}&group_by=channel&key=web"),
        ("improvement", f"/improvement?{period}"),
        ("orders board", "/orders"),
        ("orders board, late, by promise", "/orders?view=late&sort=promised&desc=false"),
        ("orders board, by risk", "/orders?sort=risk&desc=true"),
        ("orders board, search e-mail", f"/orders?q=c{customer}@bench.invalid"),
        ("orders behind a failure", f"/orders?failure=on_time:late_delivery:shipping&{period}"),
        ("order page", f"/orders/{rng.randrange(1, orders + 1)}"),
        ("inventory", f"/inventory?{period}"),
        ("inventory, low first", f"/inventory?sort=available&desc=false&warehouse=HAM&{period}"),
        ("customers", "/customers"),
        ("customer page", f"/customers/{customer}"),
        ("loyalty (a quarter)", f"/loyalty?from={month - timedelta(days=89)}&to={month}"),
        ("carriers (a month)", f"/carriers?{period}"),
        ("returns (90 days)", f"/returns?from={month}&to={month + timedelta(days=89)}"),
        (STATUS_PAGE, rng.choice(links)),
    ]


def upkeep(url: str, server: str, now: datetime, console: Console) -> None:
    """What the worker has done by the store's last evening: each month's partitions, and the
    messages delivered more than 30 days before moved to the archive."""
    try:
        from perfectorder.services import housekeeping
    except ImportError:  # a checkout from before partitions, run with this file to compare
        console.print("no housekeeping in this checkout: every table unpartitioned, nothing archived")
        return
    application = build(Settings(database_url=url), clock=SimulatedClock(now))
    started = time.perf_counter()
    done = housekeeping.keep_house(application.services)
    application.close()
    with psycopg.connect(f"{server}/{DATABASE}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    console.print(
        f"partitions: {len(done.partitions)} made, {done.archived:,} delivered messages archived "
        f"in {time.perf_counter() - started:.1f} s (then VACUUM ANALYZE)"
    )


def main() -> None:
    args = arguments(__doc__)
    console = Console()
    url, seconds = load(args.pg, args.orders)
    console.print(f"loaded {args.orders:,} orders with their verdicts and rollups in {seconds:.1f} s (COPY)")
    added = add_operations(args.pg, args.orders)
    console.print(f"added lines, ledger, open orders, holds, returns, feedback in {added:.1f} s")
    evening = datetime.combine(LAST_DAY, datetime.min.time(), UTC) + timedelta(hours=20)
    upkeep(url, args.pg, evening, console)
    application = build(Settings(database_url=url))
    # The loyalty projection, built from the loaded purchases by the refresh as on an upgraded store.
    started = time.perf_counter()
    verdicts.refresh(application.services)
    console.print(f"built the loyalty projection in {time.perf_counter() - started:.1f} s")
    # The promise-risk model: trained on every settled order, then every open order scored (the
    # worker's daily and five-minute jobs), timed against their targets, at the store's last
    # evening so its open orders are open rather than long late.
    modelling = build(Settings(database_url=url), clock=SimulatedClock(evening))
    started = time.perf_counter()
    training = promise_risk.train(modelling.services, window_days=3650)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    scored = promise_risk.score_open(modelling.services)
    took = time.perf_counter() - started
    modelling.close()
    console.print(
        f"promise risk: trained on {training.snapshots:,} settled orders in {trained:.1f} s "
        f"({trained / 120:.2f} of the 120 s target); scored {scored:,} open orders in {took:.2f} s "
        f"({took / 5:.2f} of the 5 s target)"
    )
    access.create_user(
        application.services, application.passwords, username="bench", password=PASSWORD, role=Role.ADMIN
    )
    picked = random.Random(11).sample(range(1, args.orders + 1), 500)
    links = [status_page.link_path(application.services, order_id) for order_id in picked]
    application.close()
    timings: dict[str, list[float]] = defaultdict(list)
    try:
        # Plain HTTP on the loopback: the session cookie may not be marked Secure here.
        with (
            running_server(url, PERFECTORDER_COOKIE_SECURE="false") as base,
            httpx.Client(base_url=base, timeout=60) as http,
        ):
            assert http.post("/login", data={"username": "bench", "password": PASSWORD}).status_code in (
                200,
                303,
            )
            for round_no in range(args.runs + 3):
                rng = random.Random(round_no)
                for name, path in pages(rng, args.orders, links):
                    started = time.perf_counter()
                    answer = http.get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status_code != 200:
                        raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
                    if round_no >= 3:  # the first rounds warm caches, connections and plans
                        timings[name].append(elapsed)
    finally:
        if not args.keep:
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    baseline = statistics.quantiles(timings["baseline: login page"], n=20)[-1]
    table = Table(
        title=f"dashboard pages over HTTP, {args.orders:,} orders, {args.runs} runs each, PostgreSQL"
    )
    for column in ("page", "p50 ms", "p95 ms", "x login (p95)", "target (p95)"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        target = TARGETS.get(name, 300.0)
        verdict = (
            "" if name.startswith("baseline") else f"{'PASS' if p95 < target else 'MISS'} < {target:.0f} ms"
        )
        table.add_row(
            name, f"{statistics.median(values):.1f}", f"{p95:.1f}", f"{p95 / baseline:.1f}", verdict
        )
    console.print(table)
    console.print(
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; targets: every page p95 < 300 ms, "
        "the customer's status page < 100 ms"
    )


if __name__ == "__main__":
    main()
