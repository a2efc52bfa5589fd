"""The database goes away under load (a TCP proxy in front of PostgreSQL is cut, then restored):
every answer is 201 or 503 with Retry-After, no connection is dropped, no acknowledged order is
lost, and the server recovers without a restart."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import create_engine, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import normalize_url
from tests.integration.test_concurrency_http import one_lantern, prepare
from tests.live_server import running_server
from tests.tcp_proxy import CuttableProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


def test_an_outage_answers_503_with_retry_after_and_loses_no_acknowledged_order(postgres_url, clock):
    key = prepare(postgres_url, clock, units=100_000)
    parts = urlsplit(postgres_url)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    answers: list[tuple[int, str, str | None]] = []
    failures: list[str] = []
    stop = threading.Event()

    def client(n: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as http:
            i = 0
            while not stop.is_set():
                i += 1
                body = one_lantern()
                body["external_ref"] = f"OUTAGE-{n}-{i}"
                try:
                    r = http.post("/api/v1/orders", json=body)
                except httpx.TransportError as e:
                    failures.append(f"{type(e).__name__}: {e}")
                    continue
                answers.append((r.status_code, body["external_ref"], r.headers.get("retry-after")))
                if r.status_code == 503:
                    time.sleep(0.05)

    try:
        with running_server(_through(postgres_url, proxy.port), PERFECTORDER_DB_CONNECT_TIMEOUT="2") as base:
            threads = [threading.Thread(target=client, args=(n, base)) for n in range(8)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)
            proxy.cut()
            time.sleep(3)
            outage_checked = httpx.get(f"{base}/readyz", timeout=5)
            proxy.restore()
            time.sleep(3)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            recovered = httpx.get(f"{base}/readyz", timeout=5)
    finally:
        proxy.close()
    statuses = {status for status, _, _ in answers}
    assert failures == [], failures[:5]
    assert statuses <= {201, 503}, [a for a in answers if a[0] not in (201, 503)][:5]
    assert 503 in statuses and all(retry for status, _, retry in answers if status == 503)
    assert outage_checked.status_code == 503 and recovered.status_code == 200
    # Orders kept coming once the database was back, without a restart.
    assert answers[-1][0] == 201
    acknowledged = {ref for status, ref, _ in answers if status == 201}
    engine = create_engine(normalize_url(postgres_url))
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(select(t.orders.c.external_ref)).scalars())
    finally:
        engine.dispose()
    assert acknowledged <= stored
