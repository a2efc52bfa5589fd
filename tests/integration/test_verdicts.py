"""Verdicts of orders built through the real services, on a simulated clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from perfectorder.services import verdicts
from tests.conftest import make_application
from tests.factories import order_payload
from tests.integration.test_communication import dispatcher, ship_one
from tests.receivers import smtp_server


@pytest.fixture
def mailer(application):
    with smtp_server() as (_, port):
        yield dispatcher(application, port)


def deliver(client, tracking, when):
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": f"{tracking}-{when}",
                    "tracking_number": tracking,
                    "type": "delivered",
                    "occurred_at": when,
                }
            ]
        },
    )


def test_verdicts_and_rates_of_orders_that_went_right_and_wrong(application, client, clock, mailer):
    perfect, late, damaged, pending, cancelled = (
        client.post("/api/v1/orders", json=order_payload()).json() for _ in range(5)
    )
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "customer called"})
    mailer.run_once()
    for order, tracking in ((perfect, "T-OK"), (late, "T-LATE"), (damaged, "T-DMG")):
        ship_one(client, order["id"], tracking)
    mailer.run_once()
    deliver(client, "T-OK", "2026-11-26T10:00:00Z")
    deliver(client, "T-LATE", "2026-11-30T10:00:00Z")
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": "dmg",
                    "tracking_number": "T-DMG",
                    "type": "damaged",
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "detail": "box crushed",
                }
            ]
        },
    )
    deliver(client, "T-DMG", "2026-11-26T09:00:00Z")
    mailer.run_once()

    early = client.get(f"/api/v1/orders/{perfect['id']}/verdict").json()
    assert (early["state"], early["perfect"]) == ("provisional", True)
    clock.advance(timedelta(days=40))

    verdict = {
        o["id"]: client.get(f"/api/v1/orders/{o['id']}/verdict").json()
        for o in (perfect, late, damaged, pending, cancelled)
    }
    assert (verdict[perfect["id"]]["state"], verdict[perfect["id"]]["perfect"]) == ("final", True)
    assert [(f["component"], f["stage"]) for f in verdict[late["id"]]["failures"]] == [
        ("on_time", "shipping"),
        ("communicated", "communication"),
    ]
    assert verdict[late["id"]]["failures"][0]["reason"] == "delivered 4 day(s) after the promise, carrier DHL"
    assert [(f["component"], f["code"]) for f in verdict[damaged["id"]]["failures"]] == [
        ("undamaged", "damaged_in_transit")
    ]
    assert verdict[pending["id"]]["state"] == "pending" and verdict[pending["id"]]["perfect"] is None
    assert verdict[cancelled["id"]]["state"] == "cancelled"

    # Reports read what the worker's refresh stored, never refresh themselves.
    verdicts.refresh(application.services)
    report = client.get(
        "/api/v1/metrics/perfect-order", params={"from": "2026-11-24", "to": "2026-11-24"}
    ).json()
    overall = report["groups"]["all"]
    assert (overall["orders"], overall["perfect_order_rate"], overall["pending"], overall["cancelled"]) == (
        3,
        pytest.approx(1 / 3),
        1,
        1,
    )
    assert overall["components"]["on_time"] == {"rate": pytest.approx(2 / 3), "evaluated": 3, "failed": 1}
    assert overall["perfect_order_index"] == pytest.approx((2 / 3) * (2 / 3) * (2 / 3))
    by_carrier = client.get(
        "/api/v1/metrics/perfect-order",
        params={"from": "2026-11-24", "to": "2026-11-24", "group_by": "carrier"},
    ).json()
    assert set(by_carrier["groups"]) == {"DHL", "unshipped"}
    lenient = client.get(f"/api/v1/orders/{late['id']}/verdict", params={"on_time_tolerance_days": 4}).json()
    assert lenient["components"]["on_time"] is True

    ranked = client.get(
        "/api/v1/metrics/improvements", params={"from": "2026-11-24", "to": "2026-11-24"}
    ).json()
    assert {(i["component"], i["code"]) for i in ranked} == {
        ("on_time", "late_delivery"),
        ("communicated", "message_missing"),
        ("undamaged", "damaged_in_transit"),
    }
    damage = next(i for i in ranked if i["component"] == "undamaged")
    assert damage["order_ids"] == [damaged["id"]] and damage["rate_without"] == pytest.approx(2 / 3)


def test_the_report_command_prints_the_same_figures_as_the_api(
    client, application, migrated_database_url, monkeypatch
):
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from perfectorder.api.app import create_app
    from perfectorder.bootstrap import build
    from perfectorder.cli.main import app
    from perfectorder.config import Settings
    from tests.conftest import api_key

    url = migrated_database_url
    for _ in range(3):
        client.post("/api/v1/orders", json=order_payload())
    client.post("/api/v1/orders/1/cancel", json={"reason": "test"})
    monkeypatch.setenv("COLUMNS", "250")
    # --database-url sets the variable for the command's process; monkeypatch restores it afterwards.
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", "sqlite:///unused.db")
    result = CliRunner().invoke(
        app,
        ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--json", "--database-url", url],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    live = build(Settings(database_url=url))  # the command runs on the real clock: so does this API
    with TestClient(create_app(application=live)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(live)}"
        api = http.get(
            "/api/v1/metrics/perfect-order", params={"from": "2026-11-01", "to": "2026-11-30"}
        ).json()
    live.close()
    assert printed == {k: v for k, v in api["groups"]["all"].items() if k != "cancellation_rate"}
    assert (printed["orders"], printed["pending"], printed["cancelled"]) == (0, 2, 1)
    assert printed["components"]["complete"] == {"rate": None, "evaluated": 0, "failed": 0}
    table = CliRunner().invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--group-by",
            "channel",
            "--database-url",
            url,
        ],
    )
    assert table.exit_code == 0 and "web" in table.output


def test_inventory_turnover_and_days_of_supply_come_from_the_stock_ledger(client, application):
    from perfectorder.services import inventory

    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "T-TURN")
    on_hand = sum(level.on_hand for level in inventory.stock_levels(application.services, limit=200))
    kpis = client.get("/api/v1/metrics/kpis", params={"from": "2026-11-24", "to": "2026-11-24"}).json()
    # The store was stocked this morning: nothing on hand at midnight, `on_hand` at the day's end.
    assert kpis["inventory_turnover_units"] == pytest.approx(2 / (on_hand / 2))
    assert kpis["days_of_supply"] == pytest.approx(on_hand / 2)
    assert kpis["inventory_turnover"] is not None and kpis["inventory_turnover"] > 0


@pytest.mark.postgres
def test_a_change_queued_while_a_refresher_holds_the_order_is_judged_again(migrated_postgres_url, clock):
    # A refresher judges what it read, then dequeues. A change committed meanwhile must leave the
    # order queued: on PostgreSQL the queueing once did nothing when the row existed, so the
    # refresher's dequeue dropped the change and the stored verdict stayed stale.
    import threading

    application = make_application(migrated_postgres_url, clock)
    try:
        with application.services.uow() as uow:
            uow.verdicts.enqueue([41], at=clock.now())
            uow.commit()
        refresher = application.services.uow()
        refresher.__enter__()
        assert refresher.verdicts.queued(10) == [41]  # claimed: the row is locked until it commits

        def change() -> None:
            with application.services.uow() as uow:
                uow.verdicts.enqueue([41], at=clock.now())
                uow.commit()

        changer = threading.Thread(target=change)
        changer.start()
        changer.join(0.5)
        assert changer.is_alive()  # waits for the refresher instead of relying on its row
        refresher.verdicts.dequeue([41])
        refresher.commit()
        refresher.__exit__(None, None, None)
        changer.join(10)
        with application.services.uow(read_only=True) as uow:
            assert uow.verdicts.queued(10) == [41]
    finally:
        application.close()
