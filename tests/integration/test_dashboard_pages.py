"""The dashboard's server-rendered pages: login, the overview's figures against the API's, an order page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.services import access
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_verdicts import deliver

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(application):
    access.create_user(
        application.services, application.passwords, username="olga", password=PASSWORD, role=Role.ANALYST
    )
    with TestClient(create_app(application=application), base_url="https://testserver") as http:
        yield http


def test_pages_need_a_login_and_a_wrong_password_is_refused_in_words(browser):
    first = browser.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    wrong = browser.post("/login", data={"username": "olga", "password": "not it at all"})
    assert wrong.status_code == 401 and "password" in wrong.text.lower()
    assert browser.get("/orders/1", follow_redirects=False).status_code == 303


def test_the_overview_shows_the_apis_figures_and_links_failures_to_their_orders(browser, client, clock):
    ok, late = (client.post("/api/v1/orders", json=order_payload()).json() for _ in range(2))
    ship_one(client, ok["id"], "T-1")
    ship_one(client, late["id"], "T-2")
    deliver(client, "T-1", "2026-11-26T10:00:00Z")
    deliver(client, "T-2", "2026-12-03T10:00:00Z")
    clock.advance(timedelta(days=45))
    logged_in = browser.post("/login", data={"username": "olga", "password": PASSWORD, "next": "/"})
    assert logged_in.status_code == 200 and "Perfect order rate" in logged_in.text
    page = browser.get("/", params={"from": "2026-11-20", "to": "2026-11-30"})
    api = client.get(
        "/api/v1/metrics/perfect-order", params={"from": "2026-11-20", "to": "2026-11-30"}
    ).json()
    overall = api["groups"]["all"]
    shown = re.search(r'id="perfect-order-rate">([^<]+)<', page.text).group(1)
    assert shown == f"{overall['perfect_order_rate'] * 100:.1f}%"
    on_time = re.search(r'id="rate-on_time">([^<]+)<', page.text).group(1)
    assert on_time == f"{overall['components']['on_time']['rate'] * 100:.1f}%"
    assert re.search(r'id="final-orders">(\d+)<', page.text).group(1) == str(overall["orders"])
    assert "<svg" in page.text and "perfect order rate (%)" in page.text
    assert f'href="/orders/{late["id"]}"' in page.text  # the late delivery, in "fix this first"
    order = browser.get(f"/orders/{late['id']}")
    assert order.status_code == 200
    assert "order.delivered" in order.text and "delivered" in order.text and "on time: no" in order.text
    sliced = browser.get("/", params={"from": "2026-11-20", "to": "2026-11-30", "group_by": "carrier"})
    assert "By carrier" in sliced.text and "DHL" in sliced.text
    assert browser.get("/orders/999999").status_code == 404
