"""Reads that may lag a moment (reports, dashboard pages, the order board) served by a PostgreSQL
streaming replica, so they take no CPU or I/O from the primary that captures orders.

Only read-only units of work go there; a write asked of this factory goes to the primary, so a
use case that reads and then writes through it still writes where writes belong. When the replica
cannot be reached, the reads go to the primary instead (a report is better a moment fresher than
not there), and the replica is tried again after `retry_seconds`, not on every request: a refused
connection is quick, a host that does not answer costs the connect timeout each time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import text

from perfectorder.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory
from perfectorder.domain.errors import Unavailable

log = logging.getLogger(__name__)

# What the replica holds is as of the primary's last commit it has replayed; when it streams from
# the primary and has replayed all it received, it is as of now (an idle primary sends nothing new,
# and its last commit may be old). A standby that lost its primary has replayed all it received too,
# so "streaming" is asked as well.
_AS_OF = text(
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') "
    "AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() "
    "THEN now() ELSE pg_last_xact_replay_timestamp() END"
)


class ReplicaFirst:
    """A unit-of-work factory: read-only work on the replica while it answers, else on the primary."""

    def __init__(
        self,
        replica: SqlAlchemyUnitOfWorkFactory,
        primary: SqlAlchemyUnitOfWorkFactory,
        *,
        retry_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replica, self.primary = replica, primary
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._down_until = 0.0  # 0: the replica answers
        self._probing = False  # one caller is trying a replica that failed
        self._lock = threading.Lock()

    def __call__(self, *, read_only: bool = False) -> Any:
        if not read_only:
            return self.primary(read_only=False)
        return _EitherUnitOfWork(self)

    def try_replica(self) -> bool:
        """Whether to use the replica now. After a failure, once `retry_seconds` have passed, one
        caller at a time tries it again while the others keep to the primary: a host that does not
        answer costs the connect timeout to that one caller, not to every request at that moment."""
        with self._lock:
            if self._monotonic() >= self._down_until and not self._probing:
                if self._down_until:
                    self._probing = True
                return True
            return False

    def replica_answered(self) -> None:
        with self._lock:
            self._down_until, self._probing = 0.0, False

    def replica_failed(self) -> None:
        with self._lock:
            if not self._down_until:
                log.warning("read replica unreachable: reads go to the primary for %ss", self._retry_seconds)
            self._down_until = self._monotonic() + self._retry_seconds
            self._probing = False

    def freshness(self) -> tuple[str, datetime]:
        """Where reads are served just now ("replica" or "primary") and as of when their data is."""
        if self.try_replica():
            try:
                with self.replica.engine.connect() as conn:
                    at = conn.execute(_AS_OF).scalar_one()
            except Exception:  # noqa: BLE001 - any failure to ask is a replica not to be used now
                self.replica_failed()
            else:
                self.replica_answered()
                if at is not None:
                    return "replica", at.astimezone(UTC)
        return "primary", datetime.now(UTC)


class _EitherUnitOfWork:
    """Enters the replica's unit of work, or the primary's when the replica cannot be reached; the
    caller works with whichever was entered."""

    def __init__(self, factory: ReplicaFirst) -> None:
        self._factory = factory
        self._inner: SqlAlchemyUnitOfWork | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._factory.try_replica():
            replica = self._factory.replica(read_only=True)
            try:
                entered = replica.__enter__()
            except Unavailable:
                self._factory.replica_failed()
            else:
                self._factory.replica_answered()
                self._inner = replica
                return entered
        primary = self._factory.primary(read_only=True)
        entered = primary.__enter__()
        self._inner = primary
        return entered

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._inner is not None
        self._inner.__exit__(exc_type, exc, tb)
