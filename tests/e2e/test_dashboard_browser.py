"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the real server
(uvicorn in its own process) on a store the simulator filled through the services.

Screenshots of every page, at laptop and phone widths, are saved under test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.factories import order_payload
from tests.live_server import ServerProcess, run_cli

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "e2e-password-Quokka-42"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCENARIO = """
name = "e2e"
seed = 7
[run]
start = "{start}"
days = {days}
orders_per_day = 6
[catalog]
products = 30
[customers]
customers = 120
repeat = 0.5
[warehouses]
initial_stock = 60
[errors]
wrong_pick = 0.03
packing_error = 0.02
payment_decline = 0.03
[carriers.DHL]
share = 0.6
delay = 0.15
damage = 0.04
[carriers.UPS]
service = "express"
share = 0.4
transit_days = [1, 2]
delay = 0.05
"""


@dataclass(frozen=True)
class Store:
    base: str
    key: str
    user: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'store.db'}"
    # 70 simulated days up to today: the default overview period (final verdicts only) has orders.
    days = 70
    start = (datetime.now(UTC) - timedelta(days=days)).date()
    scenario = folder / "e2e.toml"
    scenario.write_text(SCENARIO.format(start=start.isoformat(), days=days))
    run_cli(url, "db", "upgrade")
    run_cli(url, "simulate", str(scenario))
    run_cli(url, "risk", "train")  # the worker's daily job: the board can then list orders by risk
    _purchase_order(url)
    key = run_cli(url, "demo", "seed").strip().splitlines()[-1].strip()
    run_cli(url, "users", "create", "ellen", "--role", "admin", "--password", PASSWORD)
    server = ServerProcess(url)
    server.start()
    try:
        yield Store(server.base, key, "ellen")
    finally:
        server.stop()


def _purchase_order(url: str) -> None:
    """A supplier and a PO sent, its date moved and partly received with a rejection, as an operator
    would do it from the command line."""
    run_cli(url, "suppliers", "add", "NORDKAPP", "Nordkapp Trading", "--lead-time-days", "7")
    run_cli(url, "suppliers", "add-product", "NORDKAPP", "SIM-00001", "NK-1", "3.10", "EUR", "--pack-size=6")
    made = run_cli(url, "po", "create", "NORDKAPP", "BER", "SIM-00001=24")
    found = re.search(r"\(id (\d+)\)", made)
    assert found, made
    po_id = found.group(1)
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    run_cli(url, "po", "send", po_id)
    run_cli(url, "po", "change-date", po_id, later, "container held at the port")
    run_cli(url, "po", "receive", po_id, "SIM-00001", "--accepted=10", "--rejected=2", "--reason=damaged")


@pytest.fixture
def page(chromium, store):
    context = chromium.new_context(viewport=LAPTOP, base_url=store.base)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.goto("/login")
    tab.fill("input[name=username]", store.user)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button:has-text('Log in')")
    tab.wait_for_url(re.compile(r".*/$"))
    tab.problems = problems
    yield tab
    context.close()
    assert problems == [], problems


def _api(store: Store) -> httpx.Client:
    return httpx.Client(base_url=store.base, headers={"Authorization": f"Bearer {store.key}"}, timeout=30)


