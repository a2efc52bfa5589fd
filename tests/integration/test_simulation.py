"""The simulator: injected failure rates come back out of the Perfect Order engine, the same seed
gives the same report byte for byte, and the command line runs a scenario end to end."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Row, create_engine, select, text
from typer.testing import CliRunner

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.tables import carrier_events
from perfectorder.adapters.files.csv_files import read_toml
from perfectorder.cli.main import app
from perfectorder.domain.errors import InvalidInput
from perfectorder.services import jobs, verdicts
from perfectorder.simulation.runner import Live, simulate
from perfectorder.simulation.scenario import Carrier, Scenario, scenario_from_dict
from tests.conftest import make_application

ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 3, 2)
INJECTED = Scenario(
    name="validity",
    seed=7,
    start=START,
    days=10,
    orders_per_day=75,
    products=30,
    customers=300,
    wrong_pick=0.05,
    packing_error=0.04,
    feedback=0.0,
    feedback_when_wrong=0.0,
    return_when_damaged=0.0,
    return_changed_mind=0.0,
    carriers=(Carrier("DHL", "standard", 1.0, (1,), delay=0.10, delay_days=6, damage=0.05),),
)


def migrated(template: Path, folder: Path, name: str) -> str:
    """A copy of the session's migrated SQLite file (sqlite_template) at `folder / name`."""
    shutil.copyfile(template, folder / name)
    return f"sqlite:///{folder / name}"


def within(observed_failures: int, n: int, p: float) -> bool:
    """Inside p ± 4 binomial standard deviations: a correct engine falls outside about once in
    16,000 runs; a bug that drops or doubles a failure kind falls outside almost always."""
    sd = math.sqrt(p * (1 - p) / n)
    return abs(observed_failures / n - p) <= 4 * sd


def test_the_engine_recovers_the_failure_rates_the_simulation_injected(tmp_path, sqlite_template):
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated(sqlite_template, tmp_path, "sim.db"), clock)
    try:
        summary = simulate(application, clock, INJECTED)
        verdicts.refresh(application.services)  # as `perfectorder simulate` does at its end
        clock.advance(timedelta(days=60))  # every verdict final
        period = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
        rates = verdicts.perfect_order_report(application.services, *period)["all"]
        kpis, _ = verdicts.kpi_report(application.services, *period)
    finally:
        application.close()
    n = rates.orders
    assert n >= 600 and summary.delivered >= n
    components = rates.components
    assert within(components["on_time"].failed, n, 0.10), components["on_time"]
    assert within(components["undamaged"].failed, n, 0.05), components["undamaged"]
    assert within(components["accurate"].failed, n, 0.04), components["accurate"]
    # Nothing else was injected: complete and communicated hold for every order.
    assert components["complete"].failed == 0 and components["communicated"].failed == 0
    # A wrong scan is refused at the shelf: it costs picking accuracy, never order accuracy.
    assert kpis.picking_accuracy is not None and abs((1 - kpis.picking_accuracy) - 0.05) < 0.03
    assert rates.perfect_order_index == pytest.approx(
        math.prod(c.rate for c in components.values() if c.rate is not None)
    )


def test_simulated_losses_fail_complete_and_are_reshipped(tmp_path, sqlite_template):
    scenario = replace(
        INJECTED,
        name="losses",
        days=6,
        orders_per_day=40,
        wrong_pick=0.0,
        packing_error=0.0,
        carriers=(Carrier("DHL", "standard", 1.0, (1,), loss=0.08),),
    )
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated(sqlite_template, tmp_path, "sim.db"), clock)
    try:
        summary = simulate(application, clock, scenario)
        clock.advance(timedelta(days=60))  # every verdict final
        verdicts.refresh(application.services)
        period = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
        rates = verdicts.perfect_order_report(application.services, *period)["all"]
        kpis, behaviour = verdicts.kpi_report(application.services, *period)
    finally:
        application.close()
    assert summary.lost >= 5 and summary.reshipped == summary.lost
    # Each lost parcel's order fails complete; its reshipment is an order of its own, not a purchase.
    assert rates.components["complete"].failed == summary.lost
    assert kpis.orders == summary.orders + summary.reshipped
    assert behaviour.orders_per_customer is not None
    assert behaviour.orders_per_customer * behaviour.customers == summary.orders - rates.cancelled


TINY = Scenario(name="tiny", seed=5, start=START, days=3, orders_per_day=25, products=15, customers=60)


def report_json(
    tmp_path: Path, template: Path, name: str, scenario: Scenario, live: Live | None = None
) -> bytes:
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated(template, tmp_path, name), clock)
    try:
        simulate(application, clock, scenario, live=live)
        verdicts.refresh(application.services)  # as `perfectorder simulate` does at its end
        clock.set(datetime(2026, 5, 1, tzinfo=UTC))
        period = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
        body = {
            str(group): {
                k: repr(v)
                for k, v in verdicts.perfect_order_report(
                    application.services, *period, group_by=group
                ).items()
            }
            for group in (None, "channel", "carrier", "category", "tier")
        }
        body["kpis"] = {"all": repr(verdicts.kpi_report(application.services, *period))}
    finally:
        application.close()
    return json.dumps(body, sort_keys=True, default=str).encode()


