"""Webhooks cannot be aimed inside: refused at subscription, checked again at every send (a name
re-pointed to loopback is refused, the checked address is the one connected to), never redirected;
subscriptions can be deleted and their secrets rotated with a grace period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster, resolve_host, verify
from perfectorder.api.app import create_app
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.sample_data import load_sample_store
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.webhook_targets import Resolver
from tests.conftest import START, api_key
from tests.factories import order_payload
from tests.receivers import Receiver, webhook_receiver

HOSTILE_URLS = [
    "http://127.0.0.1:8080/hooks",
    "http://127.1/hooks",
    "http://0x7f000001/hooks",
    "http://2130706433/hooks",
    "http://0177.0.0.1/hooks",
    "http://0/hooks",
    "http://[::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://[::]/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hooks",
    "http://10.1.2.3/hooks",
    "http://172.16.0.9/hooks",
    "http://192.168.0.1/hooks",
    "http://[fd00::1]/hooks",
    "http://100.64.0.1/hooks",
    "http://224.0.0.1/hooks",
    "http://localhost:8000/hooks",
    "http://localhost./hooks",
    "http://api.localhost/hooks",
    "http://hooks.does-not-exist.invalid/hooks",
    "http://user:pw@93.184.216.34/hooks",
    "http://93.184.216.34/ho oks",
    "http://93.184.216.34\\@127.0.0.1/hooks",
    "ftp://93.184.216.34/hooks",
    "file:///etc/passwd",
    "http://%31%32%37.0.0.1/hooks",
    "http://１２７.０.０.１/hooks",
]


class SwitchableResolver:
    """DNS for names the tests make up: each name answers what the test last set."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}

    def __call__(self, host: str, port: int) -> list[str]:
        if host not in self.answers:
            raise OSError(f"{host}: Name or service not known")
        return self.answers[host]


@pytest.fixture
def resolver() -> SwitchableResolver:
    return SwitchableResolver()


def app(url: str, clock: SimulatedClock, resolver: Resolver, **settings: Any) -> Iterator[Application]:
    application = build(Settings(database_url=url, **settings), clock=clock, resolver=resolver)
    upgrade(application.engine)
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def local(migrated_database_url, clock, resolver) -> Iterator[Application]:
    """Loopback allowed, as for a receiver on the operator's own machine."""
    yield from app(migrated_database_url, clock, resolver, webhook_allow=("127.0.0.0/8",))


@pytest.fixture
def strict(migrated_database_url, clock, resolver) -> Iterator[Application]:
    """The default: nothing but public addresses."""
    yield from app(migrated_database_url, clock, resolver)


@pytest.fixture(scope="module")
def strict_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    # One store for the many refused URLs: a refusal writes nothing.
    url = f"sqlite:///{tmp_path_factory.mktemp('strict')}/perfectorder.db"
    yield from app(url, SimulatedClock(START), resolve_host)


