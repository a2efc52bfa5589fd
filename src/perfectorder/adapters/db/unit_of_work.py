"""One unit of work = one database transaction, with a gate that bounds concurrent writers."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from perfectorder.adapters.db.reference import ReferenceCache
from perfectorder.adapters.db.repositories.access import AuditLog, SqlAccessRepository, add_audit_row
from perfectorder.adapters.db.repositories.board import SqlBoardQueries
from perfectorder.adapters.db.repositories.catalog import SqlProductRepository, SqlWarehouseRepository
from perfectorder.adapters.db.repositories.customers import SqlCustomerRepository
from perfectorder.adapters.db.repositories.fulfilment import SqlFulfilmentRepository
from perfectorder.adapters.db.repositories.history import SqlHistoryRepository
from perfectorder.adapters.db.repositories.idempotency import SqlIdempotencyRepository
from perfectorder.adapters.db.repositories.jobs import SqlJobRepository, SqlSecretRepository
from perfectorder.adapters.db.repositories.lost_demand import SqlLostDemandRepository
from perfectorder.adapters.db.repositories.loyalty import SqlLoyaltyRepository
from perfectorder.adapters.db.repositories.orders import SqlOrderRepository
from perfectorder.adapters.db.repositories.outbox import SqlOutboxRepository
from perfectorder.adapters.db.repositories.payments import SqlPaymentRepository
from perfectorder.adapters.db.repositories.promise_risk import SqlPromiseRiskRepository
from perfectorder.adapters.db.repositories.purchasing import SqlPurchasingRepository
from perfectorder.adapters.db.repositories.replenishment import SqlReplenishmentReads
from perfectorder.adapters.db.repositories.stock import SqlStockRepository
from perfectorder.adapters.db.repositories.storage import SqlStorage
from perfectorder.adapters.db.repositories.transit import SqlTransitRepository
from perfectorder.adapters.db.repositories.verdicts import SqlVerdictRepository
from perfectorder.domain.errors import DeadlineExceeded, InvalidInput, Unavailable
from perfectorder.services.call import current_call
from perfectorder.services.ports import TransientConflict

# SQLSTATEs that mean "you lost a race, the same transaction may well succeed if run again".
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class FairGate:
    """A bounded counting semaphore that admits waiters first come, first served.

    `threading.Semaphore` is not fair: a thread that releases and at once acquires again usually wins
    against threads that have been waiting, so under load a few clients get all the slots and the
    others starve. Here a release hands its slot straight to the longest waiter, and an acquire that
    finds anybody waiting queues behind them even when a slot looks free.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self._free = slots
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def acquire(self, timeout: float | None = None) -> bool:
        """Waits for a slot, at most `timeout` seconds when given; False when the time ran out."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            # A lock held by nobody but released by whoever hands us a slot: cheaper than an Event.
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        try:
            if waiter.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
                return True
        except BaseException:
            # Interrupted while waiting (KeyboardInterrupt in the main thread): leave the queue, or pass
            # on the slot if it was handed to us in the meantime.
            if self._leave(waiter):
                self.release()
            raise
        return self._leave(waiter)

    def _leave(self, waiter: threading.Lock) -> bool:
        """Leaves the queue; True when a slot was handed to us meanwhile (then we hold it)."""
        with self._lock:
            try:
                self._waiters.remove(waiter)
                return False
            except ValueError:
                return True

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # the slot goes to the longest waiter, not back to the pool
            elif self._free >= self.slots:
                raise ValueError("gate released more often than acquired")
            else:
                self._free += 1

    def __enter__(self) -> FairGate:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class SqlAlchemyUnitOfWork:
    def __init__(
        self,
        engine: Engine,
        cache: ReferenceCache,
        gate: FairGate | None,
        *,
        read_only: bool,
        audit_log: AuditLog | None = None,
    ) -> None:
        self._engine = engine
        self._cache = cache
        self._audit_log = audit_log
        self._gate = gate if not read_only else None
        self._read_only = read_only
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._on_commit: list[Callable[[], Any]] = []

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        call = current_call.get()
        if call is not None:
            call.check()
        if self._gate is not None:
            if not self._gate.acquire(timeout=call.remaining() if call is not None else None):
                self._gate = None  # not held, so not to be released
                assert call is not None
                raise DeadlineExceeded(call.timeout)
        try:
            try:
                conn = self._engine.connect()
            except DBAPIError as e:
                raise _translated(e) from e
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
        self.payments = SqlPaymentRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.access = SqlAccessRepository(conn, self._audit_log)
        self.fulfilment = SqlFulfilmentRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.history = SqlHistoryRepository(conn)
        self.verdicts = SqlVerdictRepository(conn)
        self.loyalty = SqlLoyaltyRepository(conn)
        self.transit = SqlTransitRepository(conn, self._cache, self._on_commit)
        self.promise_risk = SqlPromiseRiskRepository(conn)
        self.lost_demand = SqlLostDemandRepository(conn)
        self.replenishment = SqlReplenishmentReads(conn)
        self.purchasing = SqlPurchasingRepository(conn)
        self.board = SqlBoardQueries(conn)
        self.jobs = SqlJobRepository(conn)
        self.secrets = SqlSecretRepository(conn)
        self.storage = SqlStorage(conn)
        return self

    def commit(self) -> None:
        assert self._tx is not None and self._conn is not None
        call = current_call.get()
        audit_row = None
        if call is not None and not self._read_only:
            # Past the deadline the caller has been told the request timed out: do not apply it now.
            call.check()
            if call.describe is not None and call.audit_row is None:
                # The call's audit row commits with its first change, so no change is ever
                # acknowledged without one (the middleware records calls that changed nothing).
                entry = call.describe()
                audit_row = add_audit_row(self._conn, entry), entry.status_code
        try:
            self._tx.commit()
        except DBAPIError as e:
            raise _translated(e) from e
        if call is not None and audit_row is not None:
            call.audit_row, call.audited_status = audit_row
        for callback in self._on_commit:
            callback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        # Plain SQL rather than Connection.begin_nested(): a batch runs one of these per use case,
        # and SQLAlchemy's nested-transaction bookkeeping cost more than the use case's own writes.
        conn = self._conn
        assert conn is not None
        conn.exec_driver_sql("SAVEPOINT perfectorder_step")
        try:
            yield
        except BaseException:
            self.verdicts.forget_queued()
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT perfectorder_step")
            conn.exec_driver_sql("RELEASE SAVEPOINT perfectorder_step")
            raise
        conn.exec_driver_sql("RELEASE SAVEPOINT perfectorder_step")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self._close()
        if isinstance(exc, OverflowError):
            # SQLite's driver refuses an integer beyond 64 bits before it reaches the database.
            raise out_of_range() from exc
        if isinstance(exc, DBAPIError):
            translated = _translated(exc)
            if translated is not exc:
                raise translated from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._gate is not None:
            self._gate.release()
            self._gate = None


def _translated(error: DBAPIError) -> Exception:
    """A lost race becomes TransientConflict (run again); a database that cannot be reached becomes
    Unavailable (503); anything else stays what it is, a bug to see."""
    if is_retryable(error):
        return TransientConflict(str(error.orig))
    if getattr(error.orig, "sqlstate", None) == "22003":
        return out_of_range()
    if is_unreachable(error):
        return Unavailable()
    return error


# Connection exceptions (class 08), the server shutting down or refusing connections for now, too
# many connections: the database is not there for us, which a retry a little later may change.
# A statement cancelled by statement_timeout (57014) is a database too slow to answer now.
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "57014")
SQLITE_UNREACHABLE = ("unable to open database", "disk i/o error", "database disk image is malformed")


def is_unreachable(error: DBAPIError) -> bool:
    """True when the database cannot be reached, as opposed to refusing this statement (a missing
    table, a bad value: those are bugs to see, not outages to wait out)."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate: str | None = getattr(error.orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(UNREACHABLE_SQLSTATES)
    if type(error.orig).__module__.startswith("sqlite3"):
        return str(error.orig).lower().startswith(SQLITE_UNREACHABLE)
    # psycopg reports a refused, timed-out or closed connection without a SQLSTATE.
    return True


class SqlAlchemyFailures:
    """The errors a lost database raises through SQLAlchemy, for the API's one handler."""

    types: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

    def is_unreachable(self, error: Exception) -> bool:
        return isinstance(error, (OperationalError, InterfaceError)) and is_unreachable(error)


def out_of_range() -> InvalidInput:
    return InvalidInput("out_of_range", "a number in the request is beyond what can be stored; check the ids")


def is_retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite reports lock timeouts as OperationalError without a SQLSTATE.
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class SqlAlchemyUnitOfWorkFactory:
    def __init__(
        self, engine: Engine, *, max_concurrent_writers: int | None, reference_ttl: float = 300.0
    ) -> None:
        self.engine = engine
        self.reference = ReferenceCache(reference_ttl)
        # Writers admitted to the database at once: beyond this, requests queue here, in arrival order,
        # instead of in PostgreSQL's lock queue, where a hot SKU makes throughput collapse.
        self._gate = FairGate(max_concurrent_writers) if max_concurrent_writers else None
        # The HTTP audit trail, written in batches outside the gate (see AuditLog).
        self.audit_log = AuditLog(engine)

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self.engine, self.reference, self._gate, read_only=read_only, audit_log=self.audit_log
        )
