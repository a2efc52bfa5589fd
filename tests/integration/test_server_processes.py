"""`perfectorder serve --workers 2` on PostgreSQL: one API process killed without warning under load
loses no acknowledged order (the other keeps answering, uvicorn starts a new one, retries with the
same Idempotency-Key create nothing twice), and with Redis the two processes share one rate limit
per key instead of each granting it."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from perfectorder.api.security import KEY_CACHE_SECONDS
from perfectorder.domain.access import Role
from perfectorder.services import access
from tests.conftest import make_application
from tests.integration.test_concurrency_http import prepare
from tests.integration.test_crash_recovery import (
    CLIENTS,
    ORDERS_PER_CLIENT,
    assert_each_order_once,
    request_for,
    retry_what_was_not_acknowledged,
)
from tests.integration.test_ratelimit import REDIS_URL, redis_url  # noqa: F401 - the fixture
from tests.live_server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class ServedProcesses(ServerProcess):
    """`perfectorder serve --workers N`, as operators run it."""

    def __init__(self, database_url: str, workers: int, **env: str) -> None:
        super().__init__(database_url, **env)
        self.workers = workers

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-c",
            "from perfectorder.cli.main import main; main()",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def processes(self) -> list[int]:
        """The serving processes: the supervisor's children started by multiprocessing's spawn."""
        assert self._process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == self._process.pid and fields[0] != "Z" and b"spawn_main" in cmdline:
                found.append(int(entry.name))
        return sorted(found)


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def test_a_killed_api_process_loses_no_acknowledged_order(migrated_postgres_url, clock):
    key = prepare(migrated_postgres_url, clock, units=100_000)
    server = ServedProcesses(migrated_postgres_url, workers=2)
    acknowledged: dict[str, int] = {}
    unacknowledged: list[tuple[str, dict]] = []
    lock = threading.Lock()
    killed = threading.Event()
    after_kill = [0]

    def client(index: int) -> None:
        # A fresh connection per order: each may land on either process.
        for n in range(ORDERS_PER_CLIENT):
            idem, payload = request_for(index, n)
            try:
                with httpx.Client(
                    base_url=server.base, timeout=10, headers={"Authorization": f"Bearer {key}"}
                ) as http:
                    response = http.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": idem})
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged[idem] = response.json()["id"]
                    after_kill[0] += killed.is_set()
            except httpx.TransportError:
                with lock:
                    unacknowledged.append((idem, payload))

    try:
        server.start()
        wait_until(lambda: len(server.processes()) == 2, 30, "two serving processes")
        first = server.processes()
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client, i) for i in range(CLIENTS)]
            wait_until(lambda: len(acknowledged) >= CLIENTS * ORDERS_PER_CLIENT // 3, 60, "a third")
            os.kill(first[0], signal.SIGKILL)
            killed.set()
            for future in futures:
                future.result()
        # The other process kept answering, and a new one took the dead one's place.
        assert after_kill[0] > 0
        wait_until(lambda: len(set(server.processes()) - {first[0]}) == 2, 30, "a new serving process")

        retry_what_was_not_acknowledged(server.base, key, acknowledged, unacknowledged)
    finally:
        server.stop()
    assert_each_order_once(migrated_postgres_url, clock, acknowledged)


def granted(base: str, key: str, requests: int) -> int:
    """Reads sent at once over fresh connections (so both processes take some): how many passed."""

    def one(_: int) -> int:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {key}"}) as http:
            return http.get("/api/v1/products").status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(requests)))
    assert set(codes) <= {200, 429}, codes
    return codes.count(200)


def test_two_processes_share_one_rate_limit_through_redis(migrated_postgres_url, clock, redis_url):  # noqa: F811
    key = prepare(migrated_postgres_url, clock, units=10)
    limits = {"PERFECTORDER_RATE_LIMIT_PER_SECOND": "0.2", "PERFECTORDER_RATE_LIMIT_BURST": "10"}
    # Without Redis each process grants the burst by itself: the control shows both took requests.
    alone = ServedProcesses(migrated_postgres_url, workers=2, **limits)
    try:
        alone.start()
        wait_until(lambda: len(alone.processes()) == 2, 30, "two serving processes")
        assert granted(alone.base, key, 60) > 10
    finally:
        alone.stop()
    shared = ServedProcesses(migrated_postgres_url, workers=2, PERFECTORDER_REDIS_URL=REDIS_URL, **limits)
    try:
        shared.start()
        wait_until(lambda: len(shared.processes()) == 2, 30, "two serving processes")
        assert granted(shared.base, key, 60) <= 11  # the burst, and at most one token refilled
    finally:
        shared.stop()


def test_a_revoked_key_stops_working_in_every_process_within_its_delay(migrated_postgres_url, clock):
    prepare(migrated_postgres_url, clock, units=10)
    application = make_application(migrated_postgres_url, clock)
    try:
        issued = access.create_api_key(application.services, name="leaked", role=Role.ADMIN)
        server = ServedProcesses(migrated_postgres_url, workers=2)
        try:
            server.start()
            wait_until(lambda: len(server.processes()) == 2, 30, "two serving processes")
            # Both processes have the key cached (fresh connections, sent at once).
            assert granted(server.base, issued.secret, 40) == 40
            access.revoke_api_key(application.services, issued.record.id)
            time.sleep(KEY_CACHE_SECONDS + 0.5)  # the documented delay (docs/security.md)
            codes = refused(server.base, issued.secret, 40)
            assert codes == {401}, codes
        finally:
            server.stop()
    finally:
        application.close()


def refused(base: str, secret: str, requests: int) -> set[int]:
    def one(_: int) -> int:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {secret}"}) as http:
            return http.get("/api/v1/products").status_code

    with ThreadPoolExecutor(8) as pool:
        return set(pool.map(one, range(requests)))
