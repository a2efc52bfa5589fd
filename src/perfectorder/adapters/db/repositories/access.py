"""API keys, dashboard users, their sessions, and the audit log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.ports import (
    Amendment,
    ApiKeyRecord,
    AuditEntry,
    AuditRecord,
    LoginFailure,
    SessionRecord,
    UserRecord,
)

k, u, s, a, lf = t.api_keys, t.users, t.sessions, t.audit_log, t.login_failures
log = logging.getLogger("perfectorder.audit")
# Built once, executed with parameters: one of these runs for every request with a new API key.
_KEY_BY_PREFIX = select(k).where(k.c.prefix == bindparam("prefix"))
_SESSION = (
    select(s.c.csrf_token, s.c.expires_at, s.c.ended_at, u)
    .select_from(s.join(u, u.c.id == s.c.user_id))
    .where(s.c.token_hash == bindparam("token_hash"))
)
_ADD_AUDIT = insert(a)


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at,
        "actor": entry.actor[:200],
        "role": entry.role,
        "method": entry.method[:10],
        "path": entry.path[:500],
        "status_code": entry.status_code,
        "client": entry.client[:100],
        "outcome": entry.outcome[:50],
    }


def write_audit(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    if entries:
        conn.execute(_ADD_AUDIT, [_audit_row(e) for e in entries])


def add_audit_row(conn: Connection, entry: AuditEntry) -> int:
    key = conn.execute(_ADD_AUDIT.values(_audit_row(entry))).inserted_primary_key
    assert key is not None
    return int(key[0])


_AMEND_AUDIT = (
    update(a)
    .where(a.c.id == bindparam("row_id"))
    .values(status_code=bindparam("status"), outcome=bindparam("new_outcome"))
)


def _outage(error: Exception) -> bool:
    # Imported here: the unit of work imports this module.
    from perfectorder.adapters.db.unit_of_work import is_unreachable

    return isinstance(error, DBAPIError) and is_unreachable(error)


class AuditLog:
    """The HTTP audit trail's writer for calls that committed nothing: refusals, errors, and calls
    answered before their work could start (a 503 in an outage). A call that changed something has
    its row already, written in the same transaction as the change (see SqlAlchemyUnitOfWork.commit);
    here it only gets an amendment when its final answer differed from what that row says.

    Entries wait in memory and a background thread writes them in one batched INSERT every
    `interval` seconds, in a transaction of its own, outside the writer gate. A batch that cannot be
    written (the database is down) is kept and tried again, so an outage loses no entry; only a
    crash loses the last `interval` seconds of refusals. Reading the log through
    `SqlAccessRepository.audit` flushes first. The thread stops when idle and starts on demand.
    """

    MAX_PENDING = 50_000  # if the database is down for long, keep memory bounded: drop the oldest, say so

    def __init__(self, engine: Engine, *, interval: float = 0.1, idle_exit: float = 2.0) -> None:
        self._engine = engine
        self._interval = interval
        self._idle_exit = idle_exit
        self._pending: list[AuditEntry | Amendment] = []
        self._lock = threading.Lock()  # guards _pending and _thread
        self._writing = threading.Lock()  # one batch at a time: flush() waits for the batch in flight
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, entry: AuditEntry | Amendment) -> None:
        """Non-blocking: called on the event loop after the response is sent."""
        with self._lock:
            self._pending.append(entry)
            self._bound()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="perfectorder-audit", daemon=True)
                self._thread.start()

    def _bound(self) -> None:
        excess = len(self._pending) - self.MAX_PENDING
        if excess > 0:
            log.error("audit buffer full, dropping the %d oldest entries: %s", excess, self._pending[:excess])
            del self._pending[:excess]

    def flush(self) -> int:
        """Writes what is pending now (and waits for a batch being written); returns the rows written.
        Raises nothing: a batch that cannot be written goes back to the queue."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            entries = [e for e in batch if isinstance(e, AuditEntry)]
            amendments = [
                {"row_id": e.row_id, "status": e.status_code, "new_outcome": e.outcome}
                for e in batch
                if isinstance(e, Amendment)
            ]
            try:
                with self._engine.begin() as conn:
                    write_audit(conn, entries)
                    if amendments:
                        conn.execute(_AMEND_AUDIT, amendments)
            except Exception as e:
                if self._closed or not _outage(e):
                    # Not an outage a retry outlives (a dropped database, a bug): say what is lost.
                    log.error("could not write %d audit entries: %s: %s", len(batch), e, batch[:20])
                    return 0
                log.warning("could not write %d audit entries, will retry: %s", len(batch), e)
                with self._lock:
                    self._pending[:0] = batch
                    self._bound()
                return 0
            return len(batch)

    def close(self) -> None:
        """Writes what is pending once more and stops the writer thread."""
        self._closed = True
        self.flush()

    def _run(self) -> None:
        idle = 0.0
        while True:
            time.sleep(self._interval)
            written = self.flush()
            idle = 0.0 if written or self._pending else idle + self._interval
            if idle >= self._idle_exit or self._closed:
                with self._lock:
                    if not self._pending:
                        self._thread = None
                        return


