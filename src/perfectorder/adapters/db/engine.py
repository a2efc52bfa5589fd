"""Engines for SQLite (embedded, WAL) and PostgreSQL (psycopg 3), built on request, never at import."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from perfectorder.config import Settings


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLAlchemy's default would look for psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PerDialect:
    """A statement built once per dialect, on first use, then only executed with new parameters.

    Building a statement and computing its cache key costs more Python time than running it on a
    warm connection; a statement that is built once keeps its cache key, so SQLAlchemy goes straight
    to the compiled SQL. Two threads racing on first use build it twice, which is harmless.
    """

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[Connection], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def __call__(self, conn: Connection) -> Any:
        name = conn.dialect.name
        stmt = self._built.get(name)
        if stmt is None:
            stmt = self._built[name] = self._build(conn)
        return stmt


def build_engine(settings: Settings) -> Engine:
    url = normalize_url(settings.database_url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_args=_postgres_connect_args(settings),
        # Kept on purpose: the ping is one round trip of ~0.1 ms per checkout against ~3 ms per capture
        # (turning it off measured within the noise of bench/capture.py), and without it a connection
        # cut by a PostgreSQL restart or failover fails the next request that draws it: run_transaction
        # retries lost races only, and a connection lost during COMMIT leaves the outcome unknown, so
        # retrying on disconnects is not safe in general.
        pool_pre_ping=True,
    )


def _postgres_connect_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {"connect_timeout": settings.db_connect_timeout}
    if settings.statement_timeout > 0:
        # Enforced by the server: a statement stuck behind a lock or a runaway query ends as an error
        # the caller sees, instead of holding a connection and a writer slot indefinitely.
        args["options"] = f"-c statement_timeout={int(settings.statement_timeout * 1000)}"
    return args


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    if ":memory:" in url or url.rstrip("/") == "sqlite:":
        raise ValueError("use a file for SQLite: several connections must see the same database")
    database = make_url(url).database
    if database and not database.startswith("file:"):
        # sqlite:///var/store.db on a fresh clone: SQLite creates the file, not its folder.
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an order acknowledged with 201 survives power loss, not just a process crash.
        cursor.execute("PRAGMA synchronous=OFF" if settings.bulk_writes else "PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that upgrades later can fail
        # with SQLITE_BUSY mid-way, after it has read stock that is no longer true.
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            begin_immediate(conn.connection.dbapi_connection)

    return engine


SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_LOCK_POLL = 0.0005


def begin_immediate(dbapi_connection: Any, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> None:
    """Takes SQLite's write lock, asking again every half millisecond until `timeout`.

    SQLite's own busy handler sleeps up to 100 ms between tries, so beside a writer that commits
    and begins again at once (the simulator filling the demo store while the server runs) a waiter
    almost never hits the moment the lock is free and times out after 30 s. Asking often, it gets
    in at the other writer's next commit.
    """
    deadline = time.monotonic() + timeout
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() >= deadline:
                    # Wrapped as SQLAlchemy would: the unit of work reads a lock timeout as a race.
                    raise OperationalError("BEGIN IMMEDIATE", None, e) from e
                time.sleep(_WRITE_LOCK_POLL)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
