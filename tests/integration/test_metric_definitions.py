"""Issue 17 through the real services, on SQLite and PostgreSQL: the Perfect Order figures of
orders whose parcels got lost, overfilled, exchanged, judged late, or whose mail was held back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster
from perfectorder.metrics.quantiles import RELATIVE_ERROR
from perfectorder.services import board, verdicts
from perfectorder.services.board_ports import BoardQuery
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.outbox_ports import DeliveryFailed
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_verdicts import deliver

WHOLE_MONTH = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def carrier_event(client, tracking, kind, when, detail=""):
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": f"{tracking}-{kind}-{when}",
                    "tracking_number": tracking,
                    "type": kind,
                    "occurred_at": when,
                    "detail": detail,
                }
            ]
        },
    )


@pytest.mark.parametrize(
    ("kind", "code"), [("lost", "lost_in_transit"), ("destroyed", "destroyed_in_transit")]
)
def test_a_lost_parcel_fails_complete_and_on_time_and_its_reshipment_is_linked(
    client, application, clock, kind, code
):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "JJD-LOST-0042")
    clock.advance(timedelta(hours=20))
    carrier_event(client, "JJD-LOST-0042", kind, clock.now().isoformat(), "gone in the network")

    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    assert verdict["state"] == "provisional"
    # No mail was dispatched here: communicated fails too, and is not what this test is about.
    assert {(f["component"], f["stage"], f["code"]) for f in verdict["failures"][:2]} == {
        ("complete", "shipping", code),
        ("on_time", "shipping", code),
    }

    [claim] = client.get(f"/api/v1/orders/{order['id']}/facts").json()["claims"]
    reshipping = client.post(f"/api/v1/orders/{order['id']}/claims/{claim['id']}/reship")
    assert reshipping.status_code == 201, reshipping.text
    replacement = reshipping.json()["replacement_order_id"]
    again = client.post(f"/api/v1/orders/{order['id']}/claims/{claim['id']}/reship")
    assert again.json()["error"]["code"] == "already_reshipped"
    [linked] = client.get(f"/api/v1/orders/{order['id']}/facts").json()["claims"]
    assert linked["replacement_order_id"] == replacement
    reshipped = client.get(f"/api/v1/orders/{replacement}").json()
    assert [(x["sku"], x["quantity"]) for x in reshipped["lines"]] == [("MUG-CERAMIC-BLUE", 2)]

    clock.advance(timedelta(days=35))
    verdicts.refresh(application.services)  # as the worker does
    report = verdicts.perfect_order_report(application.services, *WHOLE_MONTH)["all"]
    assert report.components["complete"].failed == 1
    verdicts.refresh(application.services)  # as the worker does
    _, behaviour = verdicts.kpi_report(application.services, *WHOLE_MONTH)
    assert (behaviour.customers, behaviour.orders_per_customer) == (1, 1.0)


def test_an_exchange_is_not_a_second_purchase(client, application, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "JJD-SWAP-0007")
    deliver(client, "JJD-SWAP-0007", (clock.now() + timedelta(days=1)).isoformat())
    opened = client.post(
        f"/api/v1/orders/{order['id']}/returns",
        json={"reason": "defective", "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1}]},
    ).json()
    received = client.post(
        f"/api/v1/returns/{opened['id']}/receive",
        json={"lines": [{"sku": "MUG-CERAMIC-BLUE", "scrap": 1}], "exchange": True},
    ).json()
    assert received["exchange_order_id"] is not None

    verdicts.refresh(application.services)  # as the worker does
    _, behaviour = verdicts.kpi_report(application.services, *WHOLE_MONTH)
    assert (behaviour.customers, behaviour.orders_per_customer, behaviour.repeat_purchase_rate) == (
        1,
        1.0,
        0.0,
    )


def test_a_parcel_with_one_unit_too_many_fills_no_more_than_the_order(client, application, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    [pick_list] = client.post(f"/api/v1/orders/{order['id']}/release").json()["pick_lists"]
    for task in client.get(f"/api/v1/pick-lists/{pick_list}").json()["tasks"]:
        client.post(
            f"/api/v1/pick-tasks/{task['id']}/scan", json={"code": task["sku"], "quantity": task["quantity"]}
        )
    packed = client.post(
        f"/api/v1/orders/{order['id']}/packages",
        json={
            "packages": [
                {
                    "items": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 3}],
                    "weight_kg": "1",
                    "length_cm": 20,
                    "width_cm": 20,
                    "height_cm": 20,
                }
            ]
        },
    )
    assert packed.status_code in (200, 201), packed.text
    [package] = packed.json()["packages"]
    client.post(
        f"/api/v1/orders/{order['id']}/packages/{package}/ship",
        json={"carrier": "DHL", "tracking_number": "JJD-EXTRA-0003"},
    )
    verdicts.refresh(application.services)  # as the worker does
    kpis, _ = verdicts.kpi_report(application.services, *WHOLE_MONTH)
    assert kpis.fill_rate_units == 1.0 and kpis.fill_rate_lines == 1.0


def test_order_lead_time_is_placed_to_delivered_and_time_to_ship_is_placed_to_shipped(
    application, client, clock
):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    clock.advance(timedelta(hours=6))
    ship_one(client, order["id"], "JJD-LEAD-0048")
    clock.advance(timedelta(hours=42))
    deliver(client, "JJD-LEAD-0048", clock.now().isoformat())
    verdicts.refresh(application.services)  # as the worker does
    body = client.get("/api/v1/metrics/kpis", params={"from": "2026-11-01", "to": "2026-11-30"}).json()
    # Quantiles of whole days come from the rollups' buckets: within the stated relative error.
    assert body["lead_time_hours"]["median"] == pytest.approx(48, rel=RELATIVE_ERROR)
    assert body["time_to_ship_hours"]["median"] == pytest.approx(6, rel=RELATIVE_ERROR)
    assert body["cycle_time_hours"]["median"] == pytest.approx(48, rel=RELATIVE_ERROR)


def placed_then_at(client, clock, zone: str, hours_from_promise_day_start: int) -> dict:
    """Places an order shipping to `zone`, then sets the clock that many hours (UTC) from the start
    of its promised day."""
    payload = order_payload()
    payload["shipping_address"]["timezone"] = zone
    order = client.post("/api/v1/orders", json=payload).json()
    day_starts = datetime.combine(date.fromisoformat(order["promised_date"]), datetime.min.time(), UTC)
    clock.set(day_starts + timedelta(hours=hours_from_promise_day_start))
    return order


@pytest.mark.parametrize(
    ("zone", "hours_after_promise_day_starts", "late"),
    [
        # Already the next day in Auckland while it is noon of the promised day in UTC.
        ("Pacific/Auckland", 12, True),
        # The next day in UTC, still the evening of the promised day in Los Angeles.
        ("America/Los_Angeles", 27, False),
    ],
)
def test_the_board_calls_an_order_late_exactly_when_delivering_it_now_would_be_late(
    client, application, clock, zone, hours_after_promise_day_starts, late
):
    order = placed_then_at(client, clock, zone, hours_after_promise_day_starts)
    late_count, _ = board.late_and_at_risk(application.services)
    assert late_count == int(late)
    # The board's row says so too (it compared the promise with today in UTC before).
    (row,) = board.orders_board(application.services, BoardQuery(order_ids=(order["id"],))).orders.items
    assert row.late is late
    ship_one(client, order["id"], "JJD-TZ-0001")
    deliver(client, "JJD-TZ-0001", clock.now().isoformat())
    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    assert verdict["components"]["on_time"] is (not late)


@pytest.mark.parametrize(
    ("zone", "hours_before_promise_day_starts", "at_risk"),
    [
        # 35 h before the promised day in UTC, but already the day before it in Auckland: due tomorrow.
        ("Pacific/Auckland", 35, True),
        # 21 h before it in UTC (due tomorrow there), still two days before it in Los Angeles.
        ("America/Los_Angeles", 21, False),
    ],
)
def test_the_board_calls_an_unshipped_order_at_risk_when_due_by_tomorrow_where_it_goes(
    client, application, clock, zone, hours_before_promise_day_starts, at_risk
):
    order = placed_then_at(client, clock, zone, -hours_before_promise_day_starts)
    assert board.late_and_at_risk(application.services) == (0, int(at_risk))
    listed = board.orders_board(application.services, BoardQuery(at_risk=True)).orders.items
    assert [r.id for r in listed] == ([order["id"]] if at_risk else [])


class OutageMailer:
    """A mail relay that is down until `back_at`, then delivers."""

    def __init__(self, clock, back_at):
        self.clock, self.back_at, self.sent = clock, back_at, []

    def send(self, email):
        if self.clock.now() < self.back_at:
            raise DeliveryFailed("421 service not available")
        self.sent.append(email)


def test_mail_held_back_by_an_outage_arrives_late_and_is_judged_late_not_missing(client, application, clock):
    mailer = OutageMailer(clock, back_at=clock.now() + timedelta(hours=6))
    dispatcher = Dispatcher(
        application.services,
        mailer,
        HttpWebhookPoster(application.services.webhook_guard, timeout_seconds=5),
        JinjaEmailRenderer(),
        policy=DispatchPolicy(),
        worker="test",
    )
    order = client.post("/api/v1/orders", json=order_payload()).json()
    for _ in range(60):  # seven and a half hours of a worker's loop
        dispatcher.run_once()
        clock.advance(timedelta(minutes=7, seconds=30))
    [confirmation] = [
        m for m in client.get(f"/api/v1/orders/{order['id']}/messages").json() if m["what"] == "confirmation"
    ]
    assert confirmation["status"] == "delivered" and confirmation["attempts"] > 8
    ship_one(client, order["id"], "JJD-MAIL-0421")
    for _ in range(3):
        dispatcher.run_once()
        clock.advance(timedelta(minutes=1))
    deliver(client, "JJD-MAIL-0421", (clock.now() + timedelta(hours=20)).isoformat())
    clock.advance(timedelta(days=1))
    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    assert [(f["component"], f["code"]) for f in verdict["failures"]] == [("communicated", "message_late")]
