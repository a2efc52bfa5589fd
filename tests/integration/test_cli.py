"""The command line against a real database file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfectorder.adapters.db.migrate import head_revision
from perfectorder.cli.main import app
from tests.conftest import api_key, command_line
from tests.factories import order_payload


@pytest.fixture
def cli(sqlite_url, monkeypatch):
    return command_line(monkeypatch, sqlite_url, seed=True)


def test_db_upgrade_reports_the_revision(cli):
    result = cli("db", "upgrade")
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.output


def test_seeding_twice_adds_nothing_the_second_time(cli):
    assert "0 products added" in cli("demo", "seed").output


def test_receive_and_adjust_stock_from_the_command_line(cli):
    received = cli("stock", "receive", "VASE-GLASS-TALL", "BER", "7", "--reason", "PO-1203")
    assert received.exit_code == 0 and "on hand 67" in received.output
    adjusted = cli(
        "stock", "adjust", "VASE-GLASS-TALL", "BER", "--by", "-3", "--reason", "cracked in transit"
    )
    assert adjusted.exit_code == 0 and "on hand 64" in adjusted.output
    shown = cli("stock", "show", "--sku", "VASE-GLASS-TALL")
    assert "BER" in shown.output and "64" in shown.output


def test_errors_are_shown_with_their_code_and_a_non_zero_exit(cli):
    result = cli("stock", "receive", "NO-SUCH-SKU", "BER", "5")
    assert result.exit_code == 2
    assert "product_not_found" in result.output
    missing_reason = cli("stock", "adjust", "VASE-GLASS-TALL", "BER", "--by", "-1", "--reason", " ")
    assert missing_reason.exit_code == 2 and "reason_required" in missing_reason.output


def test_orders_list_and_show(cli, sqlite_url, clock):
    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app
    from perfectorder.bootstrap import build
    from perfectorder.config import Settings

    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        order = http.post("/api/v1/orders", json=order_payload(external_ref="CLI-SHOW-1")).json()
    application.close()
    listed = cli("orders", "list", "--channel", "web")
    assert "CLI-SHOW-1" in listed.output and "approved" in listed.output
    shown = cli("orders", "show", str(order["id"]))
    assert shown.exit_code == 0
    assert "order.promised" in shown.output and "MUG-CERAMIC-BLUE" in shown.output
    assert cli("orders", "show", "99999").exit_code == 2


def test_every_command_explains_itself():
    runner = CliRunner()
    for args in (
        ["--help"],
        ["stock", "--help"],
        ["stock", "adjust", "--help"],
        ["orders", "--help"],
        ["db", "upgrade", "--help"],
        ["serve", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_keys_are_created_listed_and_revoked(cli, sqlite_url, clock):
    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app
    from perfectorder.bootstrap import build
    from perfectorder.config import Settings

    created = cli("keys", "create", "--role", "channel", "--channel", "marketplace", "--name", "mp-connector")
    assert created.exit_code == 0
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("po_")
    listed = cli("keys", "list").output
    assert "mp-connector" in listed and "marketplace" in listed and secret not in listed
    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        assert http.get("/api/v1/orders", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    application.close()
    key_id = [line for line in listed.splitlines() if "mp-connector" in line][0].split("│")[1].strip()
    assert cli("keys", "revoke", key_id).exit_code == 0
    assert cli("keys", "revoke", key_id).exit_code == 2
    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        assert http.get("/api/v1/orders", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    application.close()


def test_a_channel_key_needs_its_channel(cli):
    result = cli("keys", "create", "--role", "channel")
    assert result.exit_code == 2 and "channel_required" in result.output


def test_users_are_created_with_a_prompted_password_and_audit_tail_shows_calls(cli, sqlite_url, clock):
    runner = CliRunner()
    created = runner.invoke(
        app,
        ["users", "create", "olga", "--role", "operator"],
        input="a long enough secret\na long enough secret\n",
    )
    assert created.exit_code == 0 and "user olga created" in created.output
    short = runner.invoke(app, ["users", "create", "ivan", "--role", "analyst"], input="short\nshort\n")
    assert short.exit_code == 2 and "weak_password" in short.output
    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app
    from perfectorder.bootstrap import build
    from perfectorder.config import Settings

    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        http.post(
            "/api/v1/stock/receipts", json={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER", "quantity": 1}
        )
    application.close()
    tail = cli("audit", "tail")
    assert tail.exit_code == 0
    assert (
        "POST /api/v1/stock/receipts" in tail.output and "anonymous" in tail.output and "401" in tail.output
    )


def test_every_command_takes_database_url_before_or_after_its_name(sqlite_url, tmp_path, monkeypatch):
    from perfectorder.cli.main import hoist_database_url

    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    after = hoist_database_url(["db", "upgrade", "--database-url", other])
    assert after[:2] == ["--database-url", other]
    assert runner.invoke(app, after, catch_exceptions=False).exit_code == 0
    assert (tmp_path / "other.db").exists()
    seeded = runner.invoke(app, hoist_database_url(["demo", "seed", f"--database-url={other}"]))
    assert seeded.exit_code == 0 and "products added" in seeded.output


def test_the_installed_command_takes_database_url_after_the_subcommand(tmp_path):
    # The console script once called the Typer app directly, past the hoisting: "No such option".
    script = Path(sys.executable).with_name("perfectorder")
    other = f"sqlite:///{tmp_path / 'after.db'}"
    done = subprocess.run(
        [str(script), "db", "upgrade", "--database-url", other],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "after.db").exists()
    shown = subprocess.run(
        [str(script), "orders", "show", "1", "--database-url", other],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "No such option" not in shown.stdout + shown.stderr
    assert (
        "order_not_found" in shown.stdout + shown.stderr
        or "no order" in (shown.stdout + shown.stderr).lower()
    )


def test_a_command_against_a_database_without_the_schema_says_what_to_run(tmp_path, monkeypatch):
    # It was an SQL traceback ("no such table: orders") on a newcomer's first command.
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    shown = runner.invoke(app, ["orders", "show", "1"])
    assert shown.exit_code == 2 and "schema_not_current" in shown.output
    assert "perfectorder db upgrade" in shown.output and "Traceback" not in shown.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    after = runner.invoke(app, ["orders", "show", "1"])
    assert after.exit_code == 2 and "order_not_found" in after.output


def test_worker_once_says_what_was_delivered_and_what_failed(cli, sqlite_url, clock, monkeypatch):
    import socket

    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app
    from perfectorder.bootstrap import build
    from perfectorder.config import Settings

    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        assert http.post("/api/v1/orders", json=order_payload(external_ref="CLI-MAIL-1")).status_code == 201
    application.close()
    with socket.socket() as probe:  # a port nobody listens on: every e-mail fails
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("PERFECTORDER_SMTP_PORT", str(closed))
    done = cli("worker", "--once")
    assert done.exit_code == 0, done.output
    # It once said "sent 2 message(s)" while the confirmation e-mail had failed.
    failed = re.search(r"(\d+) failed and will be retried", done.output)
    assert failed and int(failed.group(1)) >= 1, done.output
    assert "last error:" in done.output and "sent " not in done.output
