"""The login throttle's arithmetic and the hashing gate, without a database or a server."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from perfectorder.adapters import ratelimit
from perfectorder.adapters.passwords import BoundedPasswordHasher
from perfectorder.adapters.ratelimit import MemoryRateLimiter
from perfectorder.domain.errors import Busy
from perfectorder.services.login import LoginPolicy, throttle_wait
from perfectorder.services.ports import LoginFailure

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = LoginPolicy(failures_per_name_and_client=3, failures_per_name=5, window=timedelta(minutes=10))


def failures(*spec: tuple[str, int]) -> list[LoginFailure]:
    """(client, minutes before noon), given oldest first."""
    return [LoginFailure(client, NOON - timedelta(minutes=ago)) for client, ago in spec]


def test_below_both_limits_nobody_waits():
    seen = failures(("10.0.0.1", 9), ("10.0.0.1", 8), ("10.0.0.2", 1))
    assert throttle_wait(seen, client="10.0.0.1", now=NOON, policy=POLICY) is None


def test_at_the_per_address_limit_the_wait_ends_when_the_oldest_counted_failure_leaves_the_window():
    seen = failures(("10.0.0.1", 9), ("10.0.0.1", 4), ("10.0.0.1", 2))
    assert throttle_wait(seen, client="10.0.0.1", now=NOON, policy=POLICY) == 60.0
    assert throttle_wait(seen, client="10.0.0.9", now=NOON, policy=POLICY) is None


def test_the_per_name_limit_counts_every_address():
    seen = failures(*[(f"10.0.0.{i}", 9 - i) for i in range(5)])
    assert throttle_wait(seen, client="10.0.0.77", now=NOON, policy=POLICY) == 60.0


class SlowHasher:
    def __init__(self, hold: float) -> None:
        self.hold = hold

    def hash(self, password: str) -> str:
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        time.sleep(self.hold)
        return password_hash == password


def test_past_the_waiting_queue_a_verification_is_refused_at_once():
    gate = BoundedPasswordHasher(SlowHasher(0.5), slots=1, wait_seconds=5, max_waiting=0)
    holder = threading.Thread(target=gate.verify, args=("x", "x"))
    holder.start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(Busy) as refused:
        gate.verify("x", "x")
    assert time.monotonic() - started < 0.3  # refused at once, not after the five-second wait
    assert refused.value.code == "login_busy" and refused.value.details["retry_after_seconds"] >= 1
    holder.join()
    assert gate.verify("x", "x") is True  # the slot came back


def test_a_memory_limiter_forgets_full_buckets_once_it_holds_too_many_keys(monkeypatch):
    monkeypatch.setattr(MemoryRateLimiter, "MAX_KEYS", 100)
    # A clock that moves 10 ms a call: every bucket is full again by the next call, whatever the
    # machine's speed (on the real clock a loaded machine kept a few buckets not yet refilled).
    ticks = itertools.count()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: next(ticks) / 100))
    limiter = MemoryRateLimiter(rate_per_second=1000, burst=2)
    for i in range(1000):
        limiter.take(f"client-{i}")
    assert len(limiter._buckets) <= 100
    monkeypatch.undo()
    drained = MemoryRateLimiter(rate_per_second=0.001, burst=1)
    monkeypatch.setattr(drained, "MAX_KEYS", 2)
    drained.take("a")
    drained.take("b")
    drained.take("c")
    assert drained.take("a") is not None  # a bucket still in use is never forgotten
