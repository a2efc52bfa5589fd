"""Kill the server mid-load, start it again, retry what was not acknowledged: nothing lost, nothing twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from tests.conftest import make_application
from tests.factories import order_payload
from tests.integration.test_concurrency_http import prepare
from tests.live_server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
CLIENTS = 6
ORDERS_PER_CLIENT = 40


def request_for(client: int, n: int) -> tuple[str, dict]:
    payload = order_payload(
        external_ref=f"CRASH-{client}-{n}",
        lines=[{"sku": "LAST-CALL-LANTERN", "quantity": 1 + n % 3}],
        payment={"method": "cash_on_delivery"},
    )
    return f"crash-{client}-{n}", payload


def test_orders_acknowledged_before_a_kill_exist_once_and_retries_create_no_duplicates(
    migrated_postgres_url, clock
):
    key = prepare(migrated_postgres_url, clock, units=100_000)
    server = ServerProcess(migrated_postgres_url)
    acknowledged: dict[str, int] = {}
    unacknowledged: list[tuple[str, dict]] = []
    lock = threading.Lock()
    stop_sending = threading.Event()

    def client(index: int) -> None:
        with httpx.Client(
            base_url=server.base, timeout=10, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            for n in range(ORDERS_PER_CLIENT):
                idem, payload = request_for(index, n)
                if stop_sending.is_set():
                    with lock:
                        unacknowledged.append((idem, payload))
                    continue
                try:
                    response = http.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": idem})
                    assert response.status_code == 201, response.text
                    with lock:
                        acknowledged[idem] = response.json()["id"]
                except httpx.TransportError:
                    with lock:
                        unacknowledged.append((idem, payload))

    try:
        server.start()
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client, i) for i in range(CLIENTS)]
            while len(acknowledged) < CLIENTS * ORDERS_PER_CLIENT // 3:
                time.sleep(0.01)
            server.kill()
            stop_sending.set()
            for future in futures:
                future.result()
        assert acknowledged and unacknowledged

        server.start()
        retry_what_was_not_acknowledged(server.base, key, acknowledged, unacknowledged)
    finally:
        server.stop()
    assert_each_order_once(migrated_postgres_url, clock, acknowledged)


def retry_what_was_not_acknowledged(
    base: str, key: str, acknowledged: dict[str, int], unacknowledged: list[tuple[str, dict]]
) -> None:
    """Sends again, with the same Idempotency-Key, what got no answer; and checks that a replay of
    what was acknowledged answers the same order."""
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as http:
        for idem, payload in unacknowledged:
            response = http.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": idem})
            assert response.status_code == 201, response.text
            acknowledged[idem] = response.json()["id"]
        for idem, order_id in list(acknowledged.items())[:20]:
            replay = http.post(
                "/api/v1/orders",
                json=request_for(*map(int, idem.split("-")[1:]))[1],
                headers={"Idempotency-Key": idem},
            )
            assert replay.json()["id"] == order_id


def assert_each_order_once(postgres_url: str, clock, acknowledged: dict[str, int]) -> None:
    """Every order sent exists once, is the one acknowledged, and its units are reserved once."""
    application = make_application(postgres_url, clock)
    try:
        with application.engine.connect() as conn:
            refs = conn.execute(select(t.orders.c.external_ref, t.orders.c.id)).all()
            reserved = conn.execute(select(func.sum(t.stock.c.reserved))).scalar_one()
            open_units = conn.execute(
                select(func.sum(t.allocations.c.quantity)).where(
                    (t.allocations.c.status == "reserved") & t.allocations.c.reserves_stock
                )
            ).scalar_one()
            ordered_units = conn.execute(select(func.sum(t.order_lines.c.quantity))).scalar_one()
    finally:
        application.close()
    assert len(refs) == CLIENTS * ORDERS_PER_CLIENT
    assert len({ref for ref, _ in refs}) == len(refs)
    assert {order_id for _, order_id in refs} == set(acknowledged.values())
    assert reserved == open_units == ordered_units
