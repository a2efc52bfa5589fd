"""Order history from real and awkward files, measured by our engine and checked against the raw file."""

from __future__ import annotations

import csv
import re
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.files import csv_files
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.imports import mapping_from_dict
from perfectorder.metrics.quantiles import RELATIVE_ERROR
from perfectorder.services import verdicts
from perfectorder.services.history import import_history
from perfectorder.services.ports import OrderFilter
from tests.conftest import command_line, in_ci, make_application

ROOT = Path(__file__).resolve().parents[2]
OLIST = ROOT.parent / "shared" / "datasets" / "olist" / "head-sample" / "olist_orders_dataset.csv"
MAPPING = ROOT / "mappings" / "olist-orders.toml"
# Long after the data, so every delivered order's settlement window has passed.
LATER = datetime(2026, 11, 24, tzinfo=UTC)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def olist_file() -> Path:
    if not OLIST.exists():
        if in_ci():
            pytest.fail(f"the Olist sample is missing at {OLIST}")
        pytest.skip(f"the Olist sample is missing at {OLIST}")
    return OLIST


def expected_from_raw_csv(path: Path) -> dict[str, float]:
    """The figures computed straight from the file with the csv module, none of our code."""
    zone = ZoneInfo("America/Sao_Paulo")

    def moment(text: str) -> datetime:
        # Elapsed time, so across Brazil's 2016-2018 daylight-saving changes: subtract in UTC.
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)

    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    cancelled = [r for r in rows if r["order_status"] in ("canceled", "unavailable")]
    delivered = [
        r
        for r in rows
        if r["order_status"] in ("shipped", "delivered") and r["order_delivered_customer_date"]
    ]
    on_time = [
        r
        for r in delivered
        if r["order_delivered_customer_date"][:10] <= r["order_estimated_delivery_date"][:10]
    ]
    hours = [
        (moment(r["order_delivered_customer_date"]) - moment(r["order_purchase_timestamp"])).total_seconds()
        / 3600
        for r in delivered
    ]
    return {
        "orders": len(rows),
        "delivered": len(delivered),
        "on_time_rate": len(on_time) / len(delivered),
        "cancellation_rate": len(cancelled) / len(rows),
        "median_hours": statistics.median(hours),
    }


def test_the_olist_orders_file_measures_as_the_raw_file_says(migrated_sqlite_url):
    path = olist_file()
    raw = expected_from_raw_csv(path)
    application = make_application(migrated_sqlite_url, SimulatedClock(LATER))
    try:
        rules = mapping_from_dict(csv_files.read_toml(MAPPING))
        result = import_history(
            application.services,
            lambda: csv_files.rows(path, encoding=rules.encoding, delimiter=rules.delimiter),
            rules,
            source=path.name,
        )
        assert (result.imported, result.rejects) == (raw["orders"], [])
        verdicts.refresh(application.services)  # as `perfectorder import history` does after importing
        report = verdicts.perfect_order_report(application.services, *EVERYTHING)["all"]
        kpis, _ = verdicts.kpi_report(application.services, *EVERYTHING)
    finally:
        application.close()
    on_time = report.components["on_time"]
    assert on_time.evaluated == raw["delivered"]
    assert round(on_time.rate, 4) == round(raw["on_time_rate"], 4)
    assert round(report.cancellation_rate, 4) == round(raw["cancellation_rate"], 4)
    assert kpis.cycle_time_hours.median == pytest.approx(raw["median_hours"], rel=RELATIVE_ERROR)
    # What the file cannot tell is not measured, and so never perfect.
    for name in ("complete", "accurate", "undamaged", "communicated"):
        assert report.components[name].rate is None and report.components[name].evaluated == 0
    assert report.perfect_order_rate is None


