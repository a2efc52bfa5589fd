"""An operator walks one order through the warehouse from the command line."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from tests.conftest import api_key, command_line
from tests.factories import order_payload


@pytest.fixture
def cli(sqlite_url, monkeypatch):
    return command_line(monkeypatch, sqlite_url, seed=True)


def test_pick_pack_ship_and_return_from_the_command_line(cli, sqlite_url, clock):
    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        order = http.post(
            "/api/v1/orders",
            json=order_payload(
                lines=[{"sku": "VASE-GLASS-TALL", "quantity": 2}], payment={"method": "cash_on_delivery"}
            ),
        ).json()
    application.close()
    oid = str(order["id"])

    released = cli("picks", "release", oid)
    assert released.exit_code == 0
    [pick_list] = re.findall(r"pick list\(s\) (\d+)", released.output)
    shown = cli("picks", "show", pick_list).output
    [task] = re.findall(r"│\s*(\d+)\s*│\s*" + oid + r"\s*│", shown)
    wrong = cli("picks", "scan", task, "MUG-CERAMIC-BLUE")
    assert wrong.exit_code == 2 and "wrong_item" in wrong.output
    assert cli("picks", "scan", task, "VASE-GLASS-TALL", "--quantity", "2").exit_code == 0
    packed = cli(
        "packs", "create", oid, "--item", "VASE-GLASS-TALL:2", "--weight", "1.8", "--size", "40x30x20"
    )
    assert packed.exit_code == 0, packed.output
    [package] = re.findall(r"package (\d+) packed", packed.output)
    shipped = cli("shipments", "ship", oid, package, "--carrier", "DHL", "--tracking", "JJD0001")
    assert shipped.exit_code == 0 and "JJD0001" in shipped.output
    opened = cli("returns", "open", oid, "--reason", "missing_item", "--item", "VASE-GLASS-TALL:1")
    assert "complete / packing" in opened.output
    [rma] = re.findall(r"return (\d+) authorised", opened.output)
    received = cli("returns", "receive", rma, "--restock", "VASE-GLASS-TALL:1")
    assert received.exit_code == 0 and "refund 32.00" in received.output
    bad = cli("packs", "create", oid, "--item", "VASE", "--weight", "1", "--size", "1x1x1")
    assert bad.exit_code == 2


def test_an_invoice_is_settled_from_the_command_line_and_frees_the_held_order(cli, sqlite_url, clock):
    application = build(Settings(database_url=sqlite_url), clock=clock)
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        b2b = http.get("/api/v1/customers", params={"email": "purchasing@hotel-aurora.example"}).json()[0]
        base = order_payload(customer={"id": b2b["id"]}, payment={"method": "invoice"})
        base.pop("shipping_address")
        first = http.post(
            "/api/v1/orders", json={**base, "lines": [{"sku": "CHAIR-BENTWOOD", "quantity": 50}]}
        ).json()
        http.post(
            "/api/v1/orders",
            json={**base, "external_ref": "CLI-B2", "lines": [{"sku": "RUG-WOOL-160", "quantity": 40}]},
        )
        held = http.post(
            "/api/v1/orders",
            json={**base, "external_ref": "CLI-B3", "lines": [{"sku": "TABLE-OAK-CUSTOM", "quantity": 5}]},
        ).json()
    application.close()
    assert held["status"] == "on_hold"
    settled = cli("payments", "settle", str(first["id"]), "--reference", "SEPA-4410")
    assert settled.exit_code == 0, settled.output
    assert "settled 8950.00 EUR, outstanding 0.00 EUR" in settled.output
    assert f"released from credit hold: {held['id']}" in settled.output
    listed = cli("payments", "list", "--customer", str(b2b["id"])).output
    assert "settlement" in listed and "8950.00 EUR" in listed and "SEPA-4410" in listed
    again = cli("payments", "settle", str(first["id"]), "--reference", "SEPA-4411")
    assert again.exit_code == 2 and "nothing_outstanding" in again.output
