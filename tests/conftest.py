"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test that asks for one."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.engine import build_engine
from perfectorder.adapters.db.migrate import upgrade
from perfectorder.api.app import create_app
from perfectorder.bootstrap import Application, build
from perfectorder.cli.main import app as cli_app
from perfectorder.config import Settings
from perfectorder.domain.access import Role
from perfectorder.sample_data import load_sample_store
from perfectorder.services import access
from perfectorder.services.ports import PasswordHasher

POSTGRES_ADMIN_URL = os.environ.get(
    "PERFECTORDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# A Tuesday morning in Berlin: before every warehouse's cut-off, far from holidays.
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as e:
        return str(e)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_available()
    if problem is not None:
        if in_ci():
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return POSTGRES_ADMIN_URL


def _create_database(server: str, template: str | None = None) -> str:
    """A database of our own, empty or a copy of `template`; its URL."""
    name = f"po_test_{uuid.uuid4().hex[:12]}"
    copied = "" if template is None else f' TEMPLATE "{template}"'
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copied}')
    return f"{server.rsplit('/', 1)[0]}/{name}"


def _drop_database(server: str, url: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextmanager
def _postgres_database(server: str, template: str | None = None) -> Iterator[str]:
    """A database of our own (empty, or a copy of `template`), dropped afterwards."""
    url = _create_database(server, template)
    try:
        yield url
    finally:
        _drop_database(server, url)


class CopiesMadeAhead:
    """Copies of a template database, made (and dropped) in the background while tests run:
    CREATE DATABASE writes the whole copy through the write-ahead log (0.05 to 0.7 s here), time
    the tests' own Python can use meanwhile. Two are made at once, for tests quicker than one copy:
    the dashboard's PostgreSQL half took 27-36 s with one made ahead, 18-30 s with two or more."""

    def __init__(self, server: str, template: str, *, ahead: int = 2) -> None:
        self._server, self._template = server, template
        self._workers = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="database-copies")
        self._ready = deque(self._workers.submit(_create_database, server, template) for _ in range(ahead))
        self._drops: list[Future[None]] = []

    def take(self) -> str:
        url = self._ready.popleft().result()
        self._ready.append(self._workers.submit(_create_database, self._server, self._template))
        return url

    def give_back(self, url: str) -> None:
        self._drops.append(self._workers.submit(_drop_database, self._server, url))
        # A failed drop is reported by the next test that gives one back, not lost.
        for dropped in [d for d in self._drops if d.done()]:
            self._drops.remove(dropped)
            dropped.result()

    def close(self) -> None:
        self._workers.shutdown(wait=True)
        for made in self._ready:
            if made.exception() is None:
                _drop_database(self._server, made.result())
        for dropped in self._drops:
            dropped.result()


def _migrate(url: str) -> None:
    # Closed before it is copied: PostgreSQL copies no template that has a connection, and SQLite
    # folds its write-ahead log back into the file only when the last connection closes.
    engine = build_engine(Settings(database_url=url))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database of our own, dropped afterwards."""
    with _postgres_database(postgres_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    """A SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path}/perfectorder.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind: for tests of the migrations and of an unmigrated store."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


# Migrating a database takes about a second on PostgreSQL and half a second on SQLite, which
# hundreds of tests paid before doing anything else; copying a database migrated once per session
# takes a twentieth of that. The migrations themselves are tested from empty in test_migrations.
@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """The name of a database migrated once per session, for copies only."""
    with _postgres_database(postgres_server) as url:
        _migrate(url)
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session, for copies only."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _migrate(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists(), "the template's log was not folded in"
    return path


@pytest.fixture(scope="session")
def postgres_copies(postgres_server: str, postgres_template: str) -> Iterator[CopiesMadeAhead]:
    copies = CopiesMadeAhead(postgres_server, postgres_template)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def migrated_postgres_url(postgres_copies: CopiesMadeAhead) -> Iterator[str]:
    """A database of our own at the latest migration, dropped afterwards."""
    url = postgres_copies.take()
    try:
        yield url
    finally:
        postgres_copies.give_back(url)


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite file of our own at the latest migration."""
    path = tmp_path / "migrated.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_database_url(request: pytest.FixtureRequest) -> str:
    """A database of each kind at the latest migration."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@contextmanager
def migrated_database(request: pytest.FixtureRequest, kind: str) -> Iterator[str]:
    """A migrated database of `kind` ("sqlite" or "postgres") for a fixture of any scope, such as
    a store simulated once for a whole module; dropped when the fixture ends."""
    if kind == "sqlite":
        folder = request.getfixturevalue("tmp_path_factory").mktemp("store")
        shutil.copyfile(request.getfixturevalue("sqlite_template"), folder / "store.db")
        yield f"sqlite:///{folder / 'store.db'}"
        return
    copies = request.getfixturevalue("postgres_copies")
    url = copies.take()
    try:
        yield url
    finally:
        copies.give_back(url)


@contextmanager
def database_copy(url: str) -> Iterator[str]:
    """A copy of the database at `url`, for a test that changes a store other tests read too;
    dropped afterwards. Nothing may be connected to `url` meanwhile (PostgreSQL refuses to copy a
    database in use, and a SQLite file with an open connection may hold its latest writes aside)."""
    if url.startswith("sqlite"):
        source = Path(url.removeprefix("sqlite:///"))
        assert not source.with_name(source.name + "-wal").exists(), f"{source} is still open"
        copy = source.with_name(f"copy-{uuid.uuid4().hex[:12]}.db")
        shutil.copyfile(source, copy)
        yield f"sqlite:///{copy}"
        return
    with _postgres_database(POSTGRES_ADMIN_URL, template=url.rsplit("/", 1)[1]) as copied:
        yield copied


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def command_line(
    monkeypatch: pytest.MonkeyPatch, url: str, *, seed: bool = False, columns: int = 200
) -> Callable[..., Result]:
    """`perfectorder ARGS...` run in-process against `url`, migrated (and holding the sample store
    when `seed`), printing tables `columns` wide so tests can read them."""
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", str(columns))
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli_app, list(args), catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    if seed:
        assert run("demo", "seed").exit_code == 0
    return run


def make_application(
    url: str, clock: SimulatedClock, *, passwords: PasswordHasher | None = None, **overrides: object
) -> Application:
    settings = Settings(database_url=url, **overrides)  # type: ignore[arg-type]
    application = build(settings, clock=clock, passwords=passwords)
    upgrade(application.engine)
    return application


@pytest.fixture
def application(migrated_database_url: str, clock: SimulatedClock) -> Iterator[Application]:
    """A migrated database with the sample store loaded through the services."""
    application = make_application(migrated_database_url, clock)
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


def api_key(application: Application, role: Role = Role.ADMIN, **scope: object) -> str:
    issued = access.create_api_key(application.services, name=f"test-{role.value}", role=role, **scope)  # type: ignore[arg-type]
    return issued.secret


@pytest.fixture
def anonymous(application: Application) -> Iterator[TestClient]:
    """An HTTP client with no credentials."""
    with TestClient(create_app(application=application), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(application: Application) -> Iterator[TestClient]:
    """An HTTP client with an admin key."""
    with TestClient(create_app(application=application), raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {api_key(application)}"
        yield test_client
