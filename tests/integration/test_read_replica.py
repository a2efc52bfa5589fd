"""Reports from a real streaming replica: a private PostgreSQL cluster is started with a standby
built by pg_basebackup and streaming from it. The reports served from the replica equal the
primary's once it has caught up; while its replay is paused they are the replica's older figures,
and say so (Read-Source, Read-As-Of); with the replica stopped, the same reports come from the
primary. Writes never go to the replica."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.api.app import create_app
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from perfectorder.services import verdicts
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import scenario_from_dict
from tests.conftest import api_key, in_ci
from tests.factories import order_payload

pytestmark = pytest.mark.postgres

START = date(2026, 3, 2)
STORE = {"seed": 3, "start": START, "days": 4, "orders_per_day": 20, "products": 12, "customers": 200}
REPORTS = (
    "/api/v1/metrics/perfect-order",
    "/api/v1/metrics/kpis",
    "/api/v1/metrics/improvements",
)
PERIOD = {"from": str(START), "to": str(START + timedelta(days=30))}


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A private primary and its streaming standby, run as the postgres user when we are root
    (PostgreSQL refuses to run as root)."""

    bindir: Path
    root: Path
    primary_port: int
    replica_port: int

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self, name: str, port: int) -> None:
        data = self.root / name
        self.run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.root / f"{name}.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self, name: str) -> None:
        self.run("pg_ctl", "-D", str(self.root / name), "-m", "fast", "-w", "stop")

    def url(self, port: int, database: str = "perfectorder") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def admin(self, port: int) -> psycopg.Connection:
        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True)

    def caught_up(self) -> None:
        with self.admin(self.primary_port) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + 60
        with self.admin(self.replica_port) as replica:
            while time.monotonic() < deadline:
                behind = replica.execute(
                    "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()) > 0", (target,)
                ).fetchone()[0]
                if not behind:
                    return
                time.sleep(0.1)
        raise AssertionError("the replica did not catch up within a minute")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        if in_ci():
            pytest.fail(
                "PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are needed under CI=true"
            )
        pytest.skip("PostgreSQL's server programs are not installed")
    root = tmp_path_factory.mktemp("replica")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        for parent in root.parents:  # the postgres user must reach its data directories
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
    made = Cluster(bindir, root, _free_port(), _free_port())
    made.run("initdb", "-D", str(root / "primary"), "-U", "postgres", "--auth=trust", "--no-sync")
    with (root / "primary" / "postgresql.conf").open("a") as conf:
        conf.write("wal_level = replica\nmax_wal_senders = 4\nfsync = off\nhot_standby = on\n")
    made.start("primary", made.primary_port)
    try:
        with made.admin(made.primary_port) as conn:
            conn.execute("CREATE DATABASE perfectorder")
        made.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(made.primary_port),
            "-U",
            "postgres",
            "-D",
            str(root / "replica"),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",  # checkpoint now: a spread one waits minutes
        )
        made.start("replica", made.replica_port)
        try:
            yield made
        finally:
            try:
                made.stop("replica")
            except subprocess.CalledProcessError:
                pass  # stopped by the test already
    finally:
        made.stop("primary")


def answers(client: TestClient) -> dict[str, object]:
    out = {}
    for path in REPORTS:
        got = client.get(path, params=PERIOD)
        assert got.status_code == 200, (path, got.text)
        out[path] = got.json()
    return out


def test_reports_from_a_streaming_replica(cluster: Cluster) -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    primary_only = Settings(database_url=cluster.url(cluster.primary_port))
    with_replica = Settings(
        database_url=cluster.url(cluster.primary_port),
        read_database_url=cluster.url(cluster.replica_port),
    )
    plain = build(primary_only, clock=clock)
    application = build(with_replica, clock=clock)
    try:
        upgrade(plain.engine)
        simulate(plain, clock, scenario_from_dict(STORE))
        verdicts.refresh(plain.services)
        key = api_key(plain)
        cluster.caught_up()
        with (
            TestClient(create_app(application=plain)) as on_primary,
            TestClient(create_app(application=application)) as on_replica,
        ):
            on_primary.headers["Authorization"] = on_replica.headers["Authorization"] = f"Bearer {key}"
            # Caught up: the replica's reports are the primary's.
            probe = on_replica.get(REPORTS[0], params=PERIOD)
            assert probe.headers["Read-Source"] == "replica", probe.headers
            assert "Read-Source" not in on_primary.get(REPORTS[0], params=PERIOD).headers
            expected = answers(on_primary)
            assert answers(on_replica) == expected

            # Replay paused: a new order and a refresh on the primary; the replica still answers
            # its older figures, and says as of when.
            with cluster.admin(cluster.replica_port) as replica:
                replica.execute("SELECT pg_wal_replay_pause()")
                paused_at = datetime.now(UTC)
                time.sleep(0.2)
                placed = on_replica.post(
                    "/api/v1/orders", json=order_payload(lines=[{"sku": "SIM-00001", "quantity": 1}])
                )  # a write: primary
                assert placed.status_code == 201, placed.text
                clock.advance(timedelta(minutes=5))
                verdicts.refresh(plain.services)
                fresh = answers(on_primary)
                stale = on_replica.get(REPORTS[0], params=PERIOD)
                assert stale.json() == expected[REPORTS[0]] != fresh[REPORTS[0]]
                assert datetime.fromisoformat(stale.headers["Read-As-Of"]) <= paused_at
                # What a caller reads back after writing is on the primary.
                assert on_replica.get(f"/api/v1/orders/{placed.json()['id']}").status_code == 200
                replica.execute("SELECT pg_wal_replay_resume()")
            cluster.caught_up()
            assert answers(on_replica) == fresh

            # The replica stops: the same reports, now from the primary.
            cluster.stop("replica")
            down = on_replica.get(REPORTS[0], params=PERIOD)
            assert down.status_code == 200 and down.headers["Read-Source"] == "primary"
            assert answers(on_replica) == fresh
            board = on_replica.get("/api/v1/metrics/improvements", params=PERIOD)
            assert board.status_code == 200
    finally:
        application.close()
        plain.close()
