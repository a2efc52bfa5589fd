"""The dispatcher under stress: a worker killed mid-batch loses nothing, and two dispatchers on
PostgreSQL never hold the same message at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster, new_secret
from perfectorder.api.app import create_app
from perfectorder.bootstrap import Application
from perfectorder.sample_data import load_sample_store
from perfectorder.services import dispatch, inventory
from perfectorder.services.context import run_transaction
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.outbox_ports import NewMessage
from tests.conftest import START, api_key, make_application
from tests.factories import order_payload
from tests.receivers import Receiver, smtp_server, webhook_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ORDERS = 60  # each order queues 5 events (-> 5 webhooks after fan-out) and 1 confirmation email
KILL_AFTER_WEBHOOKS = 100
WEBHOOKS = 300
# The receivers in tests/receivers.py listen on loopback, which webhooks refuse unless allowed.
LOCAL_RECEIVERS = ("127.0.0.1",)


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(step)


class WorkerProcess:
    """`perfectorder worker` in its own process, as operators run it, killable without warning."""

    def __init__(self, database_url: str, smtp_port: int, name: str, extra: tuple[str, ...] = ()) -> None:
        self.name = name
        env = {
            **os.environ,
            "PERFECTORDER_DATABASE_URL": database_url,
            "PERFECTORDER_WEBHOOK_ALLOW": ",".join(LOCAL_RECEIVERS),
            "PERFECTORDER_SMTP_HOST": "127.0.0.1",
            "PERFECTORDER_SMTP_PORT": str(smtp_port),
        }
        # A file, not a pipe: a worker must never block on a pipe nobody reads.
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from perfectorder.cli.main import app; app()",
                "worker",
                "--idle",
                "0.05",
                "--name",
                name,
                *extra,
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no signal handler, no rollback from our side, as in a power cut of the process."""
        self._process.kill()
        self._process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()


@contextmanager
def worker_process(database_url: str, smtp_port: int, name: str) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(database_url, smtp_port, name)
    try:
        yield worker
    finally:
        worker.stop()


def statuses(application: Application) -> dict[str, int]:
    o = t.outbox
    with application.engine.connect() as conn:
        return dict(conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all())


def message_ids(application: Application, kind: str) -> set[str]:
    with application.engine.connect() as conn:
        return set(conn.execute(select(t.outbox.c.message_id).where(t.outbox.c.kind == kind)).scalars())


def attempt_workers(application: Application) -> dict[str, set[int]]:
    """Which outbox rows each worker made an attempt on."""
    a = t.outbox_attempts
    found: dict[str, set[int]] = {}
    with application.engine.connect() as conn:
        for worker, outbox_id in conn.execute(select(a.c.worker, a.c.outbox_id)):
            found.setdefault(worker, set()).add(outbox_id)
    return found


def drained(application: Application, worker: WorkerProcess) -> bool:
    assert worker.alive(), f"worker {worker.name} died:\n{worker.output()}"
    return set(statuses(application)) == {"delivered"}