def test_the_same_seed_gives_a_byte_identical_report_and_another_seed_does_not(tmp_path, sqlite_template):
    first = report_json(tmp_path, sqlite_template, "a.db", TINY)
    assert first == report_json(tmp_path, sqlite_template, "b.db", TINY)
    assert first != report_json(tmp_path, sqlite_template, "c.db", replace(TINY, seed=6))


def test_a_live_run_is_ready_after_its_first_days_and_ends_with_the_same_store(tmp_path, sqlite_template):
    # The demo serves once the first weeks are stored and judged, while the rest is simulated
    # behind the server: the first days must be judged by then, the progress said as it goes, and
    # judging on the way must not change the final figures.
    seen: list[tuple[object, list[object]]] = []
    wall = iter(datetime(2026, 12, 6, 10, 0, tzinfo=UTC) + timedelta(seconds=n) for n in range(10_000))
    holder: dict[str, object] = {}

    def ready() -> None:
        services = holder["app"].services  # type: ignore[attr-defined]
        seen.append((verdicts.last_placed_on(services), jobs.unfinished(services)))

    scenario = replace(TINY, days=6)
    live = Live(
        "Simulation 'tiny'", ready_days=3, judge_every_days=2, on_ready=ready, wall=lambda: next(wall)
    )
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated(sqlite_template, tmp_path, "live.db"), clock)
    holder["app"] = application
    try:
        summary = simulate(application, clock, scenario, live=live)
        assert jobs.unfinished(application.services) == []
        stored = verdicts.placed_span(application.services)
    finally:
        application.close()
    assert len(seen) == 1
    last_judged, running = seen[0]
    # Ready at midnight after day 3: the orders of days 1-3 are judged, none of later days exist.
    assert last_judged == START + timedelta(days=2)
    assert [(j.name, j.done, j.total, j.unit) for j in running] == [("Simulation 'tiny'", 3, 6, "days")]  # type: ignore[attr-defined]
    assert summary.judged >= summary.orders and stored == (START, START + timedelta(days=5))
    assert report_json(tmp_path, sqlite_template, "plain.db", scenario) == report_json(
        tmp_path, sqlite_template, "live2.db", scenario, Live("again", ready_days=3, judge_every_days=2)
    )


