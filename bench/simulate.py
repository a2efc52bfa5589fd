"""Simulator speed: orders per second of a scenario run into a fresh SQLite file, in simulated time
through the real services.

Run:    .venv/bin/python bench/simulate.py                       (scenarios/demo.toml: a few minutes)
        .venv/bin/python bench/simulate.py --days 10             (the same scenario, shortened)

Baseline, measured in the same run: placing the same number of orders through `place_order` alone
(no fulfilment, no messages), so "x place only" says what the rest of the order cycle costs.
bench/import.py calls measure() to print the simulator's rate beside the import's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.files.csv_files import read_toml
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent


def run(scenario: Scenario, folder: Path, name: str) -> tuple[int, float]:
    clock = SimulatedClock(datetime.combine(scenario.start, datetime.min.time(), UTC))
    settings = Settings(database_url=f"sqlite:///{folder / name}").with_bulk_writes()
    application = build(settings, clock=clock)
    try:
        upgrade(application.engine)
        summary = simulate(application, clock, scenario)
        return summary.orders, summary.seconds
    finally:
        application.close()


def measure(days: int | None = 20) -> str:
    scenario = scenario_from_dict(read_toml(ROOT / "scenarios" / "demo.toml"))
    if days is not None:
        scenario = replace(scenario, days=days, peak_day=-1)
    quiet = replace(
        scenario,
        name="place only",
        carriers=scenario.carriers,
        pick_capacity=0,  # nothing is released: the orders are placed and wait
        payment_decline=0.0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        orders, seconds = run(scenario, Path(tmp), "full.db")
        baseline_orders, baseline_seconds = run(quiet, Path(tmp), "place.db")
    full, place = orders / seconds, baseline_orders / baseline_seconds
    return (
        f"simulator ({scenario.name}, {scenario.days} days): {orders:,} orders in {seconds:.1f} s = "
        f"{full:,.0f} orders/s with the whole cycle; placing only: {place:,.0f} orders/s "
        f"(x place only {full / place:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--days", type=int, default=None, help="shorten the demo scenario (default: all 90 days)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(measure(args.days))
    print(f"(bench wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