def _shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(tab) -> bool:
    return tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_every_page_loads_without_console_errors_at_laptop_and_phone_widths(page, store):
    with _api(store) as api:
        customer = api.get("/api/v1/orders", params={"limit": 1}).json()["items"][0]["customer_id"]
        order = api.get("/api/v1/orders", params={"limit": 1, "status": "delivered"}).json()["items"][0]["id"]
        purchase_order = api.get("/api/v1/purchase-orders", params={"limit": 1}).json()[0]["id"]
    pages = {
        "overview": "/",
        "improvement": "/improvement",
        "improvement-by-cost": "/improvement?rank=cost",
        "orders": "/orders",
        "orders-late": "/orders?view=late",
        "orders-by-risk": "/orders?sort=risk&desc=true",
        "order": f"/orders/{order}",
        "inventory": "/inventory",
        "customers": "/customers",
        "customer": f"/customers/{customer}",
        "returns": "/returns",
        "loyalty": "/loyalty",
        "replenishment": "/replenishment?view=all",
        "stock-ageing": "/replenishment?view=ageing",
        "carriers": "/carriers",
        "suppliers": "/suppliers",
        "purchase-orders": "/purchase-orders",
        "purchase-orders-partly-received": "/purchase-orders?status=partially_received",
        "purchase-order": f"/purchase-orders/{purchase_order}",
    }
    for name, path in pages.items():
        for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, (path, answer and answer.status)
            assert page.locator("main h1, main h2").first.is_visible(), path
            assert _fits(page), f"{path} scrolls sideways at {width} width"
            _shot(page, f"{name}-{width}")
    # Orders by predicted risk: the riskiest first, each with its chance and action.
    page.set_viewport_size(LAPTOP)
    page.goto("/orders?sort=risk&desc=true")
    chances = [
        int(x.rstrip("%")) for x in page.locator("#orders tbody td.num span:first-child").all_text_contents()
    ]
    assert chances and chances == sorted(chances, reverse=True)
    # The charts are drawn, with their axis labels.
    page.goto("/")
    assert page.locator("svg.chart:visible polyline").count() == 1
    assert "perfect order rate (%)" in page.locator("svg.chart:visible").first.text_content()
    page.goto("/returns")
    assert page.locator("svg.chart:visible").count() == 2


# The size a chart's text is drawn at on screen: its font size times the drawing's scale.
_SMALLEST_LABEL = """() => Math.min(...[...document.querySelectorAll('svg.chart text')]
    .filter(t => t.getClientRects().length > 0)
    .map(t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a))"""


def test_chart_labels_are_readable_on_a_laptop_and_a_phone(page, store):
    # Drawn once at 720 wide and scaled to a phone, they were about 5 px tall.
    for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for path in ("/", "/returns"):
            page.goto(path)
            smallest = page.evaluate(_SMALLEST_LABEL)
            assert smallest >= 11, f"{path} at {width} width draws chart labels at {smallest:.1f} px"
            assert _fits(page), f"{path} scrolls sideways at {width} width"
        page.goto("/")
        _shot(page, f"overview-labels-{width}")


def test_the_overview_figures_equal_the_apis_for_the_same_period_and_filters(page, store):
    page.goto("/")
    start, end = page.input_value("input[name=from]"), page.input_value("input[name=to]")
    with _api(store) as api:
        whole = api.get("/api/v1/metrics/perfect-order", params={"from": start, "to": end}).json()
        by_channel = api.get(
            "/api/v1/metrics/perfect-order", params={"from": start, "to": end, "group_by": "channel"}
        ).json()
    overall = whole["groups"]["all"]
    assert overall["orders"] > 20, "the simulated store should have final orders in the default period"
    assert page.text_content("#perfect-order-rate") == f"{overall['perfect_order_rate'] * 100:.1f}%"
    assert page.text_content("#final-orders") == str(overall["orders"])
    for component, figures in overall["components"].items():
        assert page.text_content(f"#rate-{component}") == f"{figures['rate'] * 100:.1f}%", component
    _shot(page, "overview")
    # Filter to one channel through the form, as a user would.
    page.select_option("select[name=group_by]", "channel")
    page.click("button:has-text('Show')")
    channel = sorted(by_channel["groups"], key=lambda k: -by_channel["groups"][k]["orders"])[0]
    page.select_option("select[name=key]", channel)
    page.click("button:has-text('Show')")
    page.wait_for_url(re.compile(rf".*key={channel}.*"))
    sliced = by_channel["groups"][channel]
    assert page.text_content("#final-orders") == str(sliced["orders"])
    assert page.text_content("#perfect-order-rate") == f"{sliced['perfect_order_rate'] * 100:.1f}%"
    assert channel in page.text_content("#scope")
    _shot(page, "overview-one-channel")


