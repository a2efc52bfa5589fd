"""Real clients against a real server: the guarantees that only show under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx
import pytest
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from perfectorder.services import catalog, inventory
from perfectorder.services.ports import ProductSpec
from tests.conftest import api_key, make_application
from tests.factories import order_payload
from tests.live_server import running_server

pytestmark = pytest.mark.slow


def prepare(url: str, clock, *, units: int) -> str:
    """The sample store plus one scarce product with `units` in stock in a single warehouse.
    Returns an admin API key."""
    from decimal import Decimal

    from perfectorder.sample_data import load_sample_store

    application = make_application(url, clock)
    try:
        load_sample_store(application.services)
        catalog.create_product(
            application.services, ProductSpec("LAST-CALL-LANTERN", "Brass lantern", Decimal("45.00"), "EUR")
        )
        inventory.receive_stock(
            application.services, sku="LAST-CALL-LANTERN", warehouse="BER", quantity=units
        )
        return api_key(application)
    finally:
        application.close()


def stock_and_ledger(url: str, clock) -> tuple[int, int, int, int]:
    application = make_application(url, clock)
    try:
        with application.engine.connect() as conn:
            product_id = conn.execute(
                select(t.products.c.id).where(t.products.c.sku == "LAST-CALL-LANTERN")
            ).scalar_one()
            on_hand, reserved = conn.execute(
                select(func.sum(t.stock.c.on_hand), func.sum(t.stock.c.reserved)).where(
                    t.stock.c.product_id == product_id
                )
            ).one()
            ledger_on_hand, ledger_reserved = conn.execute(
                select(
                    func.sum(t.stock_movements.c.on_hand_delta), func.sum(t.stock_movements.c.reserved_delta)
                ).where(t.stock_movements.c.product_id == product_id)
            ).one()
        return on_hand, reserved, ledger_on_hand, ledger_reserved
    finally:
        application.close()


def order_concurrently(
    base: str, key: str, payloads: list[dict], headers: list[dict] | None = None
) -> list[httpx.Response]:
    barrier = Barrier(len(payloads))

    def send(index: int) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
            barrier.wait()
            return http.post(
                "/api/v1/orders", json=payloads[index], headers=(headers or [{}] * len(payloads))[index]
            )

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(send, range(len(payloads))))


def one_lantern() -> dict:
    return order_payload(
        lines=[{"sku": "LAST-CALL-LANTERN", "quantity": 1}],
        payment={"method": "card", "status": "authorized", "authorized_amount": "45.00"},
    )


@pytest.mark.parametrize(
    ("backend", "clients", "units"),
    [
        pytest.param("postgres", 50, 20, marks=pytest.mark.postgres),
        ("sqlite", 12, 5),
    ],
)
def test_concurrent_clients_never_oversell(request, clock, backend, clients, units):
    url = request.getfixturevalue("migrated_postgres_url" if backend == "postgres" else "migrated_sqlite_url")
    key = prepare(url, clock, units=units)
    with running_server(url) as base:
        responses = order_concurrently(base, key, [one_lantern() for _ in range(clients)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * units + [409] * (clients - units), [
        r.text for r in responses if r.status_code >= 500
    ]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"insufficient_stock"}
    on_hand, reserved, ledger_on_hand, ledger_reserved = stock_and_ledger(url, clock)
    assert (on_hand, reserved) == (units, units)
    assert (ledger_on_hand, ledger_reserved) == (on_hand, reserved)


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_twenty_concurrent_requests_with_one_key_create_one_order(request, clock, backend):
    url = request.getfixturevalue("migrated_postgres_url" if backend == "postgres" else "migrated_sqlite_url")
    key = prepare(url, clock, units=100)
    payload = one_lantern()
    with running_server(url) as base:
        responses = order_concurrently(base, key, [payload] * 20, [{"Idempotency-Key": "retry-storm-7"}] * 20)
        listed = httpx.get(
            f"{base}/api/v1/orders", params={"limit": 200}, headers={"Authorization": f"Bearer {key}"}
        ).json()["items"]
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert [o["external_ref"] for o in listed] == [payload["external_ref"]]
    on_hand, reserved, *_ = stock_and_ledger(url, clock)
    assert reserved == 1
