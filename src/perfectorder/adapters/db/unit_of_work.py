"""One unit of work = one database transaction, with a gate that bounds concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, OperationalError

from perfectorder.adapters.db.reference import ReferenceCache
from perfectorder.adapters.db.repositories.access import SqlAccessRepository
from perfectorder.adapters.db.repositories.catalog import SqlProductRepository, SqlWarehouseRepository
from perfectorder.adapters.db.repositories.customers import SqlCustomerRepository
from perfectorder.adapters.db.repositories.fulfilment import SqlFulfilmentRepository
from perfectorder.adapters.db.repositories.idempotency import SqlIdempotencyRepository
from perfectorder.adapters.db.repositories.orders import SqlOrderRepository
from perfectorder.adapters.db.repositories.outbox import SqlOutboxRepository
from perfectorder.adapters.db.repositories.stock import SqlStockRepository
from perfectorder.services.ports import TransientConflict

# SQLSTATEs that mean "you lost a race, the same transaction may well succeed if run again".
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class SqlAlchemyUnitOfWork:
    def __init__(
        self, engine: Engine, cache: ReferenceCache, gate: threading.Semaphore | None, *, read_only: bool
    ) -> None:
        self._engine = engine
        self._cache = cache
        self._gate = gate if not read_only else None
        self._read_only = read_only
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._on_commit: list[Callable[[], Any]] = []

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._gate is not None:
            self._gate.acquire()
        try:
            conn = self._engine.connect()
            if self._read_only:
                conn = conn.execution_options(read_only=True)
            self._conn = conn
            self._tx = conn.begin()
        except BaseException:
            self._close()
            raise
        self.products = SqlProductRepository(conn)
        self.warehouses = SqlWarehouseRepository(conn, self._cache, self._on_commit)
        self.stock = SqlStockRepository(conn)
        self.customers = SqlCustomerRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.access = SqlAccessRepository(conn)
        self.fulfilment = SqlFulfilmentRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        return self

    def commit(self) -> None:
        assert self._tx is not None
        try:
            self._tx.commit()
        except DBAPIError as e:
            if is_retryable(e):
                raise TransientConflict(str(e.orig)) from e
            raise
        for callback in self._on_commit:
            callback()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self._close()
        if isinstance(exc, DBAPIError) and is_retryable(exc):
            raise TransientConflict(str(exc.orig)) from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._gate is not None:
            self._gate.release()
            self._gate = None


def is_retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite reports lock timeouts as OperationalError without a SQLSTATE.
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class SqlAlchemyUnitOfWorkFactory:
    def __init__(
        self, engine: Engine, *, max_concurrent_writers: int | None, reference_ttl: float = 30.0
    ) -> None:
        self.engine = engine
        self.reference = ReferenceCache(reference_ttl)
        self._gate = threading.BoundedSemaphore(max_concurrent_writers) if max_concurrent_writers else None

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.reference, self._gate, read_only=read_only)
