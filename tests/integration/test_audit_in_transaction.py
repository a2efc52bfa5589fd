"""An audited call's row commits with its change or not at all, a call past its deadline changes
nothing, and refusals recorded during an outage are kept until the database is back."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import normalize_url
from perfectorder.adapters.db.repositories.access import AuditLog
from perfectorder.adapters.db.unit_of_work import FairGate
from perfectorder.domain.errors import DeadlineExceeded
from perfectorder.services.call import Call, current_call
from perfectorder.services.context import run_transaction
from perfectorder.services.ports import AuditEntry
from tests.conftest import START, make_application
from tests.tcp_proxy import CuttableProxy


def _entry(status: int = 201) -> AuditEntry:
    return AuditEntry(START, "key:test", "admin", "POST", "/api/v1/things", status, "127.0.0.1", "ok")


def _audit_rows(application) -> int:
    with application.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.audit_log)).scalar_one())


def _users(application) -> int:
    with application.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.users)).scalar_one())


def _add_user(name: str):
    return lambda uow: uow.access.add_user(name, "not-a-hash", "admin", START)


def test_a_committed_change_carries_its_audit_row(migrated_database_url, clock):
    application = make_application(migrated_database_url, clock)
    call = Call(describe=_entry)
    token = current_call.set(call)
    try:
        run_transaction(application.services, _add_user("ada"))
    finally:
        current_call.reset(token)
    # Written in the change's own transaction, not queued for later: nothing is pending.
    assert application.services.uow.audit_log.pending == 0
    assert _audit_rows(application) == 1 and _users(application) == 1
    assert call.audit_row is not None and call.audited_status == 201
    application.close()


def test_a_change_that_fails_leaves_no_audit_row(migrated_database_url, clock):
    application = make_application(migrated_database_url, clock)
    call = Call(describe=_entry)
    token = current_call.set(call)

    def fails(uow):
        uow.access.add_user("bob", "not-a-hash", "admin", START)
        raise RuntimeError("refused after writing")

    try:
        with pytest.raises(RuntimeError):
            run_transaction(application.services, fails)
    finally:
        current_call.reset(token)
    assert _audit_rows(application) == 0 and _users(application) == 0 and call.audit_row is None
    application.close()


def test_a_call_past_its_deadline_neither_starts_nor_commits(migrated_database_url, clock):
    application = make_application(migrated_database_url, clock)
    call = Call(describe=_entry, deadline=time.monotonic() - 0.1, timeout=2)
    token = current_call.set(call)
    try:
        with pytest.raises(DeadlineExceeded):
            run_transaction(application.services, _add_user("carl"))
        # The deadline passes while the work runs (the database was frozen): it is not applied.
        call.deadline = time.monotonic() + 0.2

        def slow(uow):
            uow.access.add_user("dora", "not-a-hash", "admin", START)
            time.sleep(0.3)

        with pytest.raises(DeadlineExceeded):
            run_transaction(application.services, slow)
    finally:
        current_call.reset(token)
    assert _users(application) == 0 and _audit_rows(application) == 0
    application.close()


def test_the_writer_gate_gives_up_at_the_deadline_and_keeps_its_queue_fair():
    gate = FairGate(1)
    assert gate.acquire()
    started = time.monotonic()
    assert gate.acquire(timeout=0.2) is False
    assert 0.15 < time.monotonic() - started < 1
    assert gate.waiting == 0  # the one that gave up left the queue
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire(timeout=5)))
    waiter.start()
    while gate.waiting == 0:
        time.sleep(0.01)
    gate.release()
    waiter.join()
    assert got == [True]
    gate.release()
    with pytest.raises(ValueError):
        gate.release()


@pytest.mark.postgres
def test_refusals_recorded_during_an_outage_are_written_when_the_database_returns(
    migrated_postgres_url, clock
):
    application = make_application(migrated_postgres_url, clock)
    parts = urlsplit(migrated_postgres_url)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    through = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    engine = create_engine(normalize_url(through), connect_args={"connect_timeout": 2}, pool_pre_ping=True)
    log = AuditLog(engine, interval=0.05, idle_exit=0.5)
    try:
        proxy.cut()
        for _ in range(3):
            log.add(_entry(503))
        time.sleep(0.5)
        assert log.flush() == 0 and log.pending == 3  # kept, not dropped
        proxy.restore()
        deadline = time.monotonic() + 10
        while _audit_rows(application) < 3 and time.monotonic() < deadline:
            log.flush()  # waits for a batch the writer thread has in flight
            time.sleep(0.05)
        assert log.pending == 0 and _audit_rows(application) == 3
    finally:
        proxy.close()
        engine.dispose()
        application.close()
