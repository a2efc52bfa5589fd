"""What the entry points (API, CLI, dashboard, simulator) need from the outside world beyond the use
cases: bootstrap builds the implementations, so no entry point imports an adapter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from perfectorder.services.ports import Amendment, AuditEntry


class RateLimiter(Protocol):
    @property
    def blocking(self) -> bool:
        """True when `take` waits on I/O, so it must not run on the event loop."""
        ...

    def take(self, key: str) -> float | None:
        """None when allowed, else the seconds to wait."""
        ...


class AuditSink(Protocol):
    @property
    def blocking(self) -> bool:
        """True when `record` writes before it returns (then it runs in a worker thread)."""
        ...

    @property
    def pending(self) -> int:
        """Entries accepted and not yet written."""
        ...

    def record(self, item: AuditEntry | Amendment) -> None: ...

    def flush(self) -> object: ...


class Migrator(Protocol):
    def upgrade(self, revision: str = "head") -> None: ...

    def current(self) -> str | None: ...

    def head(self) -> str | None: ...

    def readiness(self) -> tuple[str | None, str | None]:
        """(current, head) after a round trip to the database; `Unavailable` when it cannot be reached."""
        ...


class DatabaseFailures(Protocol):
    """The driver's own errors, for the one handler that turns them into an answer."""

    @property
    def types(self) -> tuple[type[Exception], ...]: ...

    def is_unreachable(self, error: Exception) -> bool:
        """True for an outage to wait out (503); False for a refused statement, a bug to see (500)."""
        ...


class FileStore(Protocol):
    """Merchants' files: TOML mappings and scenarios, CSV orders in, CSV rejects out."""

    def read_toml(self, path: Path) -> dict[str, Any]: ...

    def header(self, path: Path, *, encoding: str, delimiter: str) -> list[str]: ...

    def rows(
        self, path: Path, *, encoding: str, delimiter: str
    ) -> Iterator[tuple[int, dict[str, str | None]]]: ...

    def write_rejects(self, path: Path, rejects: Sequence[Any], columns: Sequence[str]) -> None: ...


class SettableClock(Protocol):
    """A clock the simulator moves itself."""

    def now(self) -> datetime: ...

    def set(self, moment: datetime) -> None: ...