def http(application: Application) -> TestClient:
    client = TestClient(create_app(application=application), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {api_key(application)}"
    return client


def dispatcher(application: Application) -> Dispatcher:
    return Dispatcher(
        application.services,
        SmtpMailer(host="127.0.0.1", port=9, sender="shop@example.org"),  # e-mails are not the point
        HttpWebhookPoster(application.services.webhook_guard, timeout_seconds=5),
        JinjaEmailRenderer(),
        policy=DispatchPolicy(base_delay=timedelta(seconds=1)),
        worker="test",
    )


def drain(application: Application, clock, rounds: int = 6) -> None:
    d = dispatcher(application)
    for _ in range(rounds):
        d.run_once()
        clock.advance(timedelta(minutes=2))


def webhooks_of(client, order_id: int) -> list[dict]:
    return [m for m in client.get(f"/api/v1/orders/{order_id}/messages").json() if m["channel"] == "webhook"]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_url_aimed_inside_or_ambiguous_is_refused_with_a_code(strict_sqlite, url):
    # The system's own resolver: localhost and .invalid are answered locally, without the network.
    client = http(strict_sqlite)
    response = client.post("/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("webhook_url_not_allowed", "url")
    assert error["details"]["reason"] and "PERFECTORDER_WEBHOOK_ALLOW" in error["message"]
    assert client.get("/api/v1/webhook-subscriptions").json() == []


def test_a_url_carrying_a_line_break_is_refused_before_it_is_read(strict_sqlite):
    # Caught by the check every text field passes, before the URL rules: a header injection never
    # reaches the parser.
    client = http(strict_sqlite)
    url = "http://93.184.216.34/hooks\r\nX-Injected: 1"
    response = client.post("/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]})
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "invalid_characters",
        "url",
    )
    assert client.get("/api/v1/webhook-subscriptions").json() == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(strict, resolver):
    resolver.answers["hooks.mixed.test"] = ["93.184.216.34", "10.0.0.7"]
    response = http(strict).post(
        "/api/v1/webhook-subscriptions", json={"url": "https://hooks.mixed.test/po", "event_types": ["*"]}
    )
    assert response.status_code == 422
    assert "10.0.0.7 is a private address" in response.json()["error"]["details"]["reason"]


def test_an_allow_listed_local_receiver_gets_its_deliveries(local, clock):
    client = http(local)
    receiver = Receiver()
    with webhook_receiver(receiver) as url:
        created = client.post("/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        order = client.post("/api/v1/orders", json=order_payload()).json()
        drain(local, clock)
    assert "order.placed" in [e["type"] for e in receiver.events] and receiver.bad_signatures == 0
    assert {m["status"] for m in webhooks_of(client, order["id"])} == {"delivered"}


def test_a_name_that_turns_to_loopback_after_subscribing_is_refused_at_send(strict, clock, resolver):
    client = http(strict)
    receiver = Receiver()
    with webhook_receiver(receiver) as url:
        port = url.split(":")[2].split("/")[0]
        resolver.answers["hooks.rebind.test"] = ["93.184.216.34"]
        created = client.post(
            "/api/v1/webhook-subscriptions",
            json={"url": f"http://hooks.rebind.test:{port}/hooks", "event_types": ["order.placed"]},
        )
        assert created.status_code == 201, created.text
        resolver.answers["hooks.rebind.test"] = ["127.0.0.1"]  # the attacker re-points the name
        order = client.post("/api/v1/orders", json=order_payload()).json()
        drain(strict, clock)
    assert receiver.requests == 0
    [hook] = webhooks_of(client, order["id"])
    assert (hook["status"], hook["attempts"]) == ("dead", 1)  # refused, not retried
    assert "127.0.0.1 is a loopback address" in hook["last_error"]


def test_the_sender_connects_to_the_checked_address_and_names_the_host(local, clock, resolver):
    # The name exists only in the injected resolver: a delivery proves the sender connected to
    # the address it checked rather than asking the system again.
    client = http(local)
    receiver = Receiver()
    with webhook_receiver(receiver) as url:
        port = url.split(":")[2].split("/")[0]
        resolver.answers["hooks.pinned.test"] = ["127.0.0.1"]
        created = client.post(
            "/api/v1/webhook-subscriptions",
            json={"url": f"http://hooks.pinned.test:{port}/hooks", "event_types": ["order.placed"]},
        )
        receiver.secret = created.json()["secret"]
        client.post("/api/v1/orders", json=order_payload())
        drain(local, clock)
    assert [e["type"] for e in receiver.events] == ["order.placed"]
    assert {headers["host"] for headers, _ in receiver.raw} == {f"hooks.pinned.test:{port}"}


def test_a_redirect_is_not_followed(local, clock):
    client = http(local)
    inside, bouncer = Receiver(), Receiver()
    with webhook_receiver(inside) as inside_url, webhook_receiver(bouncer) as url:
        bouncer.redirect_to = inside_url
        bouncer.secret = client.post(
            "/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["order.placed"]}
        ).json()["secret"]
        order = client.post("/api/v1/orders", json=order_payload()).json()
        drain(local, clock, rounds=2)
    assert bouncer.requests >= 1 and inside.requests == 0
    [hook] = webhooks_of(client, order["id"])
    assert hook["status"] == "pending" and hook["last_error"] == "receiver answered 307"


def test_a_deleted_subscription_receives_nothing_more(local, clock):
    client = http(local)
    receiver = Receiver()
    with webhook_receiver(receiver) as url:
        created = client.post("/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]}).json()
        receiver.secret = created["secret"]
        order = client.post("/api/v1/orders", json=order_payload()).json()
        dispatcher(local).run_once()  # the events fan out into webhook messages, not yet sent
        assert webhooks_of(client, order["id"])
        assert client.delete(f"/api/v1/webhook-subscriptions/{created['id']}").status_code == 204
        client.post("/api/v1/orders", json=order_payload())
        drain(local, clock)
    assert receiver.requests == 0
    assert {(m["status"], m["last_error"]) for m in webhooks_of(client, order["id"])} == {
        ("dead", "the subscription was deleted")
    }
    assert client.get("/api/v1/webhook-subscriptions").json() == []
    again = client.delete(f"/api/v1/webhook-subscriptions/{created['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "webhook_subscription_not_found"


def test_after_a_rotation_deliveries_verify_with_both_secrets_until_the_grace_ends(local, clock):
    client = http(local)
    receiver = Receiver()
    with webhook_receiver(receiver) as url:
        created = client.post(
            "/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["order.placed"]}
        ).json()
        rotated = client.post(f"/api/v1/webhook-subscriptions/{created['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        old, new = created["secret"], rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old
        assert rotated.json()["previous_secret_valid_until"].startswith("2026-11-25")  # START + 24 h
        receiver.secret = new
        client.post("/api/v1/orders", json=order_payload())
        drain(local, clock)
        [(during, body)] = receiver.raw
        clock.advance(timedelta(hours=24))
        client.post("/api/v1/orders", json=order_payload())
        drain(local, clock)
        [_, (after, after_body)] = receiver.raw
    assert verify(new, during, body) and verify(old, during, body)
    assert len(during["webhook-signature"].split()) == 2
    assert verify(new, after, after_body) and not verify(old, after, after_body)
    assert receiver.bad_signatures == 0


def test_rotating_or_deleting_an_unknown_subscription_is_404(local):
    client = http(local)
    for response in (
        client.post("/api/v1/webhook-subscriptions/424242/rotate-secret"),
        client.delete("/api/v1/webhook-subscriptions/424242"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "webhook_subscription_not_found"
