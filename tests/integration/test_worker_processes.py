"""`perfectorder worker --processes 2`: both processes send, one of them is killed without warning
mid-batch, the supervisor starts it again, and no message is lost (PostgreSQL, a real SMTP
receiver and a real webhook receiver)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from perfectorder.adapters.db import tables as t
from tests.conftest import make_application
from tests.integration.test_dispatch_resilience import (
    LOCAL_RECEIVERS,
    ORDERS,
    WorkerProcess,
    attempt_workers,
    message_ids,
    queue_orders_and_messages,
    statuses,
    wait_for,
)
from tests.receivers import Receiver, smtp_server, webhook_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def test_a_killed_worker_process_is_started_again_and_no_message_is_lost(migrated_postgres_url, clock):
    application = make_application(migrated_postgres_url, clock, webhook_allow=LOCAL_RECEIVERS)
    receiver = Receiver(delay_seconds=0.02)
    try:
        with smtp_server() as (inbox, smtp_port), webhook_receiver(receiver) as url:
            queue_orders_and_messages(application, receiver, url)

            pool = WorkerProcess(migrated_postgres_url, smtp_port, "pool", extra=("--processes", "2"))
            try:
                wait_for(
                    lambda: len(children(pool._process.pid)) == 2, seconds=30, what="two worker processes"
                )
                first = children(pool._process.pid)
                wait_for(
                    lambda: receiver.requests >= 60 or not pool.alive(),
                    seconds=60,
                    what="the workers to send some webhooks",
                )
                assert pool.alive(), pool.output()
                victim = first[-1]
                os.kill(victim, signal.SIGKILL)
                wait_for(
                    lambda: len(set(children(pool._process.pid)) - {victim}) == 2,
                    seconds=30,
                    what="the supervisor to start the killed process again",
                )
                assert victim not in children(pool._process.pid)
                # What the killed process held waits for its lease (2 minutes): expire it now.
                with application.engine.begin() as conn:
                    stranded = set(
                        conn.execute(select(t.outbox.c.id).where(t.outbox.c.status == "sending")).scalars()
                    )
                    conn.execute(
                        update(t.outbox)
                        .where(t.outbox.c.status == "sending")
                        .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
                    )
                wait_for(
                    lambda: set(statuses(application)) == {"delivered"},
                    seconds=90,
                    what="the outbox to drain",
                )
                assert "starting it again" in pool.output()
            finally:
                pool.stop()
            emails = {
                str(m["Message-ID"]).removeprefix("<").removesuffix("@perfectorder>") for m in inbox.messages
            }

        webhook_ids, email_ids = message_ids(application, "webhook"), message_ids(application, "email")
        assert len(webhook_ids) >= ORDERS * 5 and len(email_ids) >= ORDERS
        assert set(receiver.seen) == webhook_ids and receiver.bad_signatures == 0
        assert emails == email_ids
        # Both processes sent, under their own names; only what was in flight could go twice.
        workers = attempt_workers(application)
        assert {"pool-0", "pool-1"} <= set(workers), set(workers)
        assert receiver.requests - len(receiver.seen) <= len(stranded)
    finally:
        application.close()


def test_a_bad_setting_stops_the_supervisor_before_any_worker_starts(postgres_url):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from perfectorder.cli.main import main; main()",
            "worker",
            "--processes",
            "2",
        ],
        env={**os.environ, "PERFECTORDER_DATABASE_URL": postgres_url, "PERFECTORDER_RETURN_WINDOWS": "bogus"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "invalid_setting" in done.stdout + done.stderr
    assert "worker processes" not in done.stdout  # none was started


def test_workers_do_not_outlive_a_killed_supervisor(migrated_postgres_url, clock):
    application = make_application(migrated_postgres_url, clock)  # the schema
    application.close()
    pool = WorkerProcess(migrated_postgres_url, 9, "orphans", extra=("--processes", "2"))
    try:
        wait_for(lambda: len(children(pool._process.pid)) == 2, seconds=30, what="two worker processes")
        workers = children(pool._process.pid)
        pool.kill()  # SIGKILL: no handler runs, the children are told by the kernel
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() and alive(pid) for pid in workers),
            seconds=30,
            what="the workers to stop with their supervisor",
        )
    finally:
        pool.stop()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
