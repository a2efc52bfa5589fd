"""Does restocking by the store's replenishment plan lose less demand than a fixed reorder rule?

One scenario (scenarios/supplier-slip.toml: a quarter of a web shop, two suppliers, one of which
slips mid-quarter) is run twice on the same seed: once restocked by the scenario's reorder rule
(a PO for a fixed quantity when free stock falls under a fixed point), once by accepting the
replenishment suggestions each morning. Customers ask for the same things in both runs (the
suppliers draw from their own random stream), so the difference is the policy's. The baseline is
the reorder rule measured in the same run; the figures are the store's own reports: lost demand
(lines and units refused for lack of stock, the stock-out rate), inventory turnover and days of
supply over the quarter, and what was bought.

Run:    .venv/bin/python bench/replenishment.py              (two runs of 90 days: a few minutes)
        .venv/bin/python bench/replenishment.py --days 45    (shorter: before the slip only)
        .venv/bin/python bench/replenishment.py --seed 7     (another draw of the same business)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.files.csv_files import read_toml
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from perfectorder.services import lost_demand, purchasing, verdicts
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Outcome:
    policy: str
    orders: int
    refused_orders: int
    lines_lost: int
    units_lost: int
    value_lost: Decimal
    stock_out_rate: float
    turnover: float | None
    days_of_supply: float | None
    average_stock_units: float
    purchase_orders: int
    units_bought: int
    seconds: float


def run(scenario: Scenario, folder: Path, policy: str) -> Outcome:
    start = datetime.combine(scenario.start, datetime.min.time(), UTC)
    clock = SimulatedClock(start)
    settings = Settings(database_url=f"sqlite:///{folder / (policy + '.db')}").with_bulk_writes()
    application = build(settings, clock=clock)
    try:
        upgrade(application.engine)
        began = time.perf_counter()
        summary = simulate(application, clock, scenario)
        seconds = time.perf_counter() - began
        ctx = application.services
        # The quarter the customers ordered in (the run's tail only delivers what was ordered).
        end = start + timedelta(days=scenario.days)
        lost = lost_demand.report(ctx, start, end)
        flow = verdicts.inventory_turnover(ctx, start, end)
        orders = purchasing.list_purchase_orders(ctx, limit=100_000)
        bought = sum(
            line.quantity
            for po in orders
            for line in purchasing.get_purchase_order(ctx, po.id).lines
            if po.status != "draft"
        )
        return Outcome(
            policy,
            summary.orders,
            summary.refused_by_code.get("insufficient_stock", 0),
            lost.lines_lost,
            lost.units_lost,
            sum(lost.value_lost.values(), Decimal(0)),
            lost.stock_out_rate or 0.0,
            flow.inventory_turnover_units,
            flow.days_of_supply,
            flow.average_inventory_units,
            len(orders),
            bought,
            seconds,
        )
    finally:
        application.close()


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "supplier-slip.toml")
    parser.add_argument("--days", type=int, default=None, help="shorten the scenario")
    parser.add_argument("--seed", type=int, default=None, help="another draw of the same scenario")
    args = parser.parse_args()
    scenario = scenario_from_dict(read_toml(args.scenario))
    if args.days is not None:
        scenario = replace(scenario, days=args.days)
    if args.seed is not None:
        scenario = replace(scenario, seed=args.seed)
    console = Console()
    console.print(
        f"{scenario.name}: {scenario.days} days from {scenario.start}, seed {scenario.seed}, "
        f"{scenario.orders_per_day} orders a day, {scenario.products} products"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rule = run(replace(scenario, replenish=False), Path(tmp), "reorder rule")
        plan = run(replace(scenario, replenish=True), Path(tmp), "replenishment plan")
    if rule.orders + rule.refused_orders != plan.orders + plan.refused_orders:
        console.print("[red]the two runs' customers asked for different things: not comparable[/red]")
        sys.exit(1)
    table = Table(title="The same customers, two ways to restock (baseline: the reorder rule)")
    for heading in ("", "reorder rule", "replenishment plan", "plan / rule"):
        table.add_column(heading, justify="right" if heading else "left")
    rows: list[tuple[str, float | None, float | None, str]] = [
        ("orders placed", rule.orders, plan.orders, "{:,.0f}"),
        ("orders refused for lack of stock", rule.refused_orders, plan.refused_orders, "{:,.0f}"),
        ("lines lost (stock-outs)", rule.lines_lost, plan.lines_lost, "{:,.0f}"),
        ("units lost", rule.units_lost, plan.units_lost, "{:,.0f}"),
        ("value lost", float(rule.value_lost), float(plan.value_lost), "{:,.2f}"),
        ("stock-out rate (lines)", rule.stock_out_rate, plan.stock_out_rate, "{:.2%}"),
        ("inventory turnover (units, quarter)", rule.turnover, plan.turnover, "{:.2f}"),
        ("days of supply at the end", rule.days_of_supply, plan.days_of_supply, "{:.1f}"),
        ("average stock (units)", rule.average_stock_units, plan.average_stock_units, "{:,.0f}"),
        ("purchase orders", rule.purchase_orders, plan.purchase_orders, "{:,.0f}"),
        ("units bought", rule.units_bought, plan.units_bought, "{:,.0f}"),
    ]
    for label, a, b, shape in rows:
        table.add_row(
            label,
            "-" if a is None else shape.format(a),
            "-" if b is None else shape.format(b),
            ratio(b, a),
        )
    console.print(table)
    console.print(f"simulated in {rule.seconds:.0f} s (rule) and {plan.seconds:.0f} s (plan)")
    fell = plan.lines_lost < rule.lines_lost and plan.units_lost < rule.units_lost
    console.print(
        ("PASS" if fell else "MISS") + ": stock-outs and lost demand fall with the replenishment plan"
    )


if __name__ == "__main__":
    main()
