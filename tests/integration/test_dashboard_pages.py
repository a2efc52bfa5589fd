"""The dashboard's server-rendered pages, in-process on SQLite and PostgreSQL: login, figures equal
to the API's, the board's searches and filters, the operator's actions through the real services.
tests/e2e drives the same pages in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from perfectorder.adapters.passwords import Argon2PasswordHasher
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.sample_data import load_sample_store
from perfectorder.services import access, jobs, verdicts
from perfectorder.services.ports import JobProgress
from tests.conftest import make_application
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_verdicts import deliver

PASSWORD = "correct horse battery"


def _login(application, username: str, role: Role) -> TestClient:
    access.create_user(
        application.services, application.passwords, username=username, password=PASSWORD, role=role
    )
    http = TestClient(create_app(application=application), base_url="https://testserver")
    assert http.post("/login", data={"username": username, "password": PASSWORD}).status_code == 200
    return http


@pytest.fixture
def application(migrated_database_url, clock):
    """The sample store, its passwords hashed by argon2 at its cheapest: these tests are about the
    pages behind the login, and a user's hash and login at full strength cost 0.3 s a test (the
    login's own tests, test_sessions, hash at full strength)."""
    application = make_application(
        migrated_database_url,
        clock,
        passwords=Argon2PasswordHasher(time_cost=1, memory_kib=64, parallelism=1),
    )
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def browser(application):
    access.create_user(
        application.services, application.passwords, username="olga", password=PASSWORD, role=Role.ANALYST
    )
    with TestClient(create_app(application=application), base_url="https://testserver") as http:
        yield http


@pytest.fixture
def operator(application):
    with _login(application, "otto", Role.OPERATOR) as http:
        yield http


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_pages_need_a_login_and_a_wrong_password_is_refused_in_words(browser):
    first = browser.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    wrong = browser.post("/login", data={"username": "olga", "password": "not it at all"})
    assert wrong.status_code == 401 and "password" in wrong.text.lower()
    for path in (
        "/orders/1",
        "/orders",
        "/inventory",
        "/customers",
        "/customers/1",
        "/returns",
        "/improvement",
    ):
        assert browser.get(path, follow_redirects=False).status_code == 303, path
    # After logging in, the user lands where they were going, never on another site.
    deep = browser.get("/orders?view=late", follow_redirects=False).headers["location"]
    landed = browser.post(
        "/login",
        data={"username": "olga", "password": PASSWORD, "next": "/orders?view=late"},
        follow_redirects=False,
    )
    assert "next=%2Forders%3Fview%3Dlate" in deep and landed.headers["location"] == "/orders?view=late"
    away = browser.post("/login", data={"username": "olga", "password": PASSWORD, "next": "//evil.example/x"})
    assert away.url.path == "/"


def test_the_overview_shows_the_apis_figures_and_links_failures_to_their_orders(browser, client, clock):
    ok, late = (client.post("/api/v1/orders", json=order_payload()).json() for _ in range(2))
    ship_one(client, ok["id"], "T-1")
    ship_one(client, late["id"], "T-2")
    deliver(client, "T-1", "2026-11-26T10:00:00Z")
    deliver(client, "T-2", "2026-12-03T10:00:00Z")
    clock.advance(timedelta(days=45))
    verdicts.refresh(browser.app.state.application.services)  # the worker's job: pages only read
    logged_in = browser.post("/login", data={"username": "olga", "password": PASSWORD, "next": "/"})
    assert logged_in.status_code == 200 and "Perfect order rate" in logged_in.text
    period = {"from": "2026-11-20", "to": "2026-11-30"}
    page = browser.get("/", params=period)
    overall = client.get("/api/v1/metrics/perfect-order", params=period).json()["groups"]["all"]
    shown = re.search(r'id="perfect-order-rate">([^<]+)<', page.text).group(1)
    assert shown == f"{overall['perfect_order_rate'] * 100:.1f}%"
    on_time = re.search(r'id="rate-on_time">([^<]+)<', page.text).group(1)
    assert on_time == f"{overall['components']['on_time']['rate'] * 100:.1f}%"
    assert re.search(r'id="final-orders">(\d+)<', page.text).group(1) == str(overall["orders"])
    assert "<svg" in page.text and "perfect order rate (%)" in page.text
    # "Fix this first" links to the orders behind the failure: the late one, not the other.
    link = re.search(r'href="(/orders\?failure=on_time:[^"]+)"', page.text).group(1).replace("&amp;", "&")
    behind = browser.get(link)
    assert f'href="/orders/{late["id"]}"' in behind.text and f'href="/orders/{ok["id"]}"' not in behind.text
    improvement = browser.get("/improvement", params=period)
    assert improvement.status_code == 200 and "late" in improvement.text
    order = browser.get(f"/orders/{late['id']}")
    assert order.status_code == 200
    assert "order.delivered" in order.text and "T-2" in order.text and "on time: no" in order.text
    assert "<strong>25.80 EUR</strong>" in order.text  # the total as money, not as stored
    # A slice filter: the channel "web" alone shows the API's figures for groups["web"].
    sliced = browser.get("/", params={**period, "group_by": "carrier"})
    assert "By carrier" in sliced.text and "DHL" in sliced.text
    web = browser.get("/", params={**period, "group_by": "channel", "key": "web"})
    api_web = client.get("/api/v1/metrics/perfect-order", params={**period, "group_by": "channel"}).json()
    rate = api_web["groups"]["web"]["perfect_order_rate"]
    assert re.search(r'id="perfect-order-rate">([^<]+)<', web.text).group(1) == f"{rate * 100:.1f}%"
    assert browser.get("/orders/999999").status_code == 404


