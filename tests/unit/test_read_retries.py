"""A read cancelled under us (a streaming replica replaying what conflicts with it, SQLSTATE 40001)
is read again; one that keeps being cancelled is a 503 to try later, never a 500."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.domain.errors import Unavailable
from perfectorder.services.context import ServiceContext, read, reading
from perfectorder.services.ports import TransientConflict


class Cancelling:
    """A unit-of-work factory whose first `cancel` reads are cancelled."""

    def __init__(self, cancel: int) -> None:
        self.cancel, self.opened = cancel, 0

    @contextmanager
    def __call__(self, *, read_only: bool = False):
        self.opened += 1
        yield self
        if self.opened <= self.cancel:
            raise TransientConflict("canceling statement due to conflict with recovery")


def context(factory: Cancelling) -> ServiceContext:
    return ServiceContext(
        uow=factory, clock=SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC)), retry_attempts=4
    )  # type: ignore[arg-type]


def test_a_cancelled_read_is_read_again():
    factory = Cancelling(cancel=2)
    assert read(context(factory), lambda uow: "figures") == "figures"
    assert factory.opened == 3


def test_a_read_cancelled_every_time_is_unavailable_not_a_bug():
    factory = Cancelling(cancel=99)
    with pytest.raises(Unavailable):
        read(context(factory), lambda uow: "figures")
    assert factory.opened == 4


def test_a_page_cancelled_midway_is_unavailable():
    with pytest.raises(Unavailable), reading(context(Cancelling(cancel=1))):
        pass
