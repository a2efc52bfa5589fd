"""The customer's order-status page, reached through the signed link in a real e-mail (aiosmtpd):
it shows the status, the promise, each parcel and what the carrier said, and every message sent;
a tampered, expired, other-order or revoked link is the same 404 that reveals nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.services import facts, status_page
from tests.conftest import command_line
from tests.factories import order_payload
from tests.integration.test_communication import (
    dispatcher,
    drain,
    loopback_webhooks_application,
    ship_one,
)
from tests.integration.test_verdicts import deliver
from tests.receivers import smtp_server


@pytest.fixture
def application(migrated_database_url, clock):
    yield from loopback_webhooks_application(migrated_database_url, clock)


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


LINK = re.compile(r"http://127\.0\.0\.1:8000(/status/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)")


def _link(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    found = LINK.search(text)
    assert found and found.group(0) in html, text
    return found.group(1)


def _headline(page: str) -> str:
    return re.search(r'<h1 id="headline">([^<]+)</h1>', page).group(1)


def test_the_link_in_the_email_opens_the_orders_page_and_nothing_else(client, application, smtp, clock):
    inbox, port = smtp
    order = client.post("/api/v1/orders", json=order_payload()).json()
    other = client.post("/api/v1/orders", json=order_payload(external_ref="WEB-OTHER")).json()
    drain(dispatcher(application, port), clock, rounds=2)
    mails = {m["Subject"]: m for m in inbox.messages}
    path = _link(mails[f"Your order {order['external_ref']} is confirmed"])
    other_path = _link(mails[f"Your order {other['external_ref']} is confirmed"])
    customer = TestClient(create_app(application=application), base_url="https://shop.example")

    page = customer.get(path)
    assert page.status_code == 200 and _headline(page.text) == "We are preparing your order"
    assert order["promised_date"] in page.text and order["external_ref"] in page.text
    assert "Ceramic mug, cobalt blue" in page.text and "25.80 EUR" in page.text
    assert "confirmation" in page.text  # the message we sent, listed
    assert page.headers["referrer-policy"] == "no-referrer" and "noindex" in page.headers["x-robots-tag"]
    assert "<script" not in page.text and "/api/" not in page.text

    # Shipped and delivered: each parcel with the carrier's events, the status in plain words.
    ship_one(client, order["id"], "STATUS-1")
    deliver(client, "STATUS-1", "2026-11-26T10:00:00Z")
    page = customer.get(path).text
    assert _headline(page) == "Your order was delivered" and "STATUS-1" in page and "delivered" in page

    # Anything but the genuine link: one 404 that names neither the order nor the reason.
    order_id, expires, mac = path.removeprefix("/status/").split(".")
    other_id, other_expires, other_mac = other_path.removeprefix("/status/").split(".")
    refused = [
        f"/status/{other_id}.{expires}.{mac}",  # another order with this order's signature
        f"/status/{order_id}.{other_expires}.{other_mac}",  # this order with another's signature
        f"/status/{order_id}.{int(expires) + 86400}.{mac}",  # a longer life
        f"/status/{order_id}.{expires}.{mac[:-2]}AA",  # a tampered signature
        "/status/1",
        "/status/" + "9" * 200,
    ]
    for bad in refused:
        answer = customer.get(bad)
        assert answer.status_code == 404, bad
        assert order["external_ref"] not in answer.text and "This link does not open an order" in answer.text
    assert customer.get(other_path).status_code == 200

    # Links expire with their lifetime (120 days by default) ...
    clock.advance(timedelta(days=121))
    assert customer.get(path).status_code == 404
    # ... and rotating the secret revokes every link at once; new e-mails carry working ones.
    clock.advance(timedelta(days=-121))
    status_page.rotate_secret(application.services)
    assert customer.get(other_path).status_code == 404
    fresh = status_page.link_path(application.services, other["id"])
    assert customer.get(fresh).status_code == 200


def test_customer_care_prints_a_link_and_can_revoke_them_all(
    client, application, monkeypatch, migrated_database_url
):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    run = command_line(monkeypatch, migrated_database_url)
    shown = run("status-links", "show", str(order["id"]))
    path = LINK.search(shown.output.replace("\n", "")).group(1)
    customer = TestClient(create_app(application=application), base_url="https://shop.example")
    assert customer.get(path).status_code == 200
    assert run("status-links", "rotate").exit_code == 0
    assert customer.get(path).status_code == 404
    missing = run("status-links", "show", "999999")
    assert missing.exit_code == 2 and "order_not_found" in missing.output


def _reserved(client) -> int:
    [level] = client.get("/api/v1/stock", params={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER"}).json()
    return int(level["reserved"])


def _actors(client, order_id: int, event: str) -> list[str]:
    timeline = client.get(f"/api/v1/orders/{order_id}/timeline").json()["events"]
    return [e["actor"] for e in timeline if e["type"] == event]


def test_the_customer_cancels_before_picking_and_not_after(client, application):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    later = client.post("/api/v1/orders", json=order_payload(external_ref="WEB-LATER")).json()
    customer = TestClient(create_app(application=application), base_url="https://shop.example")
    path = status_page.link_path(application.services, order["id"])
    before = _reserved(client)
    page = customer.get(path).text
    assert 'id="cancel-order"' in page
    done = customer.post(f"{path}/cancel", data={"reason": "ordered twice"}, follow_redirects=True)
    assert done.status_code == 200 and _headline(done.text) == "Your order was cancelled"
    assert 'id="notice"' in done.text and 'id="cancel-order"' not in done.text
    assert _reserved(client) == before - 2  # the stock row gives the units back
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "cancelled"
    assert _actors(client, order["id"], "order.cancelled") == [
        f"customer:{order['customer_id']} (status page)"
    ]

    # Once picking has started it is customer care's call: refused, said in words, nothing changed.
    client.post(f"/api/v1/orders/{later['id']}/release")
    later_path = status_page.link_path(application.services, later["id"])
    assert 'id="cancel-order"' not in customer.get(later_path).text
    refused = customer.post(f"{later_path}/cancel", data={"reason": "too slow"})
    assert refused.status_code == 409 and "can no longer be cancelled here" in refused.text
    assert client.get(f"/api/v1/orders/{later['id']}").json()["status"] == "picking"
    # A forged link changes nothing either.
    assert customer.post(f"/status/{later['id']}.9999999999.forged/cancel").status_code == 404


def test_after_delivery_the_customer_rates_and_sends_back_within_the_window(client, application, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "STATUS-R")
    deliver(client, "STATUS-R", "2026-11-26T10:00:00Z")
    customer = TestClient(create_app(application=application), base_url="https://shop.example")
    path = status_page.link_path(application.services, order["id"])
    rated = customer.post(
        f"{path}/rate",
        data={"rating": "2", "complete": "yes", "undamaged": "no", "comment": "the box was crushed"},
        follow_redirects=True,
    )
    assert rated.status_code == 200 and 'id="your-rating">You rated it 2 of 5' in rated.text
    verdict = client.get(f"/api/v1/orders/{order['id']}/verdict").json()
    assert "undamaged" in {f["component"] for f in verdict["failures"]}  # the rating feeds the verdict
    customer_actor = f"customer:{order['customer_id']} (status page)"
    assert _actors(client, order["id"], "order.feedback") == [customer_actor]

    sent = customer.post(
        f"{path}/return",
        data={"sku": "MUG-CERAMIC-BLUE", "qty:MUG-CERAMIC-BLUE": "1", "reason": "damaged_in_transit"},
        follow_redirects=True,
    )
    assert sent.status_code == 200 and "Your return is registered" in sent.text
    assert "damaged in transit" in sent.text and "waiting for the parcel" in sent.text
    [opened] = facts.order_facts(application.services, order["id"]).returns
    assert (opened.reason, opened.criterion, opened.stage) == (
        "damaged_in_transit",
        "undamaged",
        "shipping",
    )
    assert _actors(client, order["id"], "order.return_authorized") == [customer_actor]

    # The other unit, after the window (30 days after delivery by default) has closed: refused.
    clock.set(datetime(2026, 12, 26, 10, 1, tzinfo=UTC))
    late = customer.post(
        f"{path}/return",
        data={"sku": "MUG-CERAMIC-BLUE", "qty:MUG-CERAMIC-BLUE": "1", "reason": "changed_mind"},
    )
    assert late.status_code == 409 and "the return window has closed" in late.text
    assert 'id="send-return"' not in late.text
    assert len(facts.order_facts(application.services, order["id"]).returns) == 1


def test_the_customer_changes_the_address_before_picking_and_is_told(client, application, smtp, clock):
    inbox, port = smtp
    order = client.post("/api/v1/orders", json=order_payload()).json()
    customer = TestClient(create_app(application=application), base_url="https://shop.example")
    path = status_page.link_path(application.services, order["id"])
    new = {
        "name": "Margot Fenwick",
        "line1": "Lindenallee 3",
        "postal_code": "20259",
        "city": "Hamburg",
        "country": "de",
        "timezone": "Europe/Berlin",
    }
    # Verified as at ordering: a missing postal code is named, nothing changes.
    missing = customer.post(f"{path}/address", data={**new, "postal_code": ""})
    assert missing.status_code == 422 and "postal code" in missing.text
    done = customer.post(f"{path}/address", data=new, follow_redirects=True)
    assert done.status_code == 200 and "Lindenallee 3, 20259 Hamburg, DE" in done.text
    shown = client.get(f"/api/v1/orders/{order['id']}").json()
    assert shown["shipping_address"]["city"] == "Hamburg" and shown["promised_date"] == order["promised_date"]
    assert _actors(client, order["id"], "order.address_changed") == [
        f"customer:{order['customer_id']} (status page)"
    ]
    drain(dispatcher(application, port), clock, rounds=2)
    [mail] = [m for m in inbox.messages if str(m["Subject"]).startswith("New delivery address")]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Lindenallee 3, 20259 Hamburg, DE" in text and "Thursday, 26 November 2026" in text
    # Once picking has started, it is too late here.
    client.post(f"/api/v1/orders/{order['id']}/release")
    late = customer.post(f"{path}/address", data={**new, "city": "Bremen"})
    assert late.status_code == 409 and "can no longer be changed here" in late.text
    assert client.get(f"/api/v1/orders/{order['id']}").json()["shipping_address"]["city"] == "Hamburg"