MAPPING_TEXT = """
[file]
delimiter = ";"
timezone = "Europe/Berlin"
missing = ["", "Date Not Captured", "n/a"]

[columns]
order_ref = "Order"
line_ref = "Line"
ordered_at = "Ordered"
shipped_at = "Shipped"
delivered_at = "Delivered"
promised_at = "Promised"
status = "State"
customer_ref = "Customer"
sku = "Item"
quantity = "Qty"
unit_price = "Price"
carrier = "Mode"
rating = "Stars"

[formats]
"*" = ["%Y-%m-%d %H:%M:%S", "%d-%b-%y", "%d/%m/%Y"]

[status]
Done = "delivered"
Sent = "shipped"
Void = "cancelled"
Open = "received"

[defaults]
channel = "web"
currency = "EUR"
country = "DE"
"""
HEADER = "Order;Line;Ordered;Shipped;Delivered;Promised;State;Customer;Item;Qty;Price;Mode;Stars"
ROWS = [
    "A-1;1;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;MUG;2;9,50;Air;5",
    "A-1;2;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;VASE;1;20.00;Air;",
    "A-2;1;2025-03-02 11:00:00;03-Mar-25;Date Not Captured;06-Mar-25;Sent;C1;MUG;1;9.50;Sea;",
    "A-3;1;not a date;;;;Done;C2;MUG;1;9.50;Air;",
    "A-4;1;2025-03-02 11:00:00;;;;Void;C2;MUG;1;9.50;Air;",
    "A-5;1;2025-03-02 12:00:00;03-Mar-25;09/03/2025;05-Mar-25;Done;C3;MUG;1;9.50;Air;7",
    "A-6;1;2025-03-02 12:00:00;;;;Lost somewhere;C3;MUG;1;9.50;Air;",
]


def write(tmp_path: Path, newline: str, *, bom: bool) -> tuple[Path, Path]:
    data = tmp_path / "history.csv"
    data.write_bytes(
        (b"\xef\xbb\xbf" if bom else b"") + newline.join([HEADER, *ROWS]).encode() + newline.encode()
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TEXT)
    return data, mapping


@pytest.fixture
def cli(migrated_database_url, monkeypatch):
    return command_line(monkeypatch, migrated_database_url)


