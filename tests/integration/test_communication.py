"""The customer is kept informed: real SMTP, signed webhooks, retries, dead letters, delay notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster, new_secret, verify
from perfectorder.domain.notifications import EmailKind, SentMessage, communication_verdict
from perfectorder.sample_data import load_sample_store
from perfectorder.services import dispatch
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from tests.conftest import make_application
from tests.factories import order_payload
from tests.receivers import Receiver, smtp_server, webhook_receiver


def loopback_webhooks_application(database_url, clock):
    """The sample store, allowed to send webhooks to the loopback receivers of tests/receivers.py."""
    application = make_application(database_url, clock, webhook_allow=("127.0.0.1",))
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def application(migrated_database_url, clock):
    yield from loopback_webhooks_application(migrated_database_url, clock)


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


def dispatcher(application, port, **policy) -> Dispatcher:
    return Dispatcher(
        application.services,
        SmtpMailer(host="127.0.0.1", port=port, sender="shop@example.org"),
        HttpWebhookPoster(application.services.webhook_guard, timeout_seconds=5),
        JinjaEmailRenderer(),
        policy=DispatchPolicy(base_delay=timedelta(seconds=1), **policy),
        worker="test",
    )


def drain(d: Dispatcher, clock, rounds: int = 20) -> None:
    for _ in range(rounds):
        d.run_once()
        clock.advance(timedelta(minutes=2))


def test_a_placed_order_sends_its_confirmation_over_real_smtp_and_records_it(
    client, application, smtp, clock
):
    inbox, port = smtp
    order = client.post("/api/v1/orders", json=order_payload()).json()
    assert client.get(f"/api/v1/orders/{order['id']}/messages").json()[0]["status"] == "pending"
    drain(dispatcher(application, port), clock, rounds=2)
    [mail] = inbox.messages
    assert mail["Subject"] == f"Your order {order['external_ref']} is confirmed"
    assert mail["To"] == "margot.fenwick@example.com"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Thursday, 26 November 2026" in text and "Margot Fenwick" in text and "25,80\xa0€" in text
    [record] = client.get(f"/api/v1/orders/{order['id']}/messages").json()
    assert (record["channel"], record["what"], record["status"], record["attempts"]) == (
        "email",
        "confirmation",
        "delivered",
        1,
    )
    assert mail["Message-ID"] == f"<{record['message_id']}@perfectorder>"
    assert record["to"] == "margot.fenwick@example.com" and record["delivered_at"]


def test_every_email_template_renders():
    renderer = JinjaEmailRenderer()
    from datetime import date

    from perfectorder.services.views import AddressView, OrderView, PaymentView

    order = OrderView(
        1,
        "web",
        "WEB-1",
        1,
        "shipped",
        "EUR",
        __import__("decimal").Decimal("9.90"),
        AddressView("A", "B", "", "C", "", "1", "DE", "", "UTC"),
        "standard",
        "reject",
        None,
        date(2026, 11, 24),
        date(2026, 11, 26),
        None,
        None,
        PaymentView(None, None, None, None),
        "",
        __import__("datetime").datetime(2026, 11, 24),
        None,
        None,
        (),
        (),
    )
    context = {
        "customer_name": "Ana",
        "customer_email": "ana@example.org",
        "order": order,
        "shipments": [],
        "status_url": "http://127.0.0.1:8000/status/1.2.abc",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "tracking_url": "https://carrier.example/track?n=123",
        "expected_date": date(2026, 11, 26),
        "event": {
            "carrier": "DHL",
            "tracking_number": "123",
            "reason": "payment",
            "note": "declined",
            "new_date": "2026-11-28",
            "return_id": 4,
            "refund": "9.90",
            "name": "Ana",
            "line1": "Lindenallee 3",
            "line2": "",
            "city": "Hamburg",
            "postal_code": "20259",
            "country": "DE",
            "expected": "2026-11-27",
        },
    }
    for kind in EmailKind:
        subject, text, html = renderer.render(kind.value, context)
        assert subject and "WEB-1" in subject + text and "<p>" in html and "Ana" in text
        # Every e-mail leads to the order's page, in both parts (the delivered one once led to a 404).
        assert (
            "http://127.0.0.1:8000/status/1.2.abc" in text
            and 'href="http://127.0.0.1:8000/status/1.2.abc"' in html
        )
        assert ".0000" not in text + html
    # Amounts with the currency's decimals as the region writes them, dates in words, carrier links.
    _, text, html = renderer.render("confirmation", context)
    assert "9,90\xa0€" in text and "Thursday, 26 November 2026" in text and "9,90\xa0€" in html
    _, text, _ = renderer.render("refund_issued", context)
    assert "9,90\xa0€" in text
    _, text, html = renderer.render("shipped", context)
    assert (
        "https://carrier.example/track?n=123" in text and 'href="https://carrier.example/track?n=123"' in html
    )
    ireland = {
        **context,
        "country": "IE",
        "order": replace(order, currency="JPY", total=Decimal("2580.0000")),
    }
    _, text, _ = renderer.render("confirmation", ireland)
    assert "¥2,580" in text and "2,580." not in text  # yen have no minor unit


def test_webhooks_are_signed_and_a_flaky_receiver_gets_each_message_exactly_once(
    client, application, clock, smtp
):
    _, port = smtp
    receiver = Receiver(fail_first=3)
    with webhook_receiver(receiver) as url:
        created = client.post(
            "/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["order.placed"]}
        )
        assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
        receiver.secret = created.json()["secret"]
        order = client.post("/api/v1/orders", json=order_payload()).json()
        drain(dispatcher(application, port), clock)
    assert receiver.bad_signatures == 0
    assert [e["type"] for e in receiver.events] == ["order.placed"]
    assert receiver.events[0]["data"]["order_id"] == order["id"]
    [hook] = [
        m for m in client.get(f"/api/v1/orders/{order['id']}/messages").json() if m["channel"] == "webhook"
    ]
    assert hook["status"] == "delivered" and hook["attempts"] == 4
    assert receiver.requests == 4 and list(receiver.seen.values()) == [1]


def test_a_receiver_that_never_recovers_ends_in_dead_letter_and_can_be_retried(
    client, application, clock, smtp
):
    _, port = smtp
    receiver = Receiver(always_fail=True)
    with webhook_receiver(receiver) as url:
        receiver.secret = client.post(
            "/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]}
        ).json()["secret"]
        order = client.post("/api/v1/orders", json=order_payload()).json()
        drain(dispatcher(application, port, max_attempts=3), clock, rounds=40)
    hooks = [
        m for m in client.get(f"/api/v1/orders/{order['id']}/messages").json() if m["channel"] == "webhook"
    ]
    assert hooks and {(m["status"], m["attempts"]) for m in hooks} == {("dead", 3)}
    dead = dispatch.outbox_listing(application.services, status="dead", limit=100)
    assert dispatch.retry_dead(application.services, dead[0].id)
    assert not dispatch.retry_dead(application.services, dead[0].id)


def test_a_subscription_is_disabled_after_repeated_failures(client, application, clock, smtp):
    _, port = smtp
    receiver = Receiver(always_fail=True)
    with webhook_receiver(receiver) as url:
        receiver.secret = client.post(
            "/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]}
        ).json()["secret"]
        client.post("/api/v1/orders", json=order_payload())
        drain(dispatcher(application, port, max_attempts=10, disable_webhook_after=4), clock, rounds=40)
    [subscription] = client.get("/api/v1/webhook-subscriptions").json()
    assert subscription["active"] is False and subscription["consecutive_failures"] >= 4
    notices = [e for e in client.get("/api/v1/audit").json() if e["outcome"] == "webhook_disabled"]
    assert [n["path"] for n in notices] == [f"/api/v1/webhook-subscriptions/{subscription['id']}"]


def test_the_verify_helper_accepts_our_signature_and_refuses_tampering():
    from perfectorder.adapters.webhooks import sign

    secret = new_secret()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign(secret, "msg_1", 1700000000, b'{"a":1}'),
    }
    assert verify(secret, headers, b'{"a":1}', now=1700000010)
    assert not verify(secret, headers, b'{"a":2}', now=1700000010)
    assert not verify(secret, headers, b'{"a":1}', now=1700009999)  # replayed much later
    assert headers["webhook-signature"].split(",", 1)[1] == __import__(
        "tests.receivers", fromlist=["x"]
    ).independent_signature(secret, "msg_1", "1700000000", b'{"a":1}')


def messages_of(client, order_id):
    return [
        SentMessage(
            EmailKind(m["what"]),
            __import__("datetime").datetime.fromisoformat(m["queued_at"]),
            __import__("datetime").datetime.fromisoformat(m["delivered_at"]) if m["delivered_at"] else None,
        )
        for m in client.get(f"/api/v1/orders/{order_id}/messages").json()
        if m["channel"] == "email"
    ]


def ship_one(client, order_id, tracking):
    [pick_list] = client.post(f"/api/v1/orders/{order_id}/release").json()["pick_lists"]
    for task in client.get(f"/api/v1/pick-lists/{pick_list}").json()["tasks"]:
        client.post(
            f"/api/v1/pick-tasks/{task['id']}/scan", json={"code": task["sku"], "quantity": task["quantity"]}
        )
    [package] = client.post(
        f"/api/v1/orders/{order_id}/packages",
        json={
            "packages": [
                {
                    "items": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 2}],
                    "weight_kg": "1",
                    "length_cm": 20,
                    "width_cm": 20,
                    "height_cm": 20,
                }
            ]
        },
    ).json()["packages"]
    client.post(
        f"/api/v1/orders/{order_id}/packages/{package}/ship",
        json={"carrier": "DHL", "tracking_number": tracking},
    )


def test_a_late_order_with_a_timely_delay_notice_is_communicated_and_one_without_is_not(
    client, application, clock, smtp
):
    inbox, port = smtp
    d = dispatcher(application, port)
    told, untold = (client.post("/api/v1/orders", json=order_payload()).json() for _ in range(2))
    d.run_once()
    ship_one(client, told["id"], "JJD-TOLD")
    ship_one(client, untold["id"], "JJD-UNTOLD")
    d.run_once()
    # The carrier reports a delay for one parcel before the promise (26 Nov); the other goes quiet.
    client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": "d-1",
                    "tracking_number": "JJD-TOLD",
                    "type": "delayed",
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "detail": "hub closed",
                }
            ]
        },
    )
    d.run_once()
    assert any("will be late" in s for s in inbox.subjects())
    late = [
        {
            "carrier": "DHL",
            "event_id": f"late-{t}",
            "tracking_number": t,
            "type": "delivered",
            "occurred_at": "2026-11-28T10:00:00Z",
        }
        for t in ("JJD-TOLD", "JJD-UNTOLD")
    ]
    client.post("/api/v1/carrier-events", json={"events": late})
    clock.advance(timedelta(days=4))
    d.run_once()
    for order, expected in ((told, True), (untold, False)):
        facts = client.get(f"/api/v1/orders/{order['id']}/facts").json()
        verdict = communication_verdict(
            placed_at=__import__("datetime").datetime.fromisoformat(facts["placed_at"]),
            shipped_at=__import__("datetime").datetime.fromisoformat(facts["shipments"][0]["shipped_at"]),
            promised_date=__import__("datetime").date.fromisoformat(facts["promised_date"]),
            delivered_on=__import__("datetime").date(2026, 11, 28),
            messages=messages_of(client, order["id"]),
        )
        assert verdict.communicated is expected, verdict.reasons
    timeline = [e["type"] for e in client.get(f"/api/v1/orders/{told['id']}/timeline").json()["events"]]
    assert "order.delayed" in timeline
    assert client.get(f"/api/v1/orders/{told['id']}").json()["rescheduled_date"] == "2026-11-27"
