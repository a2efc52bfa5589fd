"""Loyalty validity on a store of about 20,000 orders: the simulator makes customers come back
after an imperfect order with their probability times k; the loyalty report's ratio of repeat rates
(imperfect / perfect) should hold k in its 95% interval. Two runs, same seed: k = 0.6 and k = 1.

Run:    .venv/bin/python bench/loyalty.py                 (about 20,000 orders per run: minutes)
        .venv/bin/python bench/loyalty.py --scale 0.25    (a quick look)

Not a speed benchmark: it prints the measured rates and intervals beside the injected factor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.test_loyalty import LOYAL  # noqa: E402 - the test's store, scaled

from perfectorder.adapters.clock import SimulatedClock  # noqa: E402
from perfectorder.adapters.db.migrate import upgrade  # noqa: E402
from perfectorder.bootstrap import build  # noqa: E402
from perfectorder.config import Settings  # noqa: E402
from perfectorder.services import loyalty, verdicts  # noqa: E402
from perfectorder.simulation.runner import simulate  # noqa: E402

START = LOYAL.start
WINDOW = 25  # days: a reorder comes at most next_order_days after delivery, a few days after ordering
# The test's store (tests/integration/test_loyalty.py), five times as long and busy.
STORE = replace(LOYAL, days=90, orders_per_day=150, products=200, customers=40_000, initial_stock=5000)


def run(factor: float, scale: float) -> tuple[int, float, loyalty.LoyaltyReport]:
    scenario = replace(
        STORE,
        imperfect_factor=factor,
        orders_per_day=STORE.orders_per_day * scale,
        customers=int(STORE.customers * scale),
    )
    with tempfile.TemporaryDirectory() as folder:
        clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
        application = build(
            Settings(database_url=f"sqlite:///{Path(folder) / 'loyalty.db'}").with_bulk_writes(), clock=clock
        )
        try:
            upgrade(application.engine)
            started = time.perf_counter()
            summary = simulate(application, clock, scenario)
            verdicts.refresh(application.services)
            seconds = time.perf_counter() - started
            # Orders whose every reorder lies inside the run: placed by day 90 - 20 - a few.
            end = START + timedelta(days=scenario.days - scenario.next_order_days - 8)
            report = loyalty.loyalty_report(application.services, START, end, window_days=WINDOW)
        finally:
            application.close()
    return summary.orders, seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="orders per day and customers times this")
    args = parser.parse_args()
    console = Console(width=140)
    table = Table(title="loyalty recovered from a simulated store (same seed; window 25 days)")
    for column in ("injected k", "orders", "perfect: repeat", "imperfect: repeat", "ratio (95%)", "k inside"):
        table.add_column(column, justify="right")
    for factor in (0.6, 1.0):
        orders, seconds, r = run(factor, args.scale)
        p, i, ratio = r.perfect.repeat, r.imperfect.repeat, r.ratio
        inside = ratio.low is not None and ratio.high is not None and ratio.low <= factor <= ratio.high
        table.add_row(
            f"{factor:.1f}",
            f"{orders:,} ({seconds:.0f} s)",
            f"{p.rate:.3f} of {p.n:,}" if p.rate is not None else "-",
            f"{i.rate:.3f} of {i.n:,}" if i.rate is not None else "-",
            f"{ratio.value:.3f} ({ratio.low:.3f}-{ratio.high:.3f})" if ratio.value is not None else "-",
            "yes" if inside else "NO",
        )
    console.print(table)


if __name__ == "__main__":
    main()
