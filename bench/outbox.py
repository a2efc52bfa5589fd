"""Outbox drain benchmark on PostgreSQL: webhook messages per second with 1 and 2 dispatchers.

Run:    .venv/bin/python bench/outbox.py                        (about 2.5 minutes on a quiet machine)
        .venv/bin/python bench/outbox.py --messages 2000        (a quick look)
        .venv/bin/python bench/outbox.py --modes process --workers 1,2,4

Needs PostgreSQL at --pg (trust auth); it creates and drops only the database po_bench_outbox.

What it does: a webhook receiver runs in its own process (HTTP/1.1 keep-alive, answers 204 at
once, counts requests and distinct webhook-ids). For every measurement the outbox is emptied, the
workers are started and left idle until ready, then --messages webhook rows are queued in one
transaction and the clock runs from that commit until the last row is recorded as delivered.
Workers are either `perfectorder worker` processes (as operators run them; no shared GIL) or
Dispatcher threads inside this process (one Application, so they share a GIL and a pool).

How to read it: the machine is small (2 cores) and shared with PostgreSQL, the receiver and
whatever else runs, so absolute msgs/s move from run to run; "x 1 worker" is each row's
throughput over the first --workers row of the same mode, measured in the same run. "CPU ms/msg"
is the CPU the worker processes (thread mode: this whole process) spent per message, and
"host idle" the share of the machine's CPU nobody used while draining: when it is near 0% the
workers are CPU-bound and a second worker can only win what the first left idle. "resent" is
receiver requests beyond one per message (0 here: nothing fails or crashes); "split" is how many
messages each worker delivered.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.webhooks import new_secret
from perfectorder.bootstrap import Application, build, build_dispatcher
from perfectorder.config import Settings
from perfectorder.services import dispatch
from perfectorder.services.context import run_transaction
from perfectorder.services.outbox_ports import NewMessage

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "po_bench_outbox"
IDLE_SECONDS = 0.05
DRAIN_TIMEOUT = 300.0
# The receiver listens on loopback, which webhooks refuse unless the operator allows it.
LOCAL_RECEIVER = "127.0.0.1"

console = Console(width=None if sys.stdout.isatty() else 120)


@dataclass(frozen=True)
class Options:
    pg: str
    messages: int
    workers: tuple[int, ...]
    modes: tuple[str, ...]
    keep: bool


@dataclass(frozen=True)
class Result:
    mode: str
    workers: int
    messages: int
    seconds: float
    resent: int
    split: tuple[int, ...]
    worker_cpu_ms: float | None  # worker CPU per message (thread mode: this whole process)
    host_idle: float | None  # share of the machine's CPU left idle while draining

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def parse_options(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no database")
    p.add_argument("--messages", type=int, default=10_000, help="webhook messages per measurement")
    p.add_argument("--workers", default="1,2", help="worker counts to measure; the first is the baseline")
    p.add_argument("--modes", default="process,thread", help="process (perfectorder worker), thread")
    p.add_argument("--keep", action="store_true", help="keep po_bench_outbox afterwards")
    a = p.parse_args(argv)
    modes = tuple(m.strip() for m in a.modes.split(",") if m.strip())
    if not set(modes) <= {"process", "thread"}:
        p.error("--modes takes process, thread or both")
    return Options(
        pg=a.pg.rstrip("/"),
        messages=a.messages,
        workers=tuple(int(n) for n in a.workers.split(",")),
        modes=modes,
        keep=a.keep,
    )


# --- the receiver, in its own process ----------------------------------------------------------


def serve_receiver(port: int) -> None:
    """Answers every POST with 204 and keeps the connection; GET /stats tells what it saw."""
    lock = threading.Lock()
    seen: set[str] = set()
    counts = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                counts["requests"] += 1
                seen.add(self.headers.get("webhook-id", ""))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with lock:
                body = json.dumps({"requests": counts["requests"], "unique": len(seen)}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def receiver_stats(url: str) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(url.rsplit("/", 1)[0] + "/stats", timeout=5).json()
    return stats


@contextmanager
def receiver_process() -> Iterator[str]:
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(target=serve_receiver, args=(port,), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}/hooks"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                receiver_stats(url)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or not process.is_alive():
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.join(5)


# --- the database ------------------------------------------------------------------------------


def admin(opts: Options, sql: str) -> None:
    with psycopg.connect(f"{opts.pg}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_database(opts: Options) -> Iterator[str]:
    assert BENCH_DB.startswith("po_bench_")  # never anybody else's database
    admin(opts, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin(opts, f"CREATE DATABASE {BENCH_DB}")
    try:
        yield f"{opts.pg}/{BENCH_DB}"
    finally:
        if not opts.keep:
            admin(opts, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def empty_outbox(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE outbox_attempts, outbox RESTART IDENTITY")
        conn.execute("UPDATE webhook_subscriptions SET consecutive_failures = 0, active = true")
        conn.execute("CHECKPOINT")


def queue_webhooks(application: Application, subscription_id: int, url: str, count: int) -> None:
    now = datetime.now(UTC)
    messages = [
        NewMessage(
            str(uuid.uuid4()),
            "webhook",
            "order.placed",
            None,
            {"order_id": n, "event": "order.placed"},
            now,
            recipient=url,
            subscription_id=subscription_id,
        )
        for n in range(count)
    ]
    run_transaction(application.services, lambda uow: uow.outbox.enqueue(messages))


def wait_drained(url: str, count: int, crew: Running) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            if not crew.alive():
                raise RuntimeError("a worker died while draining")
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'delivered'),"
                " count(*) FILTER (WHERE status = 'dead') FROM outbox"
            ).fetchone()
            assert row is not None
            delivered, dead = row
            if dead:
                raise RuntimeError(f"{dead} message(s) went dead")
            if delivered >= count:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {delivered} of {count} delivered after {DRAIN_TIMEOUT} s")
            time.sleep(0.02)


def deliveries_per_worker(url: str) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT worker, count(*) FROM outbox_attempts WHERE ok GROUP BY worker ORDER BY worker"
        ).fetchall()
    return tuple(n for _, n in rows)


# --- the workers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Running:
    pids: list[int]  # whose CPU is the workers'
    alive: Callable[[], bool]  # False once any worker has stopped


@contextmanager
def worker_processes(url: str, count: int) -> Iterator[Running]:
    """`perfectorder worker` processes, returned once each has said it is running."""
    env = {**os.environ, "PERFECTORDER_DATABASE_URL": url, "PERFECTORDER_WEBHOOK_ALLOW": LOCAL_RECEIVER}
    logs: list[IO[str]] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            log = tempfile.TemporaryFile(mode="w+")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from perfectorder.cli.main import app; app()", "worker"]
                    + ["--idle", str(IDLE_SECONDS), "--name", f"process-{n}"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
        for process, log in zip(processes, logs, strict=True):
            wait_ready(process, log)
        yield Running([p.pid for p in processes], lambda: all(p.poll() is None for p in processes))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def wait_ready(process: subprocess.Popen[bytes], log: IO[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        output = log.read()
        if "running" in output:
            return
        if process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode}:\n{output}")
        time.sleep(0.05)
    raise RuntimeError("worker did not start within 30 s")


@contextmanager
def worker_threads(application: Application, count: int) -> Iterator[Running]:
    """Dispatcher threads in this process, sharing one Application (their CPU is this process's)."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=build_dispatcher(application, worker=f"thread-{n}").run_forever,
            args=(stop,),
            kwargs={"idle_seconds": IDLE_SECONDS},
            daemon=True,
        )
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield Running([os.getpid()], lambda: all(t.is_alive() for t in threads))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


