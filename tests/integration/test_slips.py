"""Every slip told: each later estimate from the carrier moves the expected date and the customer
hears the new date by real e-mail (aiosmtpd), at most once a day per order; a slip told to nobody
fails the verdict's communicated component."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from perfectorder.services import delays, verdicts
from tests.factories import order_payload
from tests.integration.test_communication import (
    dispatcher,
    drain,
    loopback_webhooks_application,
    ship_one,
)
from tests.receivers import smtp_server


@pytest.fixture
def application(migrated_database_url, clock):
    yield from loopback_webhooks_application(migrated_database_url, clock)


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


def _eta(client, clock, tracking: str, n: int, day: str) -> None:
    answer = client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": f"{tracking}-eta-{n}",
                    "tracking_number": tracking,
                    "type": "in_transit",
                    "occurred_at": clock.now().isoformat(),
                    "estimated_delivery": day,
                }
            ]
        },
    )
    assert answer.status_code == 200 and answer.json()["results"][0]["outcome"] == "applied"


def _delay_mails(inbox) -> list[str]:
    return [
        m.get_body(preferencelist=("plain",)).get_content()
        for m in inbox.messages
        if str(m["Subject"]).endswith("will be late")
    ]


def test_three_later_estimates_are_three_notices_never_two_in_a_day(client, application, smtp, clock):
    inbox, port = smtp
    order = client.post("/api/v1/orders", json=order_payload()).json()
    assert order["promised_date"] == "2026-11-26"
    ship_one(client, order["id"], "SLIP-1")
    mail = dispatcher(application, port)
    drain(mail, clock, rounds=2)
    # An estimate within the promise is no slip at all.
    _eta(client, clock, "SLIP-1", 0, "2026-11-26")
    # Day 1: the carrier says the 28th, and an hour later the 29th: told once, the 28th.
    _eta(client, clock, "SLIP-1", 1, "2026-11-28")
    clock.advance(timedelta(hours=1))
    _eta(client, clock, "SLIP-1", 2, "2026-11-29")
    drain(mail, clock, rounds=2)
    assert len(_delay_mails(inbox)) == 1 and "Saturday, 28 November 2026" in _delay_mails(inbox)[0]
    # The next day the worker's scan tells the date as it then stands, the 29th.
    clock.advance(timedelta(days=1))
    assert delays.tell_untold_slips(application.services) == 1
    drain(mail, clock, rounds=2)
    # Day 3: the 1st of December.
    clock.advance(timedelta(days=1))
    _eta(client, clock, "SLIP-1", 3, "2026-12-01")
    drain(mail, clock, rounds=2)
    told = _delay_mails(inbox)
    assert len(told) == 3
    assert ["28 November" in told[0], "29 November" in told[1], "1 December" in told[2]] == [True] * 3
    timeline = client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
    notices = [e for e in timeline if e["type"] == "order.delayed"]
    days = [e["occurred_at"][:10] for e in notices]
    assert len(days) == len(set(days)) == 3  # never two in a day
    assert client.get(f"/api/v1/orders/{order['id']}").json()["rescheduled_date"] == "2026-12-01"

    # Delivered on the 1st, as last told: every slip was told in time, communicated holds.
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": "SLIP-1-delivered",
                    "tracking_number": "SLIP-1",
                    "type": "delivered",
                    "occurred_at": "2026-12-01T11:00:00Z",
                }
            ]
        },
    )
    clock.advance(timedelta(days=40))
    verdicts.refresh(application.services)
    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    assert "communicated" not in {f["component"] for f in verdict["failures"]}, verdict


def test_a_slip_nobody_was_told_fails_communicated(client, application, smtp, clock):
    inbox, port = smtp
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "SLIP-2")
    mail = dispatcher(application, port)
    _eta(client, clock, "SLIP-2", 1, "2026-11-28")
    drain(mail, clock, rounds=2)
    # Delivered on the 30th: past the 28th, the date last told, with no word in between.
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": "SLIP-2-delivered",
                    "tracking_number": "SLIP-2",
                    "type": "delivered",
                    "occurred_at": "2026-11-30T11:00:00Z",
                }
            ]
        },
    )
    clock.advance(timedelta(days=40))
    verdicts.refresh(application.services)
    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    failures = [f for f in verdict["failures"] if f["component"] == "communicated"]
    assert failures and "slipped past 2026-11-28" in failures[0]["reason"], verdict


def test_a_parcel_not_delivered_on_its_day_is_told_the_next_working_day_that_evening(
    client, application, clock
):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "SLIP-3")
    # Thursday the 26th, expected today: in the afternoon it may still come; by the evening it will not.
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    assert delays.scan_overdue_deliveries(application.services) == 0
    clock.set(datetime(2026, 11, 26, 20, 30, tzinfo=UTC))
    assert delays.scan_overdue_deliveries(application.services) == 1
    assert delays.scan_overdue_deliveries(application.services) == 0  # once
    assert client.get(f"/api/v1/orders/{order['id']}").json()["rescheduled_date"] == "2026-11-27"
    # Friday evening, still out: Monday the 30th, the next working day.
    clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))
    assert delays.scan_overdue_deliveries(application.services) == 1
    timeline = client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
    told = [e["data"]["new_date"] for e in timeline if e["type"] == "order.delayed"]
    assert told == ["2026-11-27", "2026-11-30"]