def row(output: str, label: str) -> int:
    """A count from the import's summary table."""
    found = re.search(rf"│ {re.escape(label)} +│ +([\d,]+) │", output)
    assert found is not None, output
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize(("newline", "bom"), [("\n", False), ("\r\n", True), ("\r", True)])
def test_awkward_files_import_with_rejects_and_a_second_run_adds_nothing(
    cli, migrated_database_url, tmp_path, newline, bom
):
    data, mapping = write(tmp_path, newline, bom=bom)
    first = cli("import", "history", str(data), "--mapping", str(mapping))
    assert first.exit_code == 0, first.output
    assert row(first.output, "orders imported") == row(first.output, "orders judged (Perfect Order)") == 3
    # The reasons, grouped, so a mapping can be fixed once for every row like it.
    assert "rows rejected, by reason" in first.output and "unknown_status" in first.output
    assert "[status]" in first.output  # the hint survives the terminal's markup
    with (tmp_path / "history.csv.rejects.csv").open(newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [(r["row"], r["order_ref"], r["code"], r["column"]) for r in rejects] == [
        ("5", "A-3", "invalid_date", "Ordered"),
        ("7", "A-5", "out_of_range", "Stars"),
        ("8", "A-6", "unknown_status", "State"),
    ]
    second = cli("import", "history", str(data), "--mapping", str(mapping))
    assert second.exit_code == 0
    assert row(second.output, "already imported") == 3 and row(second.output, "orders imported") == 0
    assert row(second.output, "orders judged (Perfect Order)") == 0

    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        report = verdicts.perfect_order_report(application.services, *EVERYTHING)["all"]
        kpis, _ = verdicts.kpi_report(application.services, *EVERYTHING)
        by_warehouse = verdicts.perfect_order_report(application.services, *EVERYTHING, group_by="warehouse")
        orders = stored_orders(application)
    finally:
        application.close()
    assert sorted(orders) == ["A-1", "A-2", "A-4"]
    one = orders["A-1"]
    assert one is not None and one.origin == "history" and one.status == "delivered"
    assert [(x.sku, x.quantity, x.unit_price) for x in one.lines] == [
        ("MUG", 2, Decimal("9.50")),
        ("VASE", 1, Decimal("20.00")),
    ]
    assert one.promised_date == date(2025, 3, 5) and one.shipping_address.timezone == "Europe/Berlin"
    assert one.unmeasured == frozenset({"accurate", "undamaged", "communicated"})
    # A-1 arrived before its promise; A-2 was shipped but never delivered; A-4 was cancelled.
    assert (report.orders, report.pending, report.cancelled) == (1, 1, 1)
    assert report.components["on_time"].rate == 1.0 and report.components["complete"].rate == 1.0
    # The file says nothing of what each parcel held: A-1's two lines count as in full and in time
    # because every parcel arrived by the promise; A-2's outcome is not known yet.
    assert kpis.otif_lines_rate == 1.0
    # What the file cannot tell (a ship-by promise, each parcel's contents, returns, backorders) is
    # not measured, rather than counted as zeros or as on time.
    assert kpis.fill_rate_lines is None and kpis.fill_rate_units is None
    assert kpis.on_time_shipping_rate is None and kpis.return_rate is None and kpis.backorder_rate is None
    # The warehouse the import created (inactive, so nothing live ships from it) names its orders.
    assert set(by_warehouse) == {"HIST", "unshipped"}


def stored_orders(application):
    with application.services.uow(read_only=True) as uow:
        found = uow.orders.page(OrderFilter(), before_id=None, limit=50)
        return {o.external_ref: uow.orders.get(o.id) for o in found}


@pytest.mark.postgres
def test_an_import_on_postgresql_leaves_the_planner_knowing_the_new_table_sizes(
    migrated_postgres_url, tmp_path
):
    # Without it, judging a large import ran on empty-table statistics: sequential scans throughout.
    application = make_application(migrated_postgres_url, SimulatedClock(LATER))
    data, mapping_file = write(tmp_path, "\n", bom=False)
    try:
        rules = mapping_from_dict(csv_files.read_toml(mapping_file))
        result = import_history(
            application.services,
            lambda: csv_files.rows(data, encoding=rules.encoding, delimiter=rules.delimiter),
            rules,
            source=data.name,
        )
        assert result.imported == 3
        with application.engine.connect() as conn:
            # reltuples is -1 for a table never analyzed; ANALYZE sets it to the rows it found.
            planned = dict(
                conn.execute(
                    text(
                        "SELECT relname, reltuples FROM pg_class "
                        "WHERE relname IN ('orders', 'order_lines', 'shipments')"
                    )
                ).all()
            )
    finally:
        application.close()
    assert planned == {"orders": 3, "order_lines": 4, "shipments": 2}


def test_a_mapping_mistake_names_the_key_and_imports_nothing(tmp_path):
    with pytest.raises(InvalidInput) as e:
        mapping_from_dict({"columns": {"order_ref": "id", "ordered_at": "t", "colour": "c"}})
    assert (e.value.code, e.value.field) == ("mapping_invalid", "columns.colour")
    with pytest.raises(InvalidInput) as e:
        mapping_from_dict({"columns": {"order_ref": "id", "ordered_at": "t"}, "status": {"x": "teleported"}})
    assert e.value.field == "status.x"
    with pytest.raises(InvalidInput) as e:
        mapping_from_dict({"columns": {"order_ref": "id"}})
    assert e.value.code == "mapping_invalid"


def test_a_file_without_a_mapped_column_is_refused_before_anything_is_written(cli, tmp_path):
    data, mapping = write(tmp_path, "\n", bom=False)
    mapping.write_text(MAPPING_TEXT.replace('carrier = "Mode"', 'carrier = "Shipping Mode"'))
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 2 and "column_missing" in result.output and "Shipping Mode" in result.output


@pytest.mark.parametrize("bad_row", [0, 1, 2])
def test_an_order_with_a_rejected_row_is_imported_whole_after_the_row_is_corrected(
    cli, migrated_database_url, tmp_path, bad_row
):
    lines = [
        "B-1;1;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;MUG;2;9.50;Air;",
        "B-1;2;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;VASE;1;20.00;Air;",
        "B-1;3;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;LAMP;1;30.00;Air;",
        "B-2;1;2025-03-02 10:00:00;03-Mar-25;05/03/2025;06-Mar-25;Done;C2;MUG;1;9.50;Air;",
    ]
    broken = list(lines)
    broken[bad_row] = broken[bad_row].replace("02-Mar-25", "31-Feb-25")  # no such day
    data, mapping = tmp_path / "history.csv", tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TEXT)
    data.write_text("\n".join([HEADER, *broken]) + "\n")

    first = cli("import", "history", str(data), "--mapping", str(mapping))
    assert first.exit_code == 0, first.output
    assert row(first.output, "orders imported") == 1  # B-2 alone: nothing of B-1 is half-written
    with (tmp_path / "history.csv.rejects.csv").open(newline="") as f:
        rejects = list(csv.DictReader(f))
    failing = str(bad_row + 2)  # the file's row number (the header is row 1)
    assert sorted(r["row"] for r in rejects) == ["2", "3", "4"]
    assert {r["order_ref"] for r in rejects} == {"B-1"}
    for r in rejects:
        expected = "invalid_date" if r["row"] == failing else "order_row_rejected"
        assert r["code"] == expected, r
        assert r["column"] == "Shipped"
        if r["code"] == "order_row_rejected":
            assert f"row {failing} of order B-1" in r["message"]

    data.write_text("\n".join([HEADER, *lines]) + "\n")
    second = cli("import", "history", str(data), "--mapping", str(mapping))
    assert second.exit_code == 0, second.output
    assert row(second.output, "orders imported") == 1 and row(second.output, "already imported") == 1
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        orders = stored_orders(application)
    finally:
        application.close()
    assert [x.sku for x in orders["B-1"].lines] == ["MUG", "VASE", "LAMP"]


