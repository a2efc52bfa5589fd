"""Dashboard login under attack: throttles per address and per name, a bounded number of argon2
hashes at once, answers that do not tell which names exist, and the owner of a name an attacker
hammers still gets in from their own address. On SQLite and PostgreSQL, over HTTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from perfectorder.adapters.db.migrate import upgrade
from perfectorder.adapters.passwords import Argon2PasswordHasher
from perfectorder.api.app import create_app
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.domain.access import Role
from perfectorder.services import access
from tests.conftest import api_key

PASSWORD = "correct horse battery staple"
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


class CountingHasher:
    """A real argon2 hasher (cheap parameters) that records how many verifications overlap."""

    def __init__(self, hold_seconds: float = 0.0) -> None:
        self._real = Argon2PasswordHasher(time_cost=1, memory_kib=8, parallelism=1)
        self._hold = hold_seconds
        self._lock = threading.Lock()
        self.running = self.most_at_once = self.verified = 0

    def hash(self, password: str) -> str:
        return self._real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self._hold)
            return self._real.verify(password_hash, password)
        finally:
            with self._lock:
                self.running -= 1
                self.verified += 1


def application_with(database_url: str, clock: Any, hasher: Any = None, **settings: Any) -> Application:
    application = build(
        Settings(database_url=database_url, **settings),
        clock=clock,
        passwords=hasher or CountingHasher(),
    )
    upgrade(application.engine)
    access.create_user(
        application.services, application.passwords, username="olga", password=PASSWORD, role=Role.ADMIN
    )
    return application


@pytest.fixture
def make_app(migrated_database_url: str, clock: Any) -> Iterator[Any]:
    built: list[Application] = []

    def make(hasher: Any = None, **settings: Any) -> Application:
        built.append(application_with(migrated_database_url, clock, hasher, **settings))
        return built[-1]

    yield make
    for application in built:
        application.close()


def from_address(application: Application, address: str) -> TestClient:
    """Over https, as a browser would be: the session cookie is Secure."""
    app = create_app(application=application)
    return TestClient(app, base_url="https://testserver", client=(address, 40000))


def log_in(http: TestClient, username: str = "olga", password: str = PASSWORD) -> Any:
    return http.post("/auth/login", json={"username": username, "password": password})


def test_one_address_past_its_login_burst_gets_429_with_retry_after(make_app):
    application = make_app(login_attempts_burst=3, login_attempts_per_minute=1)
    attacker, other = from_address(application, ATTACKER), from_address(application, OWNER)
    assert [log_in(attacker, f"name-{i}").status_code for i in range(3)] == [401, 401, 401]
    refused = log_in(attacker)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_login_attempts"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert log_in(other).status_code == 200  # the limit is the address's, not everyone's


def test_failures_at_one_name_from_many_addresses_throttle_that_name(make_app):
    application = make_app(login_failures_per_name=4, login_attempts_burst=100)
    for i in range(4):
        guess = log_in(from_address(application, f"10.9.0.{i}"), password="guess number one")
        assert guess.status_code == 401
    throttled = log_in(from_address(application, "10.9.0.200"))  # even with the right password
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_login_attempts"
    assert int(throttled.headers["retry-after"]) > 0
    access.create_user(
        application.services, application.passwords, username="otto", password=PASSWORD, role=Role.OPERATOR
    )
    assert log_in(from_address(application, "10.9.0.200"), "otto").status_code == 200


def test_the_owner_still_logs_in_from_their_own_address_while_an_attacker_is_throttled(make_app, clock):
    application = make_app()
    attacker, owner = from_address(application, ATTACKER), from_address(application, OWNER)
    for _ in range(5):
        assert log_in(attacker, password="hunter2hunter2").status_code == 401
    assert log_in(attacker).status_code == 429  # the right password does not help the attacker
    assert log_in(owner).status_code == 200
    assert log_in(attacker).status_code == 429  # and the owner's login does not free the attacker


def test_unknown_names_wrong_passwords_and_disabled_users_get_the_same_answer(make_app):
    application = make_app(login_attempts_burst=100)
    access.create_user(
        application.services, application.passwords, username="dora", password=PASSWORD, role=Role.ANALYST
    )
    access.disable_user(application.services, "dora")
    http = from_address(application, OWNER)
    answers = [
        log_in(http, "olga", "not the password"),
        log_in(http, "nobody-by-this-name", "not the password"),
        log_in(http, "dora", PASSWORD),
    ]
    assert {a.status_code for a in answers} == {401}
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json()["error"]["code"] == "invalid_credentials"
    assert all(a.headers["www-authenticate"] == answers[0].headers["www-authenticate"] for a in answers)
    # Every one of them cost a real verification: the answer time does not tell them apart either.
    assert application.passwords.inner.verified >= 3  # type: ignore[attr-defined]


def test_an_unknown_name_is_throttled_exactly_like_a_real_one(make_app):
    application = make_app(login_attempts_burst=100)
    http = from_address(application, ATTACKER)
    real = [log_in(http, "olga", "wrong password!").status_code for _ in range(6)]
    unknown = [log_in(http, "no-such-person", "wrong password!").status_code for _ in range(6)]
    assert real == unknown == [401, 401, 401, 401, 401, 429]


def test_no_more_argon2_verifications_run_at_once_than_the_configured_slots(make_app):
    hasher = CountingHasher(hold_seconds=0.15)
    application = make_app(hasher, login_hashing_slots=2, login_hashing_wait_seconds=30)
    answers: list[int] = []
    # Built and warmed one by one (a refused empty body hashes nothing): the first requests of
    # several new apps at once race in the framework's lazy set-up, which is not what this measures.
    clients = [from_address(application, f"10.1.0.{i}") for i in range(8)]
    for http in clients:
        assert http.post("/auth/login", json={}).status_code == 422

    def attempt(i: int) -> None:
        answers.append(log_in(clients[i], password=f"guess {i}").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [401] * 8
    assert hasher.verified == 8 and hasher.most_at_once == 2


def test_a_login_that_cannot_get_a_hashing_slot_in_time_is_503_with_retry_after(make_app):
    hasher = CountingHasher(hold_seconds=1.5)
    application = make_app(hasher, login_hashing_slots=1, login_hashing_wait_seconds=0.2)
    first: list[int] = []
    owner, attacker = from_address(application, OWNER), from_address(application, ATTACKER)
    for http in (owner, attacker):
        assert http.post("/auth/login", json={}).status_code == 422
    slow = threading.Thread(target=lambda: first.append(log_in(owner).status_code))
    slow.start()
    while hasher.running == 0:
        time.sleep(0.01)
    busy = log_in(attacker)
    slow.join()
    assert first == [200]
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "login_busy"
    assert int(busy.headers["retry-after"]) >= 1
    assert hasher.most_at_once == 1


def test_a_disabled_users_session_stops_working_and_they_cannot_log_in(make_app):
    application = make_app()
    http = from_address(application, OWNER)
    assert log_in(http).status_code == 200 and http.get("/auth/me").status_code == 200
    access.disable_user(application.services, "olga")
    after = http.get("/auth/me")
    assert after.status_code == 401 and after.json()["error"]["code"] == "session_expired"
    assert log_in(http).status_code == 401
    access.enable_user(application.services, "olga")
    assert log_in(http).status_code == 200


def test_login_attempts_are_in_the_audit_log_with_the_username_tried(make_app):
    application = make_app()
    http = from_address(application, ATTACKER)
    assert log_in(http, "mallory-tries-admin", "letmein-letmein").status_code == 401
    assert log_in(http, "olga", "not the password").status_code == 401
    assert log_in(http).status_code == 200
    admin = from_address(application, OWNER)
    admin.headers["Authorization"] = f"Bearer {api_key(application)}"
    rows = admin.get("/api/v1/audit", params={"limit": 50}).json()
    logins = [(r["detail"], r["outcome"], r["client"]) for r in rows if r["outcome"].startswith("login_")]
    assert logins == [
        ("olga", "login_succeeded", ATTACKER),
        ("olga", "login_failed_wrong_password", ATTACKER),
        ("mallory-tries-admin", "login_failed_unknown_user", ATTACKER),
    ]
    succeeded = next(r for r in rows if r["outcome"] == "login_succeeded")
    assert succeeded["actor"] == "olga" and succeeded["path"] == "/auth/login"


def test_every_users_subcommand_works_from_the_command_line(sqlite_url, clock, monkeypatch):
    from typer.testing import CliRunner

    from perfectorder.cli.main import app as cli_app

    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(cli_app, list(args), catch_exceptions=False)

    assert cli("db", "upgrade").exit_code == 0
    assert cli("users", "create", "vera", "--role", "operator", "--password", PASSWORD).exit_code == 0
    application = build(Settings(database_url=sqlite_url, login_attempts_burst=100), clock=clock)
    try:
        http = from_address(application, OWNER)
        assert "vera" in cli("users", "list").output and "operator" in cli("users", "list").output

        assert log_in(http, "vera").status_code == 200
        assert "1 session(s) of vera ended" in cli("users", "revoke-sessions", "vera").output
        assert http.get("/auth/me").status_code == 401

        assert log_in(http, "vera").status_code == 200
        disabled = cli("users", "disable", "vera")
        assert disabled.exit_code == 0 and "1 session(s) ended" in disabled.output
        assert http.get("/auth/me").status_code == 401 and log_in(http, "vera").status_code == 401
        assert re.search(r"vera .*\d{4}-\d\d-\d\d \d\d:\d\d", cli("users", "list").output)
        assert cli("users", "enable", "vera").exit_code == 0

        for _ in range(4):  # with the refused login while disabled, five failures from here
            assert log_in(http, "vera", "fat fingers fat fingers").status_code == 401
        assert log_in(http, "vera").status_code == 429
        assert "5 failed login(s) forgotten" in cli("users", "unlock", "vera").output
        assert log_in(http, "vera").status_code == 200

        new = "a much longer passphrase now"
        reset = cli("users", "reset-password", "vera", "--password", new)
        assert reset.exit_code == 0 and "1 session(s) ended" in reset.output
        assert http.get("/auth/me").status_code == 401
        assert log_in(http, "vera").status_code == 401 and log_in(http, "vera", new).status_code == 200

        missing = cli("users", "disable", "nobody-here")
        assert missing.exit_code != 0 and "user_not_found" in missing.output
        weak = cli("users", "reset-password", "vera", "--password", "short")
        assert weak.exit_code != 0 and "weak_password" in weak.output
    finally:
        application.close()
