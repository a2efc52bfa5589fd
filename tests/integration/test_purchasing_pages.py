"""The dashboard's supplier and purchase-order pages show the API's figures, to whom may read stock;
tests/e2e drives the same pages in Chromium."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.domain.access import ROLE_PERMISSIONS, Permission, Role
from perfectorder.web.common import money
from tests.integration.test_dashboard_pages import _login
from tests.integration.test_purchasing import SKU, make_supplier


class _Tables(HTMLParser):
    """The text of every cell of every table with an id, row by row (header rows included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables.setdefault(self._table or "", [])
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


@pytest.fixture
def analyst(application):
    with _login(application, "ada", Role.ANALYST) as http:
        yield http


def _purchase_orders(client: TestClient) -> tuple[dict, dict]:
    """A PO whose date moved, partly received with a rejection, and a draft in another currency."""
    make_supplier(client)
    made = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 24}]},
    ).json()
    url = f"/api/v1/purchase-orders/{made['id']}"
    client.post(f"{url}/send")
    client.post(f"{url}/change-date", json={"promised_date": "2026-12-15", "reason": "kiln repair"})
    client.post(f"{url}/receipts", json={"sku": SKU, "accepted": 10, "note": "first pallet"})
    client.post(f"{url}/receipts", json={"sku": SKU, "rejected": 2, "reason": "wrong_item"})
    assert client.post(
        "/api/v1/suppliers", json={"code": "FJORD", "name": "Fjord Fabrikk", "lead_time_days": 9}
    ).is_success
    assert client.post(
        "/api/v1/suppliers/FJORD/products",
        json={"sku": SKU, "supplier_sku": "FJ-7", "unit_cost": "38.5", "currency": "NOK"},
    ).is_success
    draft = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "FJORD", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 3}]},
    ).json()
    return client.get(url).json(), draft


def test_the_purchase_order_list_shows_the_apis_figures_newest_first(client, analyst):
    moved, draft = _purchase_orders(client)
    page = analyst.get("/purchase-orders")
    assert page.status_code == 200
    rows = tables(page.text)["purchase-orders"][1:]
    expected = [
        [
            po["number"],
            po["supplier"],
            po["warehouse"],
            po["status"].replace("_", " "),
            po["original_promised_date"],
            po["promised_date"] + (" moved" if po["promised_date"] != po["original_promised_date"] else ""),
            str(po["lines"]),
            str(po["ordered"]),
            str(po["received"]),
            str(po["rejected"]),
            money(po["value"], po["currency"]),
        ]
        for po in client.get("/api/v1/purchase-orders").json()
    ]
    assert rows == expected
    assert [r[0] for r in rows] == [draft["number"], moved["number"]]
    assert rows[1][5].endswith("moved") and rows[1][-1] == "100.80 EUR" and rows[0][-1] == "115.50 NOK"


def test_the_purchase_order_list_filters_by_status_and_supplier(client, analyst):
    moved, draft = _purchase_orders(client)

    def numbers(**params: str) -> list[str]:
        page = analyst.get("/purchase-orders", params=params)
        return [r[0] for r in tables(page.text)["purchase-orders"][1:]]

    assert numbers(status="partially_received") == [moved["number"]]
    assert numbers(supplier="FJORD") == [draft["number"]]
    assert numbers(status="received") == ["No purchase orders match."]
    # A link's typo shows every status rather than an error page.
    assert numbers(status="lost_at_sea") == [draft["number"], moved["number"]]


def test_the_purchase_order_page_shows_its_lines_receipts_and_timeline_as_the_api_does(client, analyst):
    po, _ = _purchase_orders(client)
    page = analyst.get(f"/purchase-orders/{po['id']}")
    assert page.status_code == 200
    found = tables(page.text)
    line = po["line_items"][0]
    assert found["lines"][1] == [
        line["sku"],
        str(line["quantity"]),
        str(line["received_qty"]),
        str(line["rejected_qty"]),
        str(line["outstanding"]),
        money(line["unit_cost"], "EUR"),
        money(po["value"], "EUR"),
    ]
    assert found["lines"][1][2:5] == ["10", "2", "14"]
    totals = [str(po[k]) for k in ("ordered", "received", "rejected")]
    assert found["lines"][-1] == ["total", *totals, "14", "", money(po["value"], "EUR")]
    assert [r[1:6] for r in found["receipts"][1:]] == [
        [r["sku"], str(r["accepted"]), str(r["rejected"]), (r["reason"] or "").replace("_", " "), r["note"]]
        for r in po["receipts"]
    ]
    assert found["receipts"][2][4] == "wrong item"
    assert [r[1] for r in found["timeline"][1:]] == [e["type"] for e in po["timeline"]]
    assert "reason: kiln repair" in found["timeline"][3][3]
    assert "moved</span> (first promised for " + po["original_promised_date"] in page.text


def test_the_suppliers_page_counts_products_and_open_purchase_orders(client, analyst):
    _purchase_orders(client)
    received = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": 6}]},
    ).json()
    client.post(f"/api/v1/purchase-orders/{received['id']}/send")
    client.post(f"/api/v1/purchase-orders/{received['id']}/receipts", json={"sku": SKU, "accepted": 6})
    page = analyst.get("/suppliers")
    assert page.status_code == 200
    rows = {r[0]: r for r in tables(page.text)["suppliers"][1:]}
    assert rows["FJORD"][1:3] == ["Fjord Fabrikk", "9 d"] and rows["FJORD"][5:] == ["1", "1"]
    # The received PO is not open; the partly received one is.
    assert rows["TIDEWATER"][4] == "orders@tidewater.example" and rows["TIDEWATER"][5:] == ["1", "1"]
    for code, row in rows.items():
        products = client.get(f"/api/v1/suppliers/{code}/products").json()
        listed = client.get("/api/v1/purchase-orders", params={"supplier": code}).json()
        still_open = [p for p in listed if p["status"] not in ("received", "cancelled")]
        assert row[5:] == [str(len(products)), str(len(still_open))], code
    assert 'href="/purchase-orders?supplier=FJORD"' in page.text


def test_a_missing_purchase_order_is_the_missing_page(analyst):
    for po_id in (9_999, 2**31 - 1):  # the largest id both databases store
        page = analyst.get(f"/purchase-orders/{po_id}")
        assert page.status_code == 404 and f"No purchase order {po_id}" in page.text
    # Beyond any stored id: the refusal every dashboard page gives such a number.
    assert analyst.get(f"/purchase-orders/{2**63 + 7}").status_code in (404, 422)


def test_reading_needs_stock_read_and_a_stranger_is_sent_to_log_in(application, client, monkeypatch):
    po, _ = _purchase_orders(client)
    paths = ("/suppliers", "/purchase-orders", f"/purchase-orders/{po['id']}")
    # Every staff role reads stock today; one without it shows that the pages ask for it.
    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.ANALYST, ROLE_PERMISSIONS[Role.ANALYST] - {Permission.STOCK_READ}
    )
    with _login(application, "cora", Role.ANALYST) as analyst:
        for path in paths:
            page = analyst.get(path)
            assert page.status_code == 403 and "stock:read" in page.text, path
    with TestClient(create_app(application=application), base_url="https://testserver") as stranger:
        for path in paths:
            assert stranger.get(path, follow_redirects=False).status_code == 303, path