def queue_orders_and_messages(application: Application, receiver: Receiver, url: str) -> None:
    """The sample store, a subscriber to every event at `url`, and ORDERS orders placed through the
    API: 5 webhooks and 1 confirmation e-mail queued for each, all due now."""
    load_sample_store(application.services)
    inventory.receive_stock(application.services, sku="MUG-CERAMIC-BLUE", warehouse="BER", quantity=500)
    with TestClient(create_app(application=application)) as client:
        client.headers["Authorization"] = f"Bearer {api_key(application)}"
        created = client.post("/api/v1/webhook-subscriptions", json={"url": url, "event_types": ["*"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        for _ in range(ORDERS):
            placed = client.post("/api/v1/orders", json=order_payload())
            assert placed.status_code == 201, placed.text
    # The orders were placed on the simulated clock; the worker runs on the wall clock.
    # Make every message due now, whatever the machine's date.
    with application.engine.begin() as conn:
        conn.execute(update(t.outbox).values(next_attempt_at=datetime.now(UTC)))


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
    migrated_postgres_url, clock
):
    application = make_application(migrated_postgres_url, clock, webhook_allow=LOCAL_RECEIVERS)
    receiver = Receiver(delay_seconds=0.02)
    try:
        with smtp_server() as (inbox, smtp_port), webhook_receiver(receiver) as url:
            queue_orders_and_messages(application, receiver, url)
            assert statuses(application) == {"pending": ORDERS * 6}

            with worker_process(migrated_postgres_url, smtp_port, "doomed") as doomed:
                wait_for(
                    lambda: not doomed.alive() or receiver.requests >= KILL_AFTER_WEBHOOKS,
                    seconds=60,
                    what="the first worker to send some webhooks",
                )
                assert doomed.alive(), doomed.output()
                doomed.kill()
            assert 0 < len(receiver.seen) < ORDERS * 5, "the kill should land mid-way"

            # What the dead worker held: claimed, perhaps sent, never recorded.
            with application.engine.begin() as conn:
                stranded = set(
                    conn.execute(select(t.outbox.c.id).where(t.outbox.c.status == "sending")).scalars()
                )
                assert stranded, "the worker was killed mid-batch, so it held a lease"
                # Its lease runs for DispatchPolicy.lease (2 minutes) and is not configurable from
                # the environment: simulate its expiry instead of waiting for it.
                conn.execute(
                    update(t.outbox)
                    .where(t.outbox.c.status == "sending")
                    .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
                )

            with worker_process(migrated_postgres_url, smtp_port, "restarted") as restarted:
                wait_for(lambda: drained(application, restarted), seconds=90, what="the outbox to drain")
            emails_received = [str(m["Message-ID"]) for m in inbox.messages]

        webhook_ids, email_ids = message_ids(application, "webhook"), message_ids(application, "email")
        assert len(webhook_ids) >= ORDERS * 5 and len(email_ids) >= ORDERS
        # Nothing lost, nothing dead: every row delivered, every id received at least once.
        assert set(statuses(application)) == {"delivered"}
        assert set(receiver.seen) == webhook_ids and receiver.bad_signatures == 0
        assert {m.removeprefix("<").removesuffix("@perfectorder>") for m in emails_received} == email_ids
        # Repeats carry the id of the first send, and only what was in flight at the kill goes twice.
        resent = receiver.requests - len(receiver.seen) + len(emails_received) - len(email_ids)
        assert 0 <= resent <= len(stranded)
        workers = attempt_workers(application)
        assert set(workers) == {"doomed", "restarted"}
        assert stranded <= workers["restarted"] and not stranded & workers["doomed"]
    finally:
        application.close()


def dispatcher(application: Application, name: str, *, batch: int) -> Dispatcher:
    return Dispatcher(
        application.services,
        SmtpMailer(host="127.0.0.1", port=9, sender="shop@example.org"),  # no emails in this test
        HttpWebhookPoster(application.services.webhook_guard, timeout_seconds=5),
        JinjaEmailRenderer(),
        policy=DispatchPolicy(batch=batch),
        worker=name,
    )


def test_two_dispatchers_on_postgresql_never_send_the_same_message_at_once(migrated_postgres_url, clock):
    application = make_application(migrated_postgres_url, clock, webhook_allow=LOCAL_RECEIVERS)
    secret = new_secret()
    receiver = Receiver(secret=secret, delay_seconds=0.01)
    try:
        with webhook_receiver(receiver) as url:
            subscription = dispatch.subscribe(application.services, url=url, event_types=["*"], secret=secret)
            queued = [
                NewMessage(
                    str(uuid.uuid4()),
                    "webhook",
                    "order.placed",
                    None,
                    {"n": n},
                    START,
                    recipient=url,
                    subscription_id=subscription,
                )
                for n in range(WEBHOOKS)
            ]
            run_transaction(application.services, lambda uow: uow.outbox.enqueue(queued))

            def drain(name: str) -> int:
                # A small batch so the two workers take turns instead of one taking everything.
                d, handled = dispatcher(application, name, batch=5), 0
                while sent := d.run_once():
                    handled += sent
                return handled

            with ThreadPoolExecutor(2) as pool:
                handled = [f.result() for f in [pool.submit(drain, "left"), pool.submit(drain, "right")]]

        assert sum(handled) == WEBHOOKS
        assert receiver.max_concurrent_same_id == 1
        assert set(receiver.seen) == {m.message_id for m in queued}
        assert receiver.requests == WEBHOOKS and set(receiver.seen.values()) == {1}
        assert receiver.bad_signatures == 0
        assert statuses(application) == {"delivered": WEBHOOKS}
        workers = attempt_workers(application)
        assert set(workers) == {"left", "right"} and not workers["left"] & workers["right"]
    finally:
        application.close()


def test_an_event_fanned_out_again_after_a_crash_does_not_kill_the_worker(migrated_postgres_url, clock):
    application = make_application(migrated_postgres_url, clock, webhook_allow=LOCAL_RECEIVERS)
    try:
        dispatch.subscribe(
            application.services, url="http://127.0.0.1:9/hooks", event_types=["*"], secret=new_secret()
        )
        event = NewMessage("event-1", "event", "order.placed", None, {"n": 1}, START)
        run_transaction(application.services, lambda uow: uow.outbox.enqueue([event]))
        d = dispatcher(application, "fan", batch=1)
        assert d.run_once() == 1
        # A crash after the fan-out committed and before the event was recorded as delivered:
        # the lease expires and the event is claimed again.
        with application.engine.begin() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.message_id == "event-1")
                .values(status="sending", locked_until=START - timedelta(seconds=1), delivered_at=None)
            )
        try:
            d.run_once()
        except Exception as e:  # noqa: BLE001 - whatever escapes run_once ends `perfectorder worker`
            raise AssertionError(f"run_once raised {type(e).__name__}") from e
        assert message_ids(application, "webhook") == {"event-1:1"}
        assert statuses(application) == {"delivered": 1, "pending": 1}
    finally:
        application.close()