def test_the_board_finds_orders_by_reference_tracking_and_customer_and_counts_stages(operator, client):
    placed = [client.post("/api/v1/orders", json=order_payload()).json() for _ in range(3)]
    ship_one(client, placed[0]["id"], "TRACK-77")
    board = operator.get("/orders")
    assert board.status_code == 200
    stages = re.search(r'<table id="stages">(.*?)</table>', board.text, re.S).group(1)
    assert ">shipped<" in stages and ">approved<" in stages
    by_tracking = operator.get("/orders", params={"q": "TRACK-77"}).text
    assert (
        f'href="/orders/{placed[0]["id"]}"' in by_tracking
        and f'href="/orders/{placed[1]["id"]}"' not in by_tracking
    )
    by_ref = operator.get("/orders", params={"q": placed[2]["external_ref"]}).text
    assert f'href="/orders/{placed[2]["id"]}"' in by_ref and f'href="/orders/{placed[0]["id"]}"' not in by_ref
    by_customer = operator.get("/orders", params={"q": "margot"}).text
    assert all(f'href="/orders/{p["id"]}"' in by_customer for p in placed)
    nobody = operator.get("/orders", params={"q": "%_nobody"}).text
    assert "No orders match." in nobody
    ascending = operator.get("/orders", params={"sort": "id", "desc": "false"}).text
    ids = [int(x) for x in re.findall(r'<td><a href="/orders/(\d+)">', ascending)]
    assert ids == sorted(ids) and len(ids) == 3
    assert operator.get("/orders", params={"page": 0}).status_code == 422