# --- CPU, from /proc (Linux; elsewhere the CPU columns say "-") --------------------------------


def cpu_seconds(pids: Sequence[int]) -> float | None:
    """User + system CPU the processes have used so far."""
    try:
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def host_cpu() -> tuple[int, int] | None:
    """(idle, total) jiffies of the whole machine so far."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait
    except (OSError, ValueError, IndexError):
        return None


# --- measuring ---------------------------------------------------------------------------------


def measure(
    application: Application, url: str, hook_url: str, subscription_id: int, mode: str, workers: int, n: int
) -> Result:
    empty_outbox(url)
    before = receiver_stats(hook_url)
    running = worker_processes(url, workers) if mode == "process" else worker_threads(application, workers)
    with running as crew:
        queue_webhooks(application, subscription_id, hook_url, n)
        started, cpu_before, host_before = time.perf_counter(), cpu_seconds(crew.pids), host_cpu()
        wait_drained(url, n, crew)
        seconds = time.perf_counter() - started
        cpu_after, host_after = cpu_seconds(crew.pids), host_cpu()
    after = receiver_stats(hook_url)
    requests, unique = after["requests"] - before["requests"], after["unique"] - before["unique"]
    if unique != n:
        raise RuntimeError(f"the receiver saw {unique} distinct messages, expected {n}")
    cpu_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / n
    idle = None
    if host_before is not None and host_after is not None:
        idle = (host_after[0] - host_before[0]) / max(1, host_after[1] - host_before[1])
    return Result(mode, workers, n, seconds, requests - unique, deliveries_per_worker(url), cpu_ms, idle)


def report(results: Sequence[Result], opts: Options) -> None:
    base_label = "x 1 worker" if opts.workers[0] == 1 else f"x {opts.workers[0]} workers"
    columns = ["mode", "workers", "messages", "seconds", "msgs/s", base_label]
    columns += ["resent", "split", "CPU ms/msg", "host idle"]
    table = Table(*columns, title=f"Outbox drain, {opts.messages} webhooks each, PostgreSQL")
    for r in results:
        base = next(b for b in results if b.mode == r.mode and b.workers == opts.workers[0])
        table.add_row(
            r.mode,
            str(r.workers),
            str(r.messages),
            f"{r.seconds:.1f}",
            f"{r.rate:.0f}",
            f"{r.rate / base.rate:.2f}",
            str(r.resent),
            " / ".join(str(s) for s in r.split),
            "-" if r.worker_cpu_ms is None else f"{r.worker_cpu_ms:.2f}",
            "-" if r.host_idle is None else f"{r.host_idle:.0%}",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse_options(argv)
    results: list[Result] = []
    with bench_database(opts) as url, receiver_process() as hook_url:
        application = build(Settings(database_url=url, webhook_allow=(LOCAL_RECEIVER,)))
        try:
            upgrade(application.engine)
            subscription_id = dispatch.subscribe(
                application.services, url=hook_url, event_types=["*"], secret=new_secret()
            )
            for mode in opts.modes:
                for workers in opts.workers:
                    console.print(f"[dim]{mode} x {workers}: draining {opts.messages} messages...[/dim]")
                    results.append(
                        measure(application, url, hook_url, subscription_id, mode, workers, opts.messages)
                    )
        finally:
            application.close()
    report(results, opts)


if __name__ == "__main__":
    main()
