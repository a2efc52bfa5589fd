"""Live orders from a file go through the same verification and reservation as the API."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from perfectorder.adapters.files import csv_files
from perfectorder.services import inventory
from perfectorder.services.importing import import_orders
from tests.conftest import command_line
from tests.integration.test_bad_orders import row_counts

HEADER = (
    "channel,external_ref,currency,customer_email,customer_name,ship_name,ship_line1,ship_city,"
    "ship_postal_code,ship_country,ship_timezone,sku,quantity,unit_price,payment_method,payment_status,"
    "payment_amount"
)
ADDRESS = "margot@example.com,Margot Fenwick,Margot Fenwick,Kastanienallee 7,Berlin,10435,DE,Europe/Berlin"
ROWS = [
    f"web,IMP-1,EUR,{ADDRESS},MUG-CERAMIC-BLUE,2,12.90,card,authorized,57.80",
    f"web,IMP-1,EUR,{ADDRESS},VASE-GLASS-TALL,1,32.00,card,authorized,57.80",
    f"web,IMP-2,EUR,{ADDRESS},NO-SUCH-SKU,1,1.00,card,authorized,1.00",
    f"web,IMP-3,EUR,{ADDRESS},MUG-CERAMIC-BLUE,two,12.90,card,authorized,25.80",
    f"web,IMP-4,EUR,{ADDRESS},MUG-CERAMIC-BLUE,1,99.00,card,authorized,99.00",
    # No street: the address is incomplete.
    "phone,IMP-5,EUR,margot@example.com,Margot Fenwick,Margot Fenwick,,Berlin,10435,DE,Europe/Berlin,"
    "MUG-CERAMIC-BLUE,1,12.90,card,authorized,12.90",
]


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8-sig")
    return path


def test_each_order_is_placed_or_rejected_with_its_code_and_a_rerun_places_nothing(application, tmp_path):
    path = write(tmp_path, ROWS)
    before = inventory.stock_levels(application.services, sku="MUG-CERAMIC-BLUE")
    result = import_orders(application.services, csv_files.rows(path, encoding="utf-8-sig", delimiter=","))
    assert (result.rows, result.orders, result.placed) == (6, 5, 1)
    assert [(r.row, r.order_ref, r.code, r.column) for r in result.rejects] == [
        (4, "IMP-2", "unknown_sku", "lines[0].sku"),
        (5, "IMP-3", "invalid_type", "quantity"),
        (6, "IMP-4", "price_mismatch", "lines[0].unit_price"),
        (7, "IMP-5", "address_incomplete", "shipping_address.line1"),
    ]
    after = inventory.stock_levels(application.services, sku="MUG-CERAMIC-BLUE")
    assert sum(s.reserved for s in after) == sum(s.reserved for s in before) + 2
    counts = row_counts(application)
    again = import_orders(application.services, csv_files.rows(path, encoding="utf-8-sig", delimiter=","))
    assert (again.placed, again.already_placed, len(again.rejects)) == (0, 1, 4)
    assert row_counts(application) == counts


@pytest.fixture
def cli(migrated_database_url, monkeypatch):
    return command_line(monkeypatch, migrated_database_url, seed=True)


def test_the_command_writes_a_reject_file_and_a_summary(cli, tmp_path):
    path = write(tmp_path, ROWS)
    result = cli("import", "orders", str(path))
    assert result.exit_code == 0, result.output
    assert re.search(r"orders placed\s+│\s+1 │", result.output) and "rejected: unknown_sku" in result.output
    with (tmp_path / "orders.csv.rejects.csv").open(newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [r["code"] for r in rejects] == [
        "unknown_sku",
        "invalid_type",
        "price_mismatch",
        "address_incomplete",
    ]
    assert all(r["message"] for r in rejects)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("channel,external_ref,colour\nweb,X,blue\n")
    refused = cli("import", "orders", str(wrong))
    assert refused.exit_code == 2 and "column_missing" in refused.output