def test_an_operator_releases_a_hold_and_a_refused_action_says_why(operator, client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    held = client.post(
        f"/api/v1/orders/{order['id']}/holds", json={"reason": "risk", "note": "odd address"}
    ).json()
    hold_id = held["holds"][0]["id"]
    assert f'href="/orders/{order["id"]}"' in operator.get("/orders", params={"view": "holds"}).text
    page = operator.get(f"/orders/{order['id']}")
    assert "Release hold" in page.text
    forged = operator.post(f"/orders/{order['id']}/holds/{hold_id}/release", data={"csrf": "forged"})
    assert forged.status_code == 409 and "expired" in forged.text
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "on_hold"
    released = operator.post(
        f"/orders/{order['id']}/holds/{hold_id}/release",
        data={"csrf": _csrf(page.text), "note": "called the customer"},
    )
    assert released.status_code == 200 and "Hold released." in released.text
    assert re.search(r'id="status">approved<', released.text)
    assert "order.hold_released" in released.text and "called the customer" in released.text
    audited = client.get("/api/v1/audit", params={"limit": 5}).json()
    mine = [e for e in audited if e["path"] == f"/orders/{order['id']}/holds/{hold_id}/release"]
    # The release, and the forged form before it (a refusal's row is written in a later batch, so
    # it may come out after the change's own row).
    assert sorted(e["status_code"] for e in mine) == [303, 409]
    assert all(e["actor"].startswith("user:") and e["actor"].endswith(":otto") for e in mine)
    timeline = client.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert [e["type"] for e in timeline["events"]][-2:] == ["order.hold_released", "order.approved"]
    # Releasing it again is refused with the service's own words, and nothing changes.
    again = operator.post(f"/orders/{order['id']}/holds/{hold_id}/release", data={"csrf": _csrf(page.text)})
    assert again.status_code == 404 and "hold_not_found" in again.text
    no_reason = operator.post(f"/orders/{order['id']}/cancel", data={"csrf": _csrf(page.text), "reason": " "})
    assert no_reason.status_code == 422 and "reason_required" in no_reason.text
    cancelled = operator.post(
        f"/orders/{order['id']}/cancel", data={"csrf": _csrf(page.text), "reason": "asked to"}
    )
    assert "Order cancelled" in cancelled.text and client.get(f"/api/v1/orders/{order['id']}").json()[
        "status"
    ] == ("cancelled")


def test_reschedule_and_returns_from_the_order_page(operator, client, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    csrf = _csrf(operator.get(f"/orders/{order['id']}").text)
    past = operator.post(
        f"/orders/{order['id']}/reschedule",
        data={"csrf": csrf, "new_date": "2020-01-01", "reason": "late stock"},
    )
    assert past.status_code == 422 and "date_in_past" in past.text
    day = (clock.now() + timedelta(days=9)).date().isoformat()
    moved = operator.post(
        f"/orders/{order['id']}/reschedule", data={"csrf": csrf, "new_date": day, "reason": "supplier"}
    )
    assert moved.status_code == 200 and f"expected {day}" in moved.text
    ship_one(client, order["id"], "T-RET")
    deliver(client, "T-RET", (clock.now() + timedelta(days=2)).isoformat())
    page = operator.get(f"/orders/{order['id']}").text
    assert "Open return" in page and 'name="qty-MUG-CERAMIC-BLUE"' in page
    opened = operator.post(
        f"/orders/{order['id']}/returns",
        data={"csrf": csrf, "reason": "damaged_in_transit", "qty-MUG-CERAMIC-BLUE": "1", "note": "cracked"},
    )
    assert (
        opened.status_code == 200 and "Return opened." in opened.text and "damaged in transit" in opened.text
    )
    verdicts.refresh(operator.app.state.application.services)  # the worker's job: pages only read
    returns = operator.get("/returns")
    assert returns.status_code == 200 and re.search(r'id="returns-count">1<', returns.text)
    assert "Returns opened per week, by reason" in returns.text
    # The return rate is the KPI engine's, for orders placed in the same period.
    start = re.search(r'name="from" value="([^"]+)"', returns.text).group(1)
    end = re.search(r'name="to" value="([^"]+)"', returns.text).group(1)
    kpis = client.get("/api/v1/metrics/kpis", params={"from": start, "to": end}).json()
    rate = re.search(r'id="return-rate">([^<]+)<', returns.text).group(1)
    assert rate == f"{kpis['return_rate'] * 100:.1f}%" == "100.0%"


def test_an_analyst_reads_but_cannot_act(browser, client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    held = client.post(f"/api/v1/orders/{order['id']}/holds", json={"reason": "risk", "note": "check"}).json()
    browser.post("/login", data={"username": "olga", "password": PASSWORD})
    page = browser.get(f"/orders/{order['id']}")
    assert page.status_code == 200 and "Release hold" not in page.text
    refused = browser.post(
        f"/orders/{order['id']}/holds/{held['holds'][0]['id']}/release", data={"csrf": "whatever"}
    )
    assert refused.status_code == 403 and "orders:manage" in refused.text
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "on_hold"


def test_inventory_and_customer_pages(operator, client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    inventory = operator.get("/inventory", params={"q": "mug"})
    assert (
        inventory.status_code == 200
        and "MUG-CERAMIC-BLUE" in inventory.text
        and "Days of supply" in inventory.text
    )
    by_available = operator.get("/inventory", params={"sort": "available", "desc": "true"}).text
    shown = [
        int(x)
        for x in re.findall(
            r'<td class="num">(-?\d+)(?: <span class="warn">low</span>)?</td><td class="num">', by_available
        )
    ]
    assert shown == sorted(shown, reverse=True) and shown
    customers = operator.get("/customers", params={"q": "margot.fenwick@example.com"})
    assert customers.status_code == 200 and "Margot Fenwick" in customers.text
    page = operator.get(f"/customers/{order['customer_id']}")
    assert page.status_code == 200 and re.search(r'id="customer-orders">1<', page.text)
    assert f'href="/orders/{order["id"]}"' in page.text and "Purchase frequency" in page.text
    assert operator.get("/customers/999999").status_code == 404


HOSTILE = [
    "/?from=9999-12-31&to=9999-12-31",
    "/?from=0001-01-01&to=0001-01-02",
    "/?from=2026-12-01&to=2020-01-01&group_by=nonsense&key=%00",
    "/?group_by=channel&key=" + "x" * 100,
    "/improvement?from=9999-12-30&to=9999-12-31",
    "/orders?failure=a:b:c&from=0001-01-01&to=9999-12-31",
    "/orders?failure=::",
    "/orders?failure=" + ":" * 100,
    "/orders?q=%25%25%5C_%27%22<script>&sort=;drop&desc=true",
    "/orders?q=12345678901234567890",
    "/orders?status=<b>&view=%00",
    "/orders?customer=-1&page=200",
    "/orders/0",
    "/orders/-5",
    "/inventory?warehouse=%00&q=%25&sort=nonsense&from=9999-12-31",
    "/customers?q=%5C&sort=x",
    "/customers/0",
    "/returns?from=9999-12-31&to=9999-12-31",
    "/returns?from=0001-01-01&to=0001-01-01&page=3",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_odd_and_hostile_page_parameters_never_break_a_page(operator, path):
    answer = operator.get(path)
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    assert "<script>" not in answer.text  # what the user typed comes back escaped


def test_an_operator_records_an_invoice_payment_and_the_credit_held_order_is_released(operator, client):
    b2b = client.get("/api/v1/customers", params={"email": "purchasing@hotel-aurora.example"}).json()[0]
    base = order_payload(customer={"id": b2b["id"]}, payment={"method": "invoice"})
    base.pop("shipping_address")
    chairs = client.post(
        "/api/v1/orders", json={**base, "lines": [{"sku": "CHAIR-BENTWOOD", "quantity": 50}]}
    ).json()
    client.post(
        "/api/v1/orders",
        json={**base, "external_ref": "DASH-B2", "lines": [{"sku": "RUG-WOOL-160", "quantity": 40}]},
    )
    held = client.post(
        "/api/v1/orders",
        json={**base, "external_ref": "DASH-B3", "lines": [{"sku": "TABLE-OAK-CUSTOM", "quantity": 5}]},
    ).json()
    page = operator.get(f"/orders/{chairs['id']}")
    assert "outstanding <strong>8,950.00 EUR</strong>" in page.text and "Record payment" in page.text
    unreadable = operator.post(
        f"/orders/{chairs['id']}/settle",
        data={"csrf": _csrf(page.text), "amount": "lots", "reference": "R-1"},
    )
    assert unreadable.status_code == 422 and "invalid_amount" in unreadable.text
    settled = operator.post(
        f"/orders/{chairs['id']}/settle", data={"csrf": _csrf(page.text), "reference": "SEPA-7731"}
    )
    assert settled.status_code == 200 and "Payment recorded." in settled.text
    assert "SEPA-7731" in settled.text and "8,950.00 EUR" in settled.text
    assert client.get(f"/api/v1/orders/{held['id']}").json()["status"] == "approved"
    customer_page = operator.get(f"/customers/{b2b['id']}").text
    assert 'id="customer-payment-list"' in customer_page and "SEPA-7731" in customer_page


def test_a_delivered_order_that_was_once_at_risk_is_not_listed_as_at_risk(application, operator, client):
    # The board counted it out of "at risk" while the list still tagged it "delivered at risk".
    order = client.post("/api/v1/orders", json=order_payload()).json()
    with application.services.uow() as uow:
        uow.orders.mark_at_risk(order["id"], at=application.services.clock.now(), reason="carrier delay")
        uow.commit()
    listed = operator.get("/orders", params={"q": order["external_ref"]}).text
    assert re.search(r'class="warn"[^>]*>at risk<', listed)
    ship_one(client, order["id"], "T-RISK-1")
    deliver(client, "T-RISK-1", "2026-11-26T10:00:00Z")
    listed = operator.get("/orders", params={"q": order["external_ref"]}).text
    assert "delivered" in listed and not re.search(r'class="warn"[^>]*>at risk<', listed)
    assert "(was at risk)" in listed


def test_the_overview_follows_a_job_filling_the_store_and_shows_its_latest_orders(browser, client, clock):
    # The demo serves while its simulation fills the store: the overview says how far it is, reloads
    # itself until it is done, and shows the latest orders there are (the default period once ended
    # 31 days before today, which is empty for a store whose orders stop earlier).
    services = browser.app.state.application.services
    order = client.post("/api/v1/orders", json=order_payload()).json()
    ship_one(client, order["id"], "T-9")
    deliver(client, "T-9", "2026-11-26T10:00:00Z")
    clock.advance(timedelta(days=120))
    verdicts.refresh(services)
    browser.post("/login", data={"username": "olga", "password": PASSWORD})
    page = browser.get("/").text
    placed = order["placed_at"][:10]
    assert re.search(rf"orders placed \S+ to {placed} \(UTC\)", page), page[:3000]
    assert re.search(r'id="final-orders">(\d+)<', page).group(1) == "1"
    assert 'class="notice"' not in page and "http-equiv" not in page

    now = clock.now()

    def job(**changes):
        values = {"updated_at": now, "finished_at": None, **changes}
        jobs.report(
            services, JobProgress("Simulation 'demo'", 12, 90, "days", "2,400 orders placed", now, **values)
        )
        return browser.get("/").text

    running = job()
    assert "Simulation &#39;demo&#39;</strong> is filling the store: day 12 of 90" in running
    assert "2,400 orders placed" in running and '<meta http-equiv="refresh" content="20">' in running
    stalled = job(updated_at=now - timedelta(minutes=10))
    assert "stopped at day 12 of 90" in stalled and "http-equiv" not in stalled
    done = job(finished_at=now)
    assert 'class="notice"' not in done and "http-equiv" not in done