def test_the_command_runs_a_scenario_and_names_a_bad_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(
        'name = "cli"\n[run]\nstart = "2026-03-02"\ndays = 2\norders_per_day = 10\n'
        "[catalog]\nproducts = 10\n[customers]\ncustomers = 20\n"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(scenario)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "orders placed" in result.output and "verdicts stored" in result.output
    scenario.write_text('[run]\ndays = "many"\n')
    bad = runner.invoke(app, ["simulate", str(scenario)])
    assert bad.exit_code == 2 and "scenario_invalid" in bad.output and "run.days" in bad.output


def test_every_shipped_scenario_loads():
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario = scenario_from_dict(read_toml(path))
        assert scenario.days >= 30 and scenario.carriers, path
    demo = scenario_from_dict(read_toml(ROOT / "scenarios" / "demo.toml"))
    assert demo.days == 90
    with pytest.raises(InvalidInput) as e:
        scenario_from_dict({"carriers": {"DHL": {"delay": 2}}})
    assert e.value.field == "carriers.DHL.delay"


def simulate_recently(
    tmp_path: Path, monkeypatch, *, began_days_ago: int, run: str, rest: str
) -> tuple[str, str]:
    """`perfectorder simulate` on a scenario that began some days before today ([run] `run`, then
    the `rest` of its tables); returns the database URL and what the command printed."""
    url = f"sqlite:///{tmp_path / 'recent.db'}"
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "300")
    start = (datetime.now(UTC) - timedelta(days=began_days_ago)).date()
    scenario = tmp_path / "recent.toml"
    scenario.write_text(f'name = "recent"\n[run]\nstart = "{start}"\n{run}{rest}')
    result = CliRunner().invoke(app, ["simulate", str(scenario)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return url, result.output


def query(url: str, sql: str) -> list[Row]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def test_the_command_stops_at_the_present_and_says_why_orders_were_refused(tmp_path, monkeypatch):
    # A scenario running past today once wrote events weeks in the future, and said more orders
    # delivered than shipped (parcels against orders) and "N refused" without why.
    url, output = simulate_recently(
        tmp_path,
        monkeypatch,
        began_days_ago=3,
        run="days = 6\norders_per_day = 30\n",
        rest="[catalog]\nproducts = 10\n[customers]\ncustomers = 20\n"
        "[warehouses]\ninitial_stock = 5\nreorder_point = 0\nreorder_quantity = 1\n",
    )
    assert "stopped at the present" in output
    [(latest,)] = query(url, "SELECT MAX(occurred_at) FROM order_events")
    assert datetime.fromisoformat(str(latest)).replace(tzinfo=UTC) <= datetime.now(UTC)
    shipped = int(re.search(r"([\d,]+) orders shipped", output).group(1).replace(",", ""))
    delivered = int(re.search(r"([\d,]+) delivered", output).group(1).replace(",", ""))
    assert delivered <= shipped
    refused = re.search(r"\(([\d,]+) refused(: [^)]*)?\)", output)
    assert refused, output
    if int(refused.group(1).replace(",", "")):
        assert "insufficient_stock" in (refused.group(2) or ""), output


def test_simulated_returns_come_back_and_are_inspected(tmp_path, monkeypatch):
    # Returns were opened and never received: the returns page's "received" stayed empty.
    _, output = simulate_recently(
        tmp_path,
        monkeypatch,
        began_days_ago=40,
        run="days = 10\norders_per_day = 20\n",
        rest="[catalog]\nproducts = 10\n[customers]\ncustomers = 50\n[answers]\nreturn_changed_mind = 0.3\n",
    )
    found = re.search(r"(\d+) returns \((\d+) received\)", output)
    assert found, output
    opened, received = int(found.group(1)), int(found.group(2))
    assert opened > 10 and received == opened, output
    # The last day's orders ship too: they once stayed approved for good and read as late.
    shipped = re.search(r"([\d,]+) orders placed .*?([\d,]+) orders shipped", output)
    assert shipped and shipped.group(1) == shipped.group(2), output


def test_made_to_order_items_ship_after_they_are_made(tmp_path, monkeypatch):
    # Production was not simulated: a made-to-order item shipped hours after it was ordered.
    url, _ = simulate_recently(
        tmp_path,
        monkeypatch,
        began_days_ago=40,
        run="days = 5\norders_per_day = 10\n",
        rest="[catalog]\nproducts = 5\nmade_to_order = 1.0\nproduction_days = 4\n"
        "[customers]\ncustomers = 20\n",
    )
    rows = query(
        url,
        "SELECT o.placed_at, MIN(s.shipped_at) FROM orders o JOIN shipments s ON s.order_id = o.id "
        "GROUP BY o.id",
    )
    assert len(rows) > 20
    gaps = [
        datetime.fromisoformat(str(shipped)) - datetime.fromisoformat(str(placed)) for placed, shipped in rows
    ]
    # Four working days of production: nothing leaves within three calendar days of its order.
    assert min(gaps) >= timedelta(days=3), min(gaps)


def test_simulated_customers_use_their_status_page(tmp_path, sqlite_template):
    scenario = replace(
        TINY, days=6, self_cancel=0.2, self_service=1.0, feedback=0.5, return_changed_mind=0.3, seed=9
    )
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    url = migrated(sqlite_template, tmp_path, "self.db")
    application = make_application(url, clock)
    try:
        summary = simulate(application, clock, scenario)
    finally:
        application.close()
    actors = query(
        url,
        "SELECT type, COUNT(*) FROM order_events WHERE actor LIKE 'customer:% (status page)' GROUP BY type",
    )
    by_type = {row[0]: row[1] for row in actors}
    assert by_type.get("order.cancelled", 0) > 0 and by_type.get("order.feedback", 0) > 0, by_type
    assert by_type.get("order.return_authorized", 0) > 0, by_type
    assert summary.self_service == sum(by_type.values())


def test_a_tracking_carrier_scans_daily_with_its_estimates_and_some_parcels_go_silent(
    tmp_path, sqlite_template
):
    carrier = Carrier(
        "DHL",
        "standard",
        1.0,
        (5, 6, 7),
        eta=True,
        eta_wrong=0.2,
        scan_hours=24,
        scan_gap=0.3,
        scan_gap_hours=72,
    )
    scenario = replace(INJECTED, name="tracking", days=4, orders_per_day=25, carriers=(carrier,))
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(migrated(sqlite_template, tmp_path, "sim.db"), clock)
    try:
        simulate(application, clock, scenario)
        with application.engine.connect() as conn:
            events = conn.execute(
                select(carrier_events).order_by(carrier_events.c.shipment_id, carrier_events.c.occurred_at)
            ).all()
    finally:
        application.close()
    scans: dict[int, list[Row]] = {}
    for e in events:
        scans.setdefault(e.shipment_id, []).append(e)
    delivered = {s: next(e for e in rows if e.type == "delivered") for s, rows in scans.items()}
    estimates = [
        (e.estimated_delivery, delivered[s])
        for s, rows in scans.items()
        for e in rows
        if e.type == "in_transit"
    ]
    assert len(estimates) > 3 * len(scans)  # a scan a day, not one per parcel
    assert all(estimate is not None for estimate, _ in estimates)
    right = sum(estimate == d.occurred_at.date() for estimate, d in estimates)
    assert 0.65 < right / len(estimates) < 0.92  # a fifth a day off (and the delayed ones' first)
    longest = {
        s: max(b.occurred_at - a.occurred_at for a, b in zip(rows, rows[1:], strict=False))
        for s, rows in scans.items()
    }
    # Three in ten go silent, from one of their later scans: those near the end are delivered first.
    silent = sum(gap >= timedelta(hours=72) for gap in longest.values())
    assert 0.05 < silent / len(scans) < 0.3 and min(longest.values()) <= timedelta(hours=30)