def test_report_says_where_the_orders_are_when_its_period_has_none_and_refuses_a_reversed_one(cli, tmp_path):
    data, mapping = write(tmp_path, "\n", bom=False)
    assert cli("import", "history", str(data), "--mapping", str(mapping)).exit_code == 0
    # The default period is the last 30 days; the history is of March 2025.
    empty = cli("report")
    assert empty.exit_code == 0, empty.output
    assert "The store's orders were placed from 2025-03-01 to 2025-03-02" in empty.output
    assert "--from 2025-03-01 --to 2025-03-02" in empty.output
    # Years at once, as history analysis needs; reversed, refused as the API refuses it.
    assert "2023-01-01..2025-12-31" in cli("report", "--from", "2023-01-01", "--to", "2025-12-31").output
    reversed_period = cli("report", "--from", "2025-03-05", "--to", "2025-03-01")
    assert reversed_period.exit_code == 2 and "invalid_period" in reversed_period.output


def test_a_row_cut_short_is_rejected_with_both_field_counts(cli, tmp_path):
    data, mapping = tmp_path / "history.csv", tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TEXT)
    rows = [
        ROWS[0],
        # Cut after the mapped columns' last one would be read silently; cut before, as "no column".
        "C-1;1;2025-03-02 11:00:00;03-Mar-25;05/03/2025;06-Mar-25;Done;C1;MUG;1;9.50",
        # One field more, empty: a trailing delimiter.
        "C-2;1;2025-03-02 11:00:00;03-Mar-25;05/03/2025;06-Mar-25;Done;C1;MUG;1;9.50;Air;;",
        "C-3;1;2025-03-02 11:00:00;03-Mar-25;05/03/2025;06-Mar-25;Done;C1;MUG;1;9.50;Air;4;oops",
    ]
    data.write_text("\n".join([HEADER, *rows]) + "\n")
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    with (tmp_path / "history.csv.rejects.csv").open(newline="") as f:
        rejects = {r["order_ref"]: r for r in csv.DictReader(f)}
    assert set(rejects) == {"C-1", "C-3"}  # a trailing empty field is a trailing delimiter
    assert rejects["C-1"]["code"] == "row_field_count"
    assert "11 field(s) where the header names 13" in rejects["C-1"]["message"]
    assert "14 field(s) where the header names 13" in rejects["C-3"]["message"]