def test_the_improvement_page_says_where_failures_concentrate_and_ranks_them_by_cost(page, store):
    page.goto("/improvement")
    start, end = page.input_value("input[name=from]"), page.input_value("input[name=to]")
    page.click("#rank-toggle")
    page.wait_for_url(re.compile(r".*rank=cost.*"))
    with _api(store) as api:
        period = {"from": start, "to": end, "limit": 25, "rank": "cost"}
        ranked = api.get("/api/v1/metrics/improvements", params=period).json()
    assert ranked, "the simulated store should have failures to fix"
    # The page's costs and ranking are the API's, amounts with their currency's decimals.
    costs = [c.split("\n")[0].strip() for c in page.locator("#failures td.cost").all_inner_texts()]
    assert costs == [f"{Decimal(i['cost']['total']):,.2f} {i['cost']['currency']}" for i in ranked]
    shown = page.locator("#failures li.cause").all_text_contents()
    expected = [c["sentence"] for i in ranked for c in i["concentrations"][:3]]
    assert expected and all(any(s in text for text in shown) for s in expected)
    for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        assert page.locator("#failures li.cause").first.is_visible()
        assert _fits(page), f"the improvement page scrolls sideways at {width} width"
        _shot(page, f"improvement-causes-{width}")


def test_clicking_a_failure_lands_on_orders_that_have_that_reason(page):
    page.goto("/improvement")
    first = page.locator("a.failure").first
    failure = first.get_attribute("data-failure")
    assert failure, "the simulated store should have failures to fix"
    first.click()
    page.wait_for_url(re.compile(r".*/orders\?failure=.*"))
    _shot(page, "improvement-orders")
    links = page.locator("#orders tbody a[href^='/orders/']")
    count = links.count()
    assert count > 0
    hrefs = [links.nth(i).get_attribute("href") for i in range(min(count, 4))]
    for href in hrefs:
        page.goto(href)
        assert page.locator(f'#reasons li[data-failure="{failure}"]').count() == 1, (href, failure)


def test_releasing_a_hold_from_the_order_page_changes_its_state_and_shows_in_the_timeline(page, store):
    with _api(store) as api:
        placed = api.post("/api/v1/orders", json=order_payload(external_ref="E2E-HOLD-1"))
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        held = api.post(f"/api/v1/orders/{order_id}/holds", json={"reason": "risk", "note": "new address"})
        assert held.status_code == 200, held.text
    page.goto("/orders?view=holds")
    page.click(f"#holds a[href='/orders/{order_id}']")
    assert page.text_content("#status") == "on_hold"
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.fill("input[name=note]", "address confirmed by phone")
    page.click("button.release")
    page.wait_for_selector("p.notice")
    assert asked and "Release the risk hold" in asked[0]
    assert page.text_content("#status") == "approved"
    timeline = page.text_content("#timeline")
    assert "order.hold_released" in timeline and "address confirmed by phone" in timeline
    _shot(page, "order-after-release")
    with _api(store) as api:
        assert api.get(f"/api/v1/orders/{order_id}").json()["status"] == "approved"


def test_tables_sort_and_page(page):
    page.goto("/orders?sort=id&desc=false")
    ids = [int(x) for x in re.findall(r"#(\d+)", page.locator("#orders tbody").text_content())]
    assert ids == sorted(ids) and len(ids) == 50
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r".*page=2.*"))
    more = [int(x) for x in re.findall(r"#(\d+)", page.locator("#orders tbody").text_content())]
    assert more and min(more) > max(ids)
    # A table shown whole sorts in the browser: the component rates, by clicking a header.
    page.goto("/")
    page.click("table.components th:has-text('failed')")
    failed = [int(x) for x in page.locator("table.components tbody td:nth-child(3)").all_text_contents()]
    assert failed == sorted(failed)