class SqlAccessRepository:
    def __init__(self, conn: Connection, audit_log: AuditLog | None = None) -> None:
        self._conn = conn
        self._audit_log = audit_log

    def add_key(self, record: ApiKeyRecord) -> int:
        values = {
            "name": record.name,
            "prefix": record.prefix,
            "secret_hash": record.secret_hash,
            "role": record.role,
            "channel": record.channel,
            "customer_id": record.customer_id,
            "created_at": record.created_at,
            "created_by": record.created_by,
        }
        key_id: int = self._conn.execute(insert(k).values(**values).returning(k.c.id)).scalar_one()
        return key_id

    def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = self._conn.execute(_KEY_BY_PREFIX, {"prefix": prefix}).first()
        return _key(row) if row is not None else None

    def keys(self) -> list[ApiKeyRecord]:
        return [_key(row) for row in self._conn.execute(select(k).order_by(k.c.id))]

    def revoke_key(self, key_id: int, at: datetime) -> bool:
        stmt = update(k).where((k.c.id == key_id) & k.c.revoked_at.is_(None)).values(revoked_at=at)
        return self._conn.execute(stmt).rowcount == 1

    def add_user(self, username: str, password_hash: str, role: str, created_at: datetime) -> int | None:
        stmt = (
            insert_or_nothing(self._conn, u)
            .values(
                username=username,
                password_hash=password_hash,
                role=role,
                failed_logins=0,
                created_at=created_at,
            )
            .returning(u.c.id)
        )
        row = self._conn.execute(stmt).first()
        return row.id if row is not None else None

    def user_by_name(self, username: str) -> UserRecord | None:
        row = self._conn.execute(select(u).where(u.c.username == username)).first()
        return _user(row) if row is not None else None

    def users(self) -> list[UserRecord]:
        return [_user(row) for row in self._conn.execute(select(u).order_by(u.c.id))]

    def set_user_disabled(self, user_id: int, at: datetime | None) -> None:
        self._conn.execute(update(u).where(u.c.id == user_id).values(disabled_at=at))

    def set_password(self, user_id: int, password_hash: str) -> None:
        self._conn.execute(update(u).where(u.c.id == user_id).values(password_hash=password_hash))

    def end_user_sessions(self, user_id: int, at: datetime) -> int:
        stmt = update(s).where((s.c.user_id == user_id) & s.c.ended_at.is_(None)).values(ended_at=at)
        return self._conn.execute(stmt).rowcount

    def add_login_failure(self, username: str, client: str, at: datetime) -> None:
        self._conn.execute(insert(lf).values(username=username[:100], client=client[:100], failed_at=at))

    def login_failures(self, username: str, *, since: datetime) -> list[LoginFailure]:
        stmt = (
            select(lf.c.client, lf.c.failed_at)
            .where((lf.c.username == username[:100]) & (lf.c.failed_at > since))
            .order_by(lf.c.failed_at)
        )
        return [LoginFailure(row.client, row.failed_at) for row in self._conn.execute(stmt)]

    def clear_login_failures(self, username: str, *, client: str | None = None) -> int:
        where = lf.c.username == username[:100]
        if client is not None:
            where &= lf.c.client == client[:100]
        return self._conn.execute(delete(lf).where(where)).rowcount

    def forget_login_failures(self, *, before: datetime) -> None:
        self._conn.execute(delete(lf).where(lf.c.failed_at <= before))

    def add_login_audit(self, entry: AuditEntry) -> None:
        self._conn.execute(insert(a).values(**_audit_row(entry), detail=(entry.detail or "")[:200] or None))

    def add_session(
        self, token_hash: str, user_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
    ) -> None:
        self._conn.execute(
            insert(s).values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: str) -> SessionRecord | None:
        row = self._conn.execute(_SESSION, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return SessionRecord(_user(row), row.csrf_token, row.expires_at, row.ended_at)

    def end_session(self, token_hash: str, at: datetime) -> None:
        self._conn.execute(
            update(s).where((s.c.token_hash == token_hash) & s.c.ended_at.is_(None)).values(ended_at=at)
        )

    def add_audit(self, entry: AuditEntry) -> None:
        write_audit(self._conn, [entry])

    def audit(self, *, before_id: int | None, limit: int) -> list[AuditRecord]:
        if self._audit_log is not None:
            # Entries the HTTP middleware queued are written before the log is read (see AuditLog).
            # Called from a read-only unit of work that has not read yet, so this sees them, and on
            # SQLite it holds no lock that the flush's write would wait for.
            self._audit_log.flush()
        stmt = select(a).order_by(a.c.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(a.c.id < before_id)
        return [
            AuditRecord(
                r.id,
                AuditEntry(
                    r.occurred_at,
                    r.actor,
                    r.role,
                    r.method,
                    r.path,
                    r.status_code,
                    r.client,
                    r.outcome,
                    r.detail,
                ),
            )
            for r in self._conn.execute(stmt)
        ]


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.name,
        row.prefix,
        row.secret_hash,
        row.role,
        row.channel,
        row.customer_id,
        row.created_at,
        row.created_by,
        row.revoked_at,
    )


def _user(row: Any) -> UserRecord:
    return UserRecord(
        row.id,
        row.username,
        row.password_hash,
        row.role,
        row.failed_logins,
        row.locked_until,
        row.disabled_at,
    )