def test_a_file_that_is_not_utf8_is_refused_at_its_true_line_and_offset(cli, tmp_path):
    data, mapping = tmp_path / "history.csv", tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TEXT)
    good = "\n".join([HEADER, *(ROWS[0].replace("A-1", f"D-{i}") for i in range(3000))]) + "\n"
    bad = "E-1;1;2025-03-01 10:00:00;02-Mar-25;04/03/2025;05-Mar-25;Done;C1;CAF\xc9;1;9.50;Air;\n"
    data.write_bytes(good.encode() + bad.encode("latin-1"))
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 2
    offset = len(good.encode()) + bad.encode("latin-1").index(b"\xc9")
    assert f"line 3002, byte {offset:,}" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ('order_ref = "Order"', "order_ref = 42"),
        ('delimiter = ";"', 'delimiter = [";"]'),
        ('ordered_at = "Ordered"\n', ""),
        ('delimiter = ";"', 'delimeter = ";"'),
        ("[defaults]", "[default]"),
        ('delimiter = ";"', "delimiter = 1"),
    ],
)
def test_a_mapping_mistake_is_a_message_and_exit_2_not_a_traceback(cli, tmp_path, change, field):
    data, mapping = write(tmp_path, "\n", bom=False)
    mapping.write_text(MAPPING_TEXT.replace(change, field))
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 2, result.output
    assert "mapping_invalid" in result.output and "Traceback" not in result.output


FALLBACK_MAPPING = """
[file]
delimiter = ","
missing = ["Date Not Captured"]
missing_patterns = ["N/A.*", "1899-12-30.*"]
max_days_before_order = 2

[columns]
order_ref = "Ref"
ordered_at = ["Ordered", "PO date"]
promised_at = "Promised"
delivered_at = ["Delivered", "Delivered (carrier)"]
status = "State"

[formats]
"*" = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d"]

[status]
Done = "delivered"
"""
FALLBACK_ROWS = [
    "Ref,Ordered,PO date,Promised,Delivered,Delivered (carrier),State",
    # The order date from the second column; the delivery from the second (the first says why not).
    "F-1,N/A - From RDC,2025-03-01 10:00:00,2025-03-05,Date Not Captured,2025-03-04 12:00:00,Done",
    # A spreadsheet's zero date as the promise, matched by a pattern: missing, so not judged on time.
    "F-2,2025-03-01 10:00:00,,1899-12-30 08:13:00.000,2025-03-03 12:00:00,,Done",
    # A delivery 120 years before the order that no pattern caught: read as missing, and counted.
    "F-3,2025-03-01 10:00:00,,2025-03-05,1900-01-01 00:00:00,2025-03-06 09:00:00,Done",
]


def test_a_field_takes_the_first_of_its_columns_with_a_date_and_dates_before_the_order_are_missing(
    cli, migrated_database_url, tmp_path
):
    data, mapping = tmp_path / "fallbacks.csv", tmp_path / "fallbacks.toml"
    data.write_text("\n".join(FALLBACK_ROWS) + "\n")
    mapping.write_text(FALLBACK_MAPPING)
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert row(result.output, "orders imported") == 3 and row(result.output, "rows rejected") == 0
    assert row(result.output, "dates before their order, read as missing") == 1
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        orders = stored_orders(application)
        on_time = verdicts.perfect_order_report(application.services, *EVERYTHING)["all"].components[
            "on_time"
        ]
    finally:
        application.close()
    assert orders["F-1"].placed_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert orders["F-2"].promised_date != date(1899, 12, 30) and "on_time" in orders["F-2"].unmeasured
    # F-1 on time (4th, promised the 5th); F-3's delivery is the carrier's, a day late; F-2 not judged.
    assert (on_time.evaluated, on_time.failed) == (2, 1)


