"""On time per line, by date or by time, with delivery windows (issue 18, findings 2 and 3): history
files whose lines have their own schedules, and B2B promises that are times, not days."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.api.app import create_app
from perfectorder.bootstrap import build
from perfectorder.config import Settings as ConfigSettings
from perfectorder.domain.access import Role
from perfectorder.metrics.perfect_order import OnTimeBasis, Settings
from perfectorder.services import access, verdicts
from tests.conftest import api_key, command_line, make_application
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_verdicts import deliver

PASSWORD = "correct horse battery"
LATER = datetime(2026, 11, 24, tzinfo=UTC)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

MAPPING = """
[columns]
order_ref = "Shipment"
line_ref = "Line"
ordered_at = "Booked"
promised_at = "Planned"
delivered_at = "Arrived"
sku = "Item"
status = "Status"
{extra}
[file]
timezone = "Europe/Berlin"
[defaults]
{defaults}
"""
HEADER = "Shipment,Line,Booked,Planned,Arrived,Item,Status{extra}"


@pytest.fixture
def cli(migrated_database_url, monkeypatch):
    return command_line(monkeypatch, migrated_database_url, columns=220)


def load(cli, tmp_path, rows, *, window: bool = False, defaults: str = "") -> None:
    mapping, data = tmp_path / "mapping.toml", tmp_path / "history.csv"
    mapping.write_text(
        MAPPING.format(extra='promised_from = "Window opens"' if window else "", defaults=defaults)
    )
    data.write_text("\n".join([HEADER.format(extra=",Window opens" if window else ""), *rows]) + "\n")
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert re.search(r"rows rejected +│ +0 │", result.output), result.output


def report(cli, *options: str) -> dict:
    result = cli("report", "--from", "2025-01-01", "--to", "2025-12-31", "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def on_time(figures: dict) -> tuple[int, int, int, int]:
    """(orders judged, orders late, lines judged, lines late)."""
    c = figures["components"]["on_time"]
    return c["evaluated"], c["failed"], figures["lines_evaluated"], figures["lines_late"]


def test_an_order_is_on_time_only_when_every_line_arrived_by_its_own_promise(
    cli, migrated_database_url, tmp_path
):
    load(
        cli,
        tmp_path,
        [
            # A split delivery: the first line on time, the second two days after its own promise.
            "S-1,1,2025-03-01 08:00:00,2025-03-05,2025-03-04 10:00:00,A,delivered",
            "S-1,2,2025-03-01 08:00:00,2025-03-06,2025-03-08 10:00:00,B,delivered",
            # Per-line promises, each kept (the second later than the first line's promise).
            "S-2,1,2025-03-01 08:00:00,2025-03-05,2025-03-05 10:00:00,A,delivered",
            "S-2,2,2025-03-01 08:00:00,2025-03-09,2025-03-09 10:00:00,B,delivered",
        ],
    )
    figures = report(cli)
    # Judged on the first row alone, S-1 was on time (its first line's promise and delivery).
    assert on_time(figures) == (2, 1, 4, 1)
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        late = next(f for f, v in verdicts.verdicts_between(application.services, *EVERYTHING) if v.failures)
        verdict = verdicts.order_verdict(application.services, late.order_id)
    finally:
        application.close()
    assert [t.value for t in verdict.lines] == ["on_time", "late"]
    assert verdict.failures[0].reason.startswith("1 of 2 lines delivered 2 day(s) after the promise")


TRUCKING = [
    # Planned for 09:00, arrived 13:30 the same day: late by the clock, on time by the calendar.
    "T-1,1,2025-04-01 07:00:00,2025-04-03 09:00:00,2025-04-03 13:30:00,PALLET,delivered",
    # Planned for 09:00, arrived 09:20: within a 30-minute grace.
    "T-2,1,2025-04-01 07:00:00,2025-04-03 09:00:00,2025-04-03 09:20:00,PALLET,delivered",
    # A promise written as a bare day (midnight): by the end of that day, at either basis.
    "T-3,1,2025-04-01 07:00:00,2025-04-03 00:00:00,2025-04-03 23:10:00,PALLET,delivered",
    # A day late at either basis.
    "T-4,1,2025-04-01 07:00:00,2025-04-03 09:00:00,2025-04-04 08:00:00,PALLET,delivered",
]


def test_a_promise_with_a_time_is_held_to_it_at_time_basis_with_grace(cli, tmp_path):
    load(cli, tmp_path, TRUCKING)
    assert on_time(report(cli)) == (4, 1, 4, 1)  # the default: each order's terms, by date
    assert on_time(report(cli, "--on-time-basis", "time")) == (4, 3, 4, 3)
    assert on_time(report(cli, "--on-time-basis", "time", "--grace-minutes", "30")) == (4, 2, 4, 2)
    table = cli("report", "--from", "2025-01-01", "--to", "2025-12-31", "--on-time-basis", "time")
    assert "on time by time" in table.output and "lines late" in table.output
    bad = cli("report", "--on-time-basis", "hour")
    assert bad.exit_code == 2 and "hour" in bad.output


def test_a_files_orders_take_the_mappings_terms_and_a_report_may_override_them(cli, tmp_path):
    load(cli, tmp_path, TRUCKING, defaults='on_time_basis = "time"\ngrace_minutes = 30')
    assert on_time(report(cli)) == (4, 2, 4, 2)  # their own terms: by time, 30 minutes' grace
    assert on_time(report(cli, "--on-time-basis", "date")) == (4, 1, 4, 1)
    assert on_time(report(cli, "--grace-minutes", "0")) == (4, 3, 4, 3)


WINDOWS = [
    # Window 2025-05-06 08:00 to 12:00; arrived at 07:00 the same day: early by the clock only.
    "W-1,1,2025-05-01 07:00:00,2025-05-06 12:00:00,2025-05-06 07:00:00,BOX,delivered,2025-05-06 08:00:00",
    # Arrived the day before its window: early by either basis.
    "W-2,1,2025-05-01 07:00:00,2025-05-06 12:00:00,2025-05-05 15:00:00,BOX,delivered,2025-05-06 08:00:00",
    # Inside its window.
    "W-3,1,2025-05-01 07:00:00,2025-05-06 12:00:00,2025-05-06 10:00:00,BOX,delivered,2025-05-06 08:00:00",
]


def test_arriving_before_a_delivery_window_opens_fails_on_time(cli, migrated_database_url, tmp_path):
    load(cli, tmp_path, WINDOWS, window=True)
    assert on_time(report(cli)) == (3, 1, 3, 1)
    assert on_time(report(cli, "--on-time-basis", "time")) == (3, 2, 3, 2)
    assert on_time(report(cli, "--on-time-basis", "time", "--grace-minutes", "60")) == (3, 1, 3, 1)
    assert on_time_failure_codes(migrated_database_url) == {"early_delivery"}


def on_time_failure_codes(url: str) -> set[str]:
    application = make_application(url, SimulatedClock(LATER))
    try:
        judged = verdicts.verdicts_between(application.services, *EVERYTHING)
        return {f.code for _, v in judged for f in v.failures if f.component == "on_time"}
    finally:
        application.close()


def test_a_window_that_closes_before_it_opens_is_rejected(cli, tmp_path):
    mapping, data = tmp_path / "mapping.toml", tmp_path / "history.csv"
    mapping.write_text(MAPPING.format(extra='promised_from = "Window opens"', defaults=""))
    data.write_text(
        HEADER.format(extra=",Window opens")
        + "\nX-1,1,2025-05-01 07:00:00,2025-05-06 08:00:00,2025-05-06 09:00:00,BOX,delivered,"
        "2025-05-06 12:00:00\n"
    )
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    rejects = (tmp_path / "history.csv.rejects.csv").read_text()
    assert "invalid_window" in rejects


def test_the_api_and_the_dashboard_take_the_basis_and_grace(migrated_database_url, tmp_path, cli):
    load(cli, tmp_path, TRUCKING)
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        with TestClient(create_app(application=application), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {api_key(application)}"
            period = {"from": "2025-01-01", "to": "2025-12-31"}
            default = client.get("/api/v1/metrics/perfect-order", params=period).json()["groups"]["all"]
            timed = client.get(
                "/api/v1/metrics/perfect-order",
                params={**period, "on_time_basis": "time", "grace_minutes": 30},
            ).json()["groups"]["all"]
            assert (default["components"]["on_time"]["failed"], default["lines_late"]) == (1, 1)
            assert (timed["components"]["on_time"]["failed"], timed["lines_late"]) == (2, 2)
            refused = client.get("/api/v1/metrics/perfect-order", params={**period, "on_time_basis": "hour"})
            assert refused.status_code == 422 and "on_time_basis" in refused.text
            verdict_ids = [
                f.order_id for f, _ in verdicts.verdicts_between(application.services, *EVERYTHING)
            ]
            one = client.get(
                f"/api/v1/orders/{verdict_ids[0]}/verdict", params={"on_time_basis": "time"}
            ).json()
            assert one["lines"] == ["late"] and one["lines_late"] == 1
        access.create_user(
            application.services, application.passwords, username="ana", password=PASSWORD, role=Role.ANALYST
        )
        with TestClient(create_app(application=application), base_url="https://testserver") as browser:
            assert browser.post("/login", data={"username": "ana", "password": PASSWORD}).status_code == 200
            page = browser.get("/", params={**period, "on_time_basis": "time", "grace_minutes": "30"})
            assert page.status_code == 200, page.text
            assert re.search(r'id="lines-late">2<', page.text)
            assert 'value="time" selected' in page.text
    finally:
        application.close()


def test_a_reports_basis_judges_the_same_orders_as_the_services_settings(
    cli, migrated_database_url, tmp_path
):
    load(cli, tmp_path, TRUCKING)
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        by_time = verdicts.perfect_order_report(
            application.services, *EVERYTHING, settings=Settings(basis=OnTimeBasis.TIME, grace_minutes=30)
        )["all"]
    finally:
        application.close()
    assert (by_time.lines_evaluated, by_time.lines_late) == (4, 2)


DOCK = {"email": "dock@example.com", "name": "Dock 4 Logistics"}


def test_a_live_orders_terms_are_its_customers_fixed_when_placed(application, client):
    made = client.post(
        "/api/v1/customers",
        json={
            "email": "dock@example.com",
            "name": "Dock 4 Logistics",
            "on_time_basis": "time",
            "grace_minutes": 60,
        },
    )
    assert made.status_code == 201, made.text
    assert (made.json()["on_time_basis"], made.json()["grace_minutes"]) == ("time", 60)
    refused = client.post(
        "/api/v1/customers", json={"email": "x@example.com", "name": "X", "grace_minutes": 30}
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_terms"
    b2b = client.post(
        "/api/v1/orders",
        json=order_payload(customer={"email": "dock@example.com", "name": "Dock 4 Logistics"}),
    ).json()
    shop = client.post("/api/v1/orders", json=order_payload()).json()
    for order, tracking in ((b2b, "T-B2B"), (shop, "T-SHOP")):
        ship_one(client, order["id"], tracking)
        # Half an hour past midnight after the promised day, in Berlin (UTC+1 in winter).
        promised = date.fromisoformat(order["promised_date"])
        arrived = datetime.combine(promised + timedelta(days=1), time(0, 30), ZoneInfo("Europe/Berlin"))
        deliver(client, tracking, arrived.astimezone(UTC).isoformat())
    b2b_verdict = verdicts.order_verdict(application.services, b2b["id"])
    shop_verdict = verdicts.order_verdict(application.services, shop["id"])
    # Within the B2B customer's hour of grace by the clock; a day late by the shop's calendar.
    assert b2b_verdict.components["on_time"] is True and shop_verdict.components["on_time"] is False
    # A report by date judges both by the calendar.
    by_date = verdicts.order_verdict(
        application.services, b2b["id"], settings=Settings(basis=OnTimeBasis.DATE)
    )
    assert by_date.components["on_time"] is False


def test_a_channels_default_terms_come_from_the_settings(migrated_sqlite_url, clock):
    from perfectorder.sample_data import load_sample_store

    application = make_application(migrated_sqlite_url, clock, on_time_terms="web=time:90, phone=date")
    load_sample_store(application.services)
    try:
        with TestClient(create_app(application=application), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            order = http.post("/api/v1/orders", json=order_payload()).json()
        with application.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT on_time_basis, grace_minutes FROM orders WHERE id = :id"), {"id": order["id"]}
            ).one()
        assert tuple(stored) == ("time", 90)
    finally:
        application.close()
    settings = ConfigSettings.from_env({"PERFECTORDER_ON_TIME_TERMS": "web=hour"})
    with pytest.raises(ValueError, match="PERFECTORDER_ON_TIME_TERMS: 'web=hour'"):
        build(settings, clock=clock)


def test_the_report_shows_provisional_orders_and_when_they_become_final(cli, tmp_path):
    recently = datetime.now(UTC) - timedelta(days=5)
    rows = [
        f"P-1,1,{(recently - timedelta(days=2)):%Y-%m-%d %H:%M:%S},{recently:%Y-%m-%d},"
        f"{recently:%Y-%m-%d %H:%M:%S},BOX,delivered"
    ]
    load(cli, tmp_path, rows)
    shown = cli("report")
    assert shown.exit_code == 0, shown.output
    # The table once showed "0 final" and dashes with no word of the delivered order.
    assert re.search(r"│ +provisional +│", shown.output) or "provisional" in shown.output
    assert "1 delivered order(s) are provisional" in shown.output and "30 days after" in shown.output
