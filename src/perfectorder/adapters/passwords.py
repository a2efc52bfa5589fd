"""Password hashing with argon2id (a maintained library, its recommended parameters), and a gate
that bounds how many hashes run at once."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from perfectorder.domain.errors import Busy
from perfectorder.services.ports import PasswordHasher


class Argon2PasswordHasher:
    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = Argon2(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class BoundedPasswordHasher:
    """At most `slots` hashes at once, because each argon2 hash holds its memory cost (64 MiB by
    default) while it runs: a burst of logins would otherwise grow the process by that much per
    request and starve every other route of CPU. A caller waits at most `wait_seconds` for a slot,
    and at most `max_waiting` callers wait at all; beyond either, `Busy` (503 with Retry-After), so
    the queue of waiting requests stays bounded too."""

    def __init__(self, inner: PasswordHasher, *, slots: int, wait_seconds: float, max_waiting: int) -> None:
        self.inner = inner
        self._slots = threading.BoundedSemaphore(max(slots, 1))
        self._wait = wait_seconds
        self._max_waiting = max_waiting
        self._waiting = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        self._enter()
        try:
            return self.inner.hash(password)
        finally:
            self._slots.release()

    def verify(self, password_hash: str, password: str) -> bool:
        self._enter()
        try:
            return self.inner.verify(password_hash, password)
        finally:
            self._slots.release()

    def _enter(self) -> None:
        if self._slots.acquire(blocking=False):
            return
        with self._lock:
            if self._waiting >= self._max_waiting:
                raise _busy(self._wait)
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=self._wait)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise _busy(self._wait)


def _busy(wait: float) -> Busy:
    message = "the server is checking many passwords just now; retry in a moment"
    return Busy("login_busy", message, retry_after=wait)