def test_an_order_delivered_at_an_unknown_time_is_judged_complete_and_not_measured_on_time(
    cli, migrated_database_url, tmp_path
):
    rows = [
        # Delivered, says the file, with a ship date and a promise but no delivery date.
        "G-1;1;2025-03-01 10:00:00;02-Mar-25;;05-Mar-25;Done;C1;MUG;2;9.50;Air;",
        # Delivered, with no date but the order's.
        "G-2;1;2025-03-01 11:00:00;;;;Done;C2;MUG;1;9.50;Air;",
    ]
    data, mapping = tmp_path / "history.csv", tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TEXT)
    data.write_text("\n".join([HEADER, *rows]) + "\n")
    assert cli("import", "history", str(data), "--mapping", str(mapping)).exit_code == 0
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        report = verdicts.perfect_order_report(application.services, *EVERYTHING)["all"]
        kpis, _ = verdicts.kpi_report(application.services, *EVERYTHING)
    finally:
        application.close()
    # Both judged (final, not pending forever): complete, and on time not measured.
    assert (report.orders, report.pending) == (2, 0)
    assert report.components["complete"].evaluated == 2 and report.components["complete"].failed == 0
    assert report.components["on_time"].evaluated == 0
    # No delivery time: no lead time, and no line judged on time in full.
    assert kpis.lead_time_hours.count == 0 and kpis.otif_lines_rate is None


def test_files_that_cannot_be_read_as_given_stop_with_a_message_and_exit_2(
    cli, migrated_database_url, tmp_path
):
    data, mapping = write(tmp_path, "\n", bom=False)
    # A quote opened and never closed: the rest of the file would be one cell of one row.
    lines = [HEADER, ROWS[0], ROWS[1].replace(";Air;", ';"Air;'), *ROWS[2:]]
    data.write_text("\n".join(lines) + "\n")
    quoted = cli("import", "history", str(data), "--mapping", str(mapping))
    assert quoted.exit_code == 2 and "never closed" in quoted.output and "line 3" in quoted.output
    # A folder where a file belongs, a mapping in Latin-1.
    folder = cli("import", "history", str(tmp_path), "--mapping", str(mapping))
    assert folder.exit_code == 2 and "file_unreadable" in folder.output
    latin = tmp_path / "latin.toml"
    latin.write_bytes(MAPPING_TEXT.replace("Void", "Annulé").encode("latin-1"))
    refused = cli("import", "history", str(data), "--mapping", str(latin))
    assert refused.exit_code == 2 and "not UTF-8" in refused.output
    # A byte-order mark before the mapping is read past, as before a CSV file.
    data.write_text("\n".join([HEADER, *ROWS]) + "\n")
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + MAPPING_TEXT.encode())
    assert cli("import", "history", str(data), "--mapping", str(bom)).exit_code == 0
    # A header that names a column twice: which one a field reads would be a guess.
    data.write_text("\n".join([HEADER + ";Order", *(r + ";X" for r in ROWS)]) + "\n")
    twice = cli("import", "history", str(data), "--mapping", str(bom))
    assert twice.exit_code == 2 and "duplicate_column" in twice.output and "columns 1 and 14" in twice.output
    # Report dates the calendar does not have.
    for bad in ("2025-02-30", "yesterday", "20250101"):
        answer = cli("report", "--from", bad)
        assert answer.exit_code == 2 and "YYYY-MM-DD" in answer.output, answer.output


def test_an_order_time_from_a_spreadsheets_zero_date_is_refused_or_taken_from_the_next_column(
    cli, migrated_database_url, tmp_path
):
    data, mapping = tmp_path / "zero.csv", tmp_path / "zero.toml"
    mapping.write_text(FALLBACK_MAPPING.replace('missing_patterns = ["N/A.*", "1899-12-30.*"]', ""))
    data.write_text(
        "\n".join(
            [
                FALLBACK_ROWS[0],
                "Z-1,1899-12-30 08:13:00.000,,2025-05-04,2025-05-03 10:00:00,,Done",
                "Z-2,1899-12-30 08:13:00.000,2025-05-01 10:00:00,2025-05-04,2025-05-03 10:00:00,,Done",
            ]
        )
        + "\n"
    )
    result = cli("import", "history", str(data), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert row(result.output, "orders imported") == 1
    with (tmp_path / "zero.csv.rejects.csv").open(newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [(r["order_ref"], r["code"], r["column"]) for r in rejects] == [
        ("Z-1", "implausible_date", "Ordered")
    ]
    application = make_application(migrated_database_url, SimulatedClock(LATER))
    try:
        assert stored_orders(application)["Z-2"].placed_at.year == 2025
    finally:
        application.close()
