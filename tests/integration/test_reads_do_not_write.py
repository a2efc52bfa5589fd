"""Reads do not write: every GET of the API (from the OpenAPI document) and every dashboard page
(from the app's routes) runs without a single INSERT, UPDATE or DELETE, even with orders waiting in
the verdict queue; the reports read what the worker's refresh stored and say as of when. The
overview gathers its figures in one read transaction."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.sample_data import load_sample_store
from perfectorder.services import access, status_page, verdicts
from perfectorder.services.context import run_transaction
from tests.conftest import api_key, make_application
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_dispatch_resilience import WorkerProcess, wait_for
from tests.integration.test_purchasing import make_supplier
from tests.integration.test_verdicts import deliver

PASSWORD = "correct horse battery"
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT")
QUERY_SAMPLES = {
    "from": "2026-10-01",
    "to": "2026-12-31",
    "component": "on_time",
    "code": "late_delivery",
    "stage": "shipping",
    "sku": "MUG-CERAMIC-BLUE",
    "q": "mug",
}
# A few dashboard views that read differently from the page's default.
PAGE_VARIANTS = (
    "/?group_by=channel",
    "/?group_by=channel&key=web",
    "/orders?view=late",
    "/orders?failure=on_time:late_delivery:shipping&from=2026-10-01&to=2026-12-31",
)


@contextmanager
def statements(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def transactions(engine: Any) -> Iterator[list[object]]:
    begun: list[object] = []

    def record(conn: Any) -> None:
        # The audit writer's thread writes earlier calls' rows whenever its batch is due: its
        # transactions are not the page's (counted as one, 1 run in 5 on a loaded machine).
        if threading.current_thread().name != "perfectorder-audit":
            begun.append(conn)

    event.listen(engine, "begin", record)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", record)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().upper().startswith(WRITES)]


@pytest.fixture
def store(application, client, clock):
    """Orders in every state the reads look at: delivered and judged, returned, shipped, open."""
    done, shipped, _ = (client.post("/api/v1/orders", json=order_payload()).json() for _ in range(3))
    ship_one(client, done["id"], "T-READ-1")
    ship_one(client, shipped["id"], "T-READ-2")
    deliver(client, "T-READ-1", "2026-11-26T10:00:00Z")
    client.post(
        "/api/v1/returns",
        json={
            "order_id": done["id"],
            "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1, "reason": "damaged_in_transit"}],
        },
    )
    # A supplier and a purchase order with a receipt: the purchasing pages read them.
    make_supplier(client)
    po = client.post(
        "/api/v1/purchase-orders",
        json={
            "supplier": "TIDEWATER",
            "warehouse": "BER",
            "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 12}],
        },
    ).json()
    client.post(f"/api/v1/purchase-orders/{po['id']}/send")
    client.post(
        f"/api/v1/purchase-orders/{po['id']}/receipts", json={"sku": "MUG-CERAMIC-BLUE", "accepted": 6}
    )
    clock.advance(timedelta(days=40))
    verdicts.refresh(application.services)
    return {"order_id": done["id"], "po_id": po["id"]}


@pytest.fixture
def page_reader(application, store):
    # After the store: its clock jumps 40 days, past any session's life.
    access.create_user(
        application.services, application.passwords, username="rhea", password=PASSWORD, role=Role.ADMIN
    )
    with TestClient(create_app(application=application), base_url="https://testserver") as http:
        assert http.post("/login", data={"username": "rhea", "password": PASSWORD}).status_code == 200
        yield http


def _dirty(application, order_id: int) -> None:
    # An order waiting for its verdict: a GET that refreshed would write its verdict and rollups.
    now = application.services.clock.now()
    run_transaction(application.services, lambda uow: uow.verdicts.enqueue([order_id], at=now))
    # What earlier calls (the login, the store's POSTs) left for the audit writer's thread is written
    # now: written during the next GET, it was counted as that GET's (1 run in 10 on a loaded machine).
    application.audit.flush()


def _api_gets(spec: dict[str, Any], order_id: int) -> list[str]:
    values = {
        "order_id": str(order_id),
        "customer_id": "1",
        "sku": "MUG-CERAMIC-BLUE",
        "code": "TIDEWATER",
        "po_id": "1",
    }
    paths = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None or not path.startswith("/api/v1"):
            continue
        required = [
            p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
        ]
        query = "&".join(f"{name}={QUERY_SAMPLES[name]}" for name in required)
        concrete = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)
        paths.append(concrete + (f"?{query}" if query else ""))
    return paths


def _routes(app: Any) -> Iterator[Any]:
    for route in app.routes:
        # FastAPI keeps an included router's routes behind it, resolved with their prefixes.
        contexts = getattr(route, "effective_route_contexts", None)
        yield from contexts() if contexts is not None else (route,)


def _pages(app: Any, order_id: int) -> list[str]:
    # The customer's status page, through the order's genuine signed link.
    token = status_page.link_path(app.state.application.services, order_id).removeprefix("/status/")
    values = {
        "order_id": str(order_id),
        "customer_id": "1",
        "token": token,
        "po_id": "1",
    }  # the store's first PO
    found = [
        re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)
        for route in _routes(app)
        if "GET" in (getattr(route, "methods", None) or ())
        and not getattr(route, "include_in_schema", True)
        and not route.path.startswith(("/api/", "/docs", "/redoc", "/openapi"))
    ]
    return [*found, *PAGE_VARIANTS]


def test_no_get_of_the_api_writes_even_with_orders_waiting_for_their_verdict(application, client, store):
    spec = client.get("/openapi.json").json()
    paths = _api_gets(spec, store["order_id"])
    assert any("/metrics/" in p for p in paths) and len(paths) > 15
    answered = 0
    for path in paths:
        _dirty(application, store["order_id"])
        with statements(application.engine) as seen:
            response = client.get(path)
        assert response.status_code < 500, f"{path}: {response.status_code} {response.text[:200]}"
        answered += response.status_code == 200
        assert writes(seen) == [], f"GET {path} wrote: {writes(seen)}"
    assert answered >= len(paths) * 3 // 4


def test_no_dashboard_page_writes_even_with_orders_waiting_for_their_verdict(application, page_reader, store):
    pages = _pages(page_reader.app, store["order_id"])
    assert {"/", "/improvement", "/returns", "/orders/{order_id}".format(**store)} <= set(pages)
    for path in pages:
        _dirty(application, store["order_id"])
        with statements(application.engine) as seen:
            response = page_reader.get(path, follow_redirects=False)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert writes(seen) == [], f"GET {path} wrote: {writes(seen)}"


def test_reports_say_as_of_when_the_worker_last_refreshed(application, client, page_reader, store, clock):
    refreshed = clock.now()
    clock.advance(timedelta(minutes=2))
    period = "from=2026-10-01&to=2026-12-31"
    rates = client.get(f"/api/v1/metrics/perfect-order?{period}")
    improvements = client.get(f"/api/v1/metrics/improvements?{period}")
    assert rates.json()["as_of"].replace("Z", "+00:00") == refreshed.isoformat()
    assert improvements.headers["Figures-As-Of"] == refreshed.isoformat()
    assert client.get(f"/api/v1/metrics/kpis?{period}").json()["as_of"] == rates.json()["as_of"]
    page = page_reader.get(f"/?{period}").text
    assert f'Figures as of <time datetime="{refreshed.isoformat()}">{refreshed:%H:%M} UTC</time>' in page


def test_a_change_shows_in_the_reports_after_the_next_refresh_not_before(application, client, store, clock):
    period = "from=2026-10-01&to=2027-01-31"
    before = client.get(f"/api/v1/metrics/perfect-order?{period}").json()
    clock.advance(timedelta(minutes=5))
    assert client.post("/api/v1/orders", json=order_payload()).status_code == 201
    assert client.get(f"/api/v1/metrics/perfect-order?{period}").json() == before
    verdicts.refresh(application.services)
    after = client.get(f"/api/v1/metrics/perfect-order?{period}").json()
    assert after["groups"]["all"]["pending"] == before["groups"]["all"]["pending"] + 1
    assert after["as_of"] > before["as_of"]


def test_the_overview_reads_its_figures_in_one_transaction(application, page_reader, store):
    page_reader.get("/")  # warms the reference caches and the session lookup's statements
    with transactions(application.engine) as begun:
        response = page_reader.get("/?group_by=channel", follow_redirects=False)
    assert response.status_code == 200
    # One for the session cookie's lookup, one for every figure on the page.
    assert len(begun) == 2


def test_the_worker_refreshes_on_its_own_so_a_change_shows_in_the_reports(sqlite_url, clock):
    application = make_application(sqlite_url, clock)
    load_sample_store(application.services)
    worker = WorkerProcess(sqlite_url, smtp_port=9, name="refresher", extra=("--refresh-every", "0.2"))
    try:
        with TestClient(create_app(application=application)) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            day = clock.now().date().isoformat()

            def pending() -> int:
                report = http.get("/api/v1/metrics/perfect-order", params={"from": day, "to": day}).json()
                return int(report["groups"]["all"]["pending"])

            assert http.post("/api/v1/orders", json=order_payload()).status_code == 201
            wait_for(lambda: pending() == 1, seconds=30, what="the worker to refresh the new order's verdict")
            assert worker.alive(), worker.output()
    finally:
        worker.stop()
        application.close()
