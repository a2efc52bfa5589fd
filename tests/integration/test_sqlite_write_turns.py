"""A writer that commits and begins again at once (the simulator filling the demo store) must not
starve another process's writer (the server beside it: a login, an API call) on SQLite."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from sqlalchemy import text

from perfectorder.adapters.db.engine import build_engine
from perfectorder.config import Settings


def _busy_writer(url: str, seconds: float, started: multiprocessing.synchronize.Event) -> None:
    engine = build_engine(Settings(database_url=url))
    end = time.monotonic() + seconds
    started.set()
    while time.monotonic() < end:
        with engine.begin() as conn:
            # Holds the lock for a quarter of a second, as a live simulation's batch does at most,
            # and begins again after a pause of a few milliseconds.
            hold = time.monotonic() + 0.25
            while time.monotonic() < hold:
                conn.execute(text("UPDATE counter SET n = n + 1"))
        time.sleep(0.003)


def test_a_second_writer_gets_its_turn_while_another_keeps_committing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    engine = build_engine(Settings(database_url=url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
        conn.execute(text("CREATE TABLE logins (at REAL)"))
    started = multiprocessing.get_context("spawn").Event()
    busy = multiprocessing.get_context("spawn").Process(target=_busy_writer, args=(url, 20.0, started))
    busy.start()
    try:
        assert started.wait(30)
        time.sleep(0.5)
        waits = []
        for _ in range(6):
            begun = time.monotonic()
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO logins VALUES (:at)"), {"at": begun})
            waits.append(time.monotonic() - begun)
            time.sleep(0.37)  # a fresh contest each time, not right after our own commit
        # Each got in at one of the other's commits (every ~0.25 s), long before the busy writer
        # stopped (SQLite's own handler, sleeping up to 100 ms between tries, missed the gaps
        # and waited until the other stopped).
        assert busy.is_alive()
        assert max(waits) < 2, waits
    finally:
        busy.terminate()
        busy.join(10)
