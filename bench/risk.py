"""Does the promise-risk model beat the rules? And is it quick enough on a big store?

Prediction: the model is trained on one simulated store (seed 101) and measured on three others it
never saw (seeds 202, 303, 404; same kind of business: a pick capacity that a peak overruns, carrier
delays, a slow lane, stock-outs, payment and credit holds). Each settled order of a measured store
is seen once while it was open, at the same moment the training would have chosen; the model's
probability and the rules' (flagged or not, each turned into the miss rate it had in training) are
scored against what happened: Brier score (lower is better) and the model's recall at the rules'
precision. Model and rules see the same snapshots.

Speed (--million DATABASE_URL): training on a store of a million orders (bench/dashboard.py --keep
leaves one) and scoring its open orders, timed.

Run:    .venv/bin/python bench/risk.py                 (four stores of about 4,000 orders: minutes)
        .venv/bin/python bench/risk.py --scale 0.3     (a quick look)
        .venv/bin/python bench/risk.py --million postgresql+psycopg://postgres@127.0.0.1:5432/po_bench_metrics
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.test_promise_risk import STORE as RISKY_STORE  # noqa: E402 - the test's store, scaled

from perfectorder.adapters.clock import SimulatedClock  # noqa: E402
from perfectorder.adapters.db.migrate import upgrade  # noqa: E402
from perfectorder.bootstrap import Application, build  # noqa: E402
from perfectorder.config import Settings  # noqa: E402
from perfectorder.domain.promise_risk import RiskModel  # noqa: E402
from perfectorder.services import promise_risk, verdicts  # noqa: E402
from perfectorder.services.context import read  # noqa: E402
from perfectorder.simulation.runner import simulate  # noqa: E402

START = date(2026, 3, 2)
TRAIN_SEED, MEASURE_SEEDS = 101, (202, 303, 404)
# The test's store (tests/integration/test_promise_risk.py) twice as busy and twice as long: a pick
# capacity a peak overruns, carrier delays, a slow lane to Austria, stock-outs, payment and credit holds.
RISKY = replace(
    RISKY_STORE,
    start=START,
    days=70,
    orders_per_day=60,
    products=60,
    customers=6000,
    pick_capacity=62,
    peak_day=30,
    peak_days=10,
    initial_stock=120,
    reorder_point=15,
    reorder_quantity=150,
)
console = Console(width=150)


def store(folder: Path, seed: int, scale: float) -> Application:
    scenario = replace(
        RISKY,
        seed=seed,
        orders_per_day=RISKY.orders_per_day * scale,
        pick_capacity=max(int(RISKY.pick_capacity * scale), 1),
        customers=int(RISKY.customers * scale),
    )
    clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
    application = build(
        Settings(database_url=f"sqlite:///{folder / f'risk-{seed}.db'}").with_bulk_writes(), clock=clock
    )
    upgrade(application.engine)
    simulate(application, clock, scenario)
    verdicts.refresh(application.services)
    return application


def measured(application: Application, model: RiskModel) -> tuple[dict[str, float], list[tuple[float, bool]]]:
    now = application.services.clock.now()
    lives = read(application.services, lambda uow: uow.promise_risk.finished(now - timedelta(days=400), now))
    snaps = promise_risk.snapshots_of(lives, model.rhythm)
    return promise_risk.quality(model, snaps), [(model.probability(s.features), bool(s.late)) for s in snaps]


# Calibration: within each band of predicted chance, the share that did miss should match it.
BANDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0001)


def calibration(pairs: list[tuple[float, bool]]) -> Table:
    table = Table(
        "predicted", "orders", "mean predicted", "missed", title="calibration, the three stores pooled"
    )
    for low, high in zip(BANDS, BANDS[1:], strict=False):
        band = [(p, y) for p, y in pairs if low <= p < high]
        if band:
            table.add_row(
                f"{low:.0%} to {min(high, 1):.0%}",
                f"{len(band):,}",
                f"{sum(p for p, _ in band) / len(band):.1%}",
                f"{sum(y for _, y in band) / len(band):.1%}",
            )
    return table


def prediction(scale: float) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        trainer = store(folder, TRAIN_SEED, scale)
        training = promise_risk.train(trainer.services, window_days=400)
        trainer.close()
        console.print(
            f"trained on seed {TRAIN_SEED}: {training.snapshots:,} settled orders, "
            f"{training.model.base_rate:.1%} missed ({time.perf_counter() - started:.0f} s with simulating)"
        )
        table = Table(
            "seed",
            "orders",
            "missed",
            "Brier model",
            "Brier rules",
            "ratio",
            "rules precision",
            "rules recall",
            "model recall at that precision",
            title="measured on stores the model never saw",
        )
        pooled: list[tuple[float, bool]] = []
        for seed in MEASURE_SEEDS:
            application = store(folder, seed, scale)
            q, pairs = measured(application, training.model)
            pooled += pairs
            application.close()
            table.add_row(
                str(seed),
                f"{q['snapshots']:,.0f}",
                f"{q['missed'] / q['snapshots']:.1%}",
                f"{q['brier_model']:.4f}",
                f"{q['brier_rules']:.4f}",
                f"{q['brier_model'] / q['brier_rules']:.2f}",
                f"{q['rules_precision']:.1%}",
                f"{q['rules_recall']:.1%}",
                f"{q['model_recall_at_rules_precision']:.1%}",
            )
        console.print(table)
        console.print(calibration(pooled))


def speed(url: str) -> None:
    # The store's own present: its newest order's day, so its open orders are open, not long late.
    probe = build(Settings(database_url=url))
    with probe.engine.connect() as conn:
        newest = conn.execute(text("SELECT max(placed_at) FROM orders")).scalar_one()
    probe.close()
    application = build(Settings(database_url=url), clock=SimulatedClock(newest + timedelta(hours=12)))
    try:
        started = time.perf_counter()
        training = promise_risk.train(application.services, window_days=3650)
        trained = time.perf_counter() - started
        started = time.perf_counter()
        scored = promise_risk.score_open(application.services)
        took = time.perf_counter() - started
    finally:
        application.close()
    console.print(
        f"training on {training.snapshots:,} settled orders: {trained:.1f} s "
        f"(target 120 s: {trained / 120:.2f}); "
        f"scoring {scored:,} open orders: {took:.2f} s (target 5 s: {took / 5:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="orders per day, times this")
    parser.add_argument("--million", metavar="DATABASE_URL", help="time training and scoring on this store")
    args = parser.parse_args()
    if args.million:
        speed(args.million)
    else:
        prediction(args.scale)


if __name__ == "__main__":
    main()
