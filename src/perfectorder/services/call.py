"""The call a unit of work serves, when an entry point says so: its deadline and its audit row.

An entry point (the HTTP middleware) sets it; the database adapter reads it, in whichever thread the
use case runs, because context variables follow the call into its worker thread. Use cases never see
it: a deadline and an audit row are guarantees every change gets, not steps each one must remember.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from perfectorder.domain.errors import DeadlineExceeded
from perfectorder.services.ports import AuditEntry


@dataclass(slots=True)
class Call:
    # Describes the call for the audit log; None when the call is not audited (reads, jobs).
    describe: Callable[[], AuditEntry] | None = None
    # time.monotonic() after which no new work starts and nothing more commits; None: no deadline.
    deadline: float | None = None
    timeout: float = 0.0
    # The audit row a committed transaction of this call wrote, and the status it recorded.
    audit_row: int | None = None
    audited_status: int | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Refuses to start or commit work once the caller has been answered that it timed out."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(self.timeout)


current_call: ContextVar[Call | None] = ContextVar("perfectorder_call", default=None)
