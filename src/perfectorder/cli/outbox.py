"""The dispatcher and the operators' view of the outbox."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.bootstrap import Application, build_dispatcher
from perfectorder.cli.common import build_or_exit, console, run
from perfectorder.config import Settings
from perfectorder.services import delays, dispatch, housekeeping, promise_risk, transit, verdicts
from perfectorder.services.context import ServiceContext

outbox = typer.Typer(help="Messages waiting, delivered or dead.", no_args_is_help=True)


def worker(
    once: Annotated[bool, typer.Option(help="Send one round of due messages and stop")] = False,
    idle: Annotated[float, typer.Option(help="Seconds to wait when nothing is due")] = 0.5,
    name: Annotated[str | None, typer.Option(help="Worker name in the attempt records")] = None,
    refresh_every: Annotated[
        float,
        typer.Option(
            min=0.1,
            envvar="PERFECTORDER_REFRESH_SECONDS",
            help="Seconds between refreshes of the stored verdicts and rollups the reports read",
        ),
    ] = 10.0,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes, kept running by this one: all send messages, the first also "
            "runs the periodic jobs",
        ),
    ] = 1,
    messages_only: Annotated[
        bool, typer.Option(hidden=True, help="Send messages only (the other processes of --processes)")
    ] = False,
) -> None:
    """Send queued emails and webhooks (at least once, retried with backoff), scan for orders that
    can no longer keep their promise, learn the lanes' transit times and train the promise-risk
    model once a day, score the open orders every few minutes, and refresh the
    verdicts and rollups the reports read: a report shows a change after the next refresh. It also
    makes the coming months' partitions (PostgreSQL) and moves messages delivered more than
    PERFECTORDER_OUTBOX_RETENTION_DAYS ago to the archive. Several workers may run side by side on
    PostgreSQL."""
    if processes > 1:
        base = name or f"{socket.gethostname()}:{os.getpid()}"
        _supervise(
            [
                [
                    *_worker_command(),
                    "--idle",
                    str(idle),
                    "--refresh-every",
                    str(refresh_every),
                    "--name",
                    f"{base}-{i}",
                    *(("--messages-only",) if i else ()),
                ]
                for i in range(processes)
            ]
        )
        return
    application = build_or_exit(Settings.from_env)
    dispatcher = build_dispatcher(application, worker=name or f"{socket.gethostname()}:{os.getpid()}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if once:
            delays.scan_late_releases(application.services)
            delays.scan_overdue_deliveries(application.services)
            delays.tell_untold_slips(application.services)
            transit.learn_if_due(application.services)
            handled = dispatcher.run_once()
            done = dispatcher.outcomes
            console.print(
                f"handled {handled} message(s): {done['delivered']} delivered, {done['retrying']} failed "
                f"and will be retried, {done['dead']} given up"
            )
            if done["retrying"] or done["dead"]:
                console.print(f"last error: {dispatcher.last_error}", markup=False)
            console.print(f"refreshed {verdicts.refresh(application.services):,} verdict(s)")
            promise_risk.train_if_due(application.services)
            promise_risk.score_open(application.services)
            upkeep = housekeeping.keep_house(application.services)
            console.print(
                f"archived {upkeep.archived:,} delivered message(s); "
                f"partitions made: {', '.join(upkeep.partitions) or 'none'}"
            )
            for problem in upkeep.problems:
                console.print(f"partition not made: {problem}", markup=False)
            return
        console.print(f"worker {dispatcher.worker} running; Ctrl-C stops it")
        due = 0.0
        while not stop.is_set():
            if not messages_only and time.monotonic() >= due:
                # Reports never refresh: this is what makes a change show in them. Each job on its
                # own: one that fails (the database away, a bad store) is told and retried at the
                # next round, and never stops the messages below from going out.
                for job in (
                    delays.scan_late_releases,
                    delays.scan_overdue_deliveries,
                    delays.tell_untold_slips,
                    transit.learn_if_due,  # once a day
                    verdicts.refresh,
                    promise_risk.train_if_due,  # once a day
                    promise_risk.score_if_due,  # every few minutes
                    housekeeping.keep_house,
                ):
                    _survive(job, application)
                due = time.monotonic() + refresh_every
            if dispatcher.run_once() == 0:
                stop.wait(min(idle, max(due - time.monotonic(), 0.0)))
    finally:
        application.close()


RESTART_PAUSE = 1.0  # seconds before a worker process that died is started again, doubling
RESTART_PAUSE_MOST = 60.0  # for one that keeps dying soon after it starts
LIVED_LONG = 30.0  # seconds: a process that lived this long died of something new, not at start


def _worker_command() -> list[str]:
    return [sys.executable, "-c", "from perfectorder.cli.main import main; main()", "worker"]


def _die_with_parent() -> None:
    # In the child: if the supervisor is killed outright, its workers get SIGTERM instead of living
    # on beside the next supervisor's (two of them running the periodic jobs).
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, Linux
    except (OSError, AttributeError):
        pass


def _supervise(commands: list[list[str]]) -> None:
    """Runs one process per command and starts again any that dies (after a pause that doubles
    while it keeps dying soon after starting), until SIGTERM or Ctrl-C, which it passes on. Each
    process is a whole worker: what one held when it died (a claimed message) is taken over by
    another once its lease runs out, as after any crash. A process that exits 2 (a bad setting)
    stops them all: starting it again would fail the same way."""
    build_or_exit(Settings.from_env).close()  # a bad setting is told once, here, before any child
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running: list[subprocess.Popen[bytes] | None] = [None] * len(commands)
    started = [0.0] * len(commands)
    pause = [RESTART_PAUSE] * len(commands)
    due = [0.0] * len(commands)
    console.print(f"{len(commands)} worker processes; Ctrl-C stops them")
    failed = 0
    try:
        while not stop.is_set() and not failed:
            now = time.monotonic()
            for i, command in enumerate(commands):
                child = running[i]
                if child is not None and child.poll() is None:
                    continue
                if child is not None:
                    running[i] = None
                    if child.returncode == 2:
                        console.print(f"worker process {i} cannot start (exit 2): stopping all")
                        failed = 2
                        break
                    lived = now - started[i]
                    pause[i] = RESTART_PAUSE if lived >= LIVED_LONG else min(pause[i] * 2, RESTART_PAUSE_MOST)
                    due[i] = now + pause[i]
                    console.print(
                        f"worker process {i} ended with {child.returncode} after {lived:.0f} s; "
                        f"starting it again in {pause[i]:.0f} s"
                    )
                if now >= due[i]:
                    running[i] = subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: PLW1509
                    started[i] = now
            stop.wait(0.2)
    finally:
        alive = [c for c in running if c is not None and c.poll() is None]
        for child in alive:
            child.terminate()
        deadline = time.monotonic() + 30
        for child in alive:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if failed:
        raise typer.Exit(failed)


def _survive(job: Callable[[ServiceContext], object], application: Application) -> None:
    try:
        job(application.services)
    except Exception as e:  # noqa: BLE001 - the worker outlives any one job's failure
        console.print(f"{job.__module__.rsplit('.', 1)[-1]}.{job.__name__} failed: {e}", markup=False)


@outbox.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
) -> None:
    """The newest messages, with their attempts and last error."""
    table = Table("id", "kind", "what", "order", "to", "status", "attempts", "queued", "error")
    for m in run(lambda a: dispatch.outbox_listing(a.services, status=status, limit=limit)):
        table.add_row(
            str(m.id),
            m.kind,
            m.topic,
            str(m.order_id or ""),
            m.recipient,
            m.status,
            str(m.attempts),
            f"{m.created_at:%Y-%m-%d %H:%M:%S}",
            (m.last_error or "")[:60],
        )
    console.print(table)


@outbox.command("dead")
def outbox_dead(limit: Annotated[int, typer.Option(min=1, max=1000)] = 30) -> None:
    """Messages that failed too often and wait for an operator."""
    outbox_list(status="dead", limit=limit)


@outbox.command("retry")
def outbox_retry(outbox_id: Annotated[int, typer.Argument(help="Message id from `outbox dead`")]) -> None:
    """Send a dead message again (its attempts start from zero)."""
    if not run(lambda a: dispatch.retry_dead(a.services, outbox_id)):
        console.print(f"message {outbox_id} is not dead")
        raise typer.Exit(2)
    console.print(f"message {outbox_id} queued again")
