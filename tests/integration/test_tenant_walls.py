"""A channel's key sees and uses only its own customers: no other channel's customer by id, no
stored address or credit line borrowed by naming someone's e-mail."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from tests.conftest import api_key
from tests.factories import order_payload
from tests.integration.test_communication import (  # noqa: F401 - smtp is a fixture
    dispatcher,
    drain,
    loopback_webhooks_application,
    smtp,
)

B2B_EMAIL = "purchasing@hotel-aurora.example"
# An ERP's webhook receiver that is down (the discard port): its deliveries fail.
ERP_HOOKS = "http://127.0.0.1:9/hooks/po"
ELSEWHERE = {
    "name": "Pickup Point 12",
    "line1": "Hafenstrasse 3",
    "city": "Hamburg",
    "postal_code": "20359",
    "country": "DE",
    "timezone": "Europe/Berlin",
}


@pytest.fixture
def application(migrated_database_url, clock):
    yield from loopback_webhooks_application(migrated_database_url, clock)


@pytest.fixture
def marketplace(application):
    with TestClient(create_app(application=application), raise_server_exceptions=False) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='marketplace')}"
        yield http


def _b2b(client) -> dict:
    return client.get("/api/v1/customers", params={"email": B2B_EMAIL}).json()[0]


def test_another_channels_customer_by_id_is_refused_exactly_like_one_that_does_not_exist(client, marketplace):
    b2b = _b2b(client)
    theirs = order_payload(channel="marketplace", customer={"id": b2b["id"]}, payment={"method": "invoice"})
    nobody = order_payload(channel="marketplace", customer={"id": 999_999}, payment={"method": "invoice"})
    refused, missing = (
        marketplace.post("/api/v1/orders", json=theirs),
        marketplace.post("/api/v1/orders", json=nobody),
    )
    assert (refused.status_code, missing.status_code) == (422, 422)
    assert refused.json()["error"]["code"] == missing.json()["error"]["code"] == "unknown_customer"
    assert refused.json()["error"]["message"].replace(str(b2b["id"]), "N") == missing.json()["error"][
        "message"
    ].replace("999999", "N")


def test_naming_a_customer_by_email_borrows_neither_their_address_nor_their_credit(client, marketplace):
    by_email = order_payload(
        channel="marketplace",
        customer={"email": B2B_EMAIL, "name": "Someone"},
        payment={"method": "invoice"},
    )
    by_email.pop("shipping_address")
    no_address = marketplace.post("/api/v1/orders", json=by_email)
    assert no_address.status_code == 422 and no_address.json()["error"]["code"] == "address_required"
    placed = marketplace.post("/api/v1/orders", json={**by_email, "shipping_address": ELSEWHERE})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["shipping_address"]["line1"] == "Hafenstrasse 3"  # only what the caller sent
    assert order["status"] == "on_hold" and [h["reason"] for h in order["holds"]] == ["credit"]
    assert "credit limit" not in order["holds"][0]["note"]  # nothing about the stored credit line


def test_a_customer_who_ordered_through_the_channel_can_be_named_by_id_afterwards(marketplace):
    first = marketplace.post(
        "/api/v1/orders",
        json=order_payload(
            channel="marketplace",
            customer={"email": "tomas.lindqvist@example.com", "name": "Tomas Lindqvist"},
            payment={"method": "cash_on_delivery"},
        ),
    ).json()
    again = marketplace.post(
        "/api/v1/orders",
        json=order_payload(
            channel="marketplace",
            customer={"id": first["customer_id"]},
            payment={"method": "cash_on_delivery"},
        ),
    )
    assert again.status_code == 201, again.text
    assert again.json()["customer_id"] == first["customer_id"]


def test_staff_keys_still_name_any_customer(client):
    b2b = _b2b(client)
    payload = order_payload(customer={"id": b2b["id"]}, payment={"method": "invoice"})
    payload.pop("shipping_address")
    placed = client.post("/api/v1/orders", json=payload)
    assert placed.status_code == 201 and placed.json()["status"] == "approved"


def test_a_channel_sees_a_products_price_but_not_what_it_costs_us(client, marketplace):
    staff = client.get("/api/v1/products/MUG-CERAMIC-BLUE").json()
    theirs = marketplace.get("/api/v1/products/MUG-CERAMIC-BLUE").json()
    assert staff["unit_cost"] is not None and theirs["unit_cost"] is None
    assert theirs["price"] == staff["price"]
    assert all(p["unit_cost"] is None for p in marketplace.get("/api/v1/products").json())


def test_a_channel_sees_what_happened_to_its_order_but_not_who_of_our_staff_did_it_nor_our_notes(
    client,
    marketplace,
    application,
    smtp,  # noqa: F811 - the SMTP fixture imported above
    clock,
):
    subscribed = client.post("/api/v1/webhook-subscriptions", json={"url": ERP_HOOKS, "event_types": ["*"]})
    assert subscribed.status_code == 201, subscribed.text
    order = marketplace.post(
        "/api/v1/orders", json=order_payload(channel="marketplace", payment={"method": "cash_on_delivery"})
    ).json()
    client.post(
        f"/api/v1/orders/{order['id']}/holds",
        json={"reason": "risk", "note": "same card as the chargeback in May"},
    )
    theirs = marketplace.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
    ours = client.get(f"/api/v1/orders/{order['id']}/timeline").json()["events"]
    [held] = [e for e in theirs if e["type"] == "order.held"]
    assert held["actor"] == "staff" and "note" not in held["data"] and held["data"]["reason"] == "risk"
    [our_held] = [e for e in ours if e["type"] == "order.held"]
    assert our_held["actor"].startswith("key:") and "chargeback" in our_held["data"]["note"]
    assert theirs[0]["actor"] == ours[0]["actor"]  # its own placing stays in its own name
    drain(
        dispatcher(application, smtp[1]), clock, rounds=2
    )  # e-mails sent, webhook copies made (and failing)
    their_messages = marketplace.get(f"/api/v1/orders/{order['id']}/messages").json()
    our_messages = client.get(f"/api/v1/orders/{order['id']}/messages").json()
    assert {m["channel"] for m in their_messages} == {"email"}
    assert ERP_HOOKS not in str(their_messages)
    assert {m["channel"] for m in our_messages} == {"email", "webhook"}


def test_the_stock_ledger_shows_a_channel_its_own_orders_and_nobody_elses(client, marketplace):
    web = client.post("/api/v1/orders", json=order_payload(payment={"method": "cash_on_delivery"})).json()
    own = marketplace.post(
        "/api/v1/orders", json=order_payload(channel="marketplace", payment={"method": "cash_on_delivery"})
    ).json()
    rows = marketplace.get("/api/v1/stock/ledger", params={"sku": "MUG-CERAMIC-BLUE"}).json()
    ours = client.get("/api/v1/stock/ledger", params={"sku": "MUG-CERAMIC-BLUE"}).json()
    assert web["id"] in {r["order_id"] for r in ours}
    seen = {r["order_id"] for r in rows}
    assert web["id"] not in seen and own["id"] in seen
    assert {r["actor"] for r in rows if r["order_id"] is None} <= {"staff"}


def test_dashboard_users_are_staff_and_a_tenant_role_cannot_log_in_with_a_session(application, anonymous):
    from perfectorder.domain.errors import InvalidInput
    from perfectorder.services import access

    for role in (Role.CHANNEL, Role.CUSTOMER):
        with pytest.raises(InvalidInput) as refused:
            access.create_user(
                application.services,
                application.passwords,
                username=f"t-{role.value}",
                password="x" * 16,
                role=role,
            )
        assert refused.value.code == "role_not_for_users"
    # One made before this rule (written straight to the store) cannot open a session either.
    password_hash = application.passwords.hash("correct horse battery")
    with application.services.uow() as uow:
        uow.access.add_user(
            "legacy-shop", password_hash, Role.CHANNEL.value, application.services.clock.now()
        )
        uow.commit()
    answer = anonymous.post("/login", data={"username": "legacy-shop", "password": "correct horse battery"})
    assert answer.status_code == 401 and "dashboard users are staff" in answer.text
    assert "set-cookie" not in answer.headers and anonymous.get("/api/v1/orders").status_code == 401
