"""The customer's status page in a real browser (Debian's Chromium, Playwright) against the real
server: the link is taken from the e-mail the worker sent to a real SMTP server (aiosmtpd); the
customer cancels one order (by keyboard), sends another elsewhere (an e-mail confirms it) and,
after its delivery, rates it and sends part of it back; the API shows each step. Screenshots at
phone and laptop widths go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.live_server import ServerProcess, run_cli
from tests.receivers import smtp_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def _worker_once(url: str, smtp_port: int, public_url: str) -> None:
    env = {
        **os.environ,
        "PERFECTORDER_DATABASE_URL": url,
        "PERFECTORDER_SMTP_PORT": str(smtp_port),
        "PERFECTORDER_PUBLIC_URL": public_url,
    }
    command = [str(Path(sys.executable).parent / "perfectorder"), "worker", "--once"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _link(inbox, external_ref: str, base: str) -> str:
    [mail] = [m for m in inbox.messages if m["Subject"] == f"Your order {external_ref} is confirmed"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    found = re.search(re.escape(base) + r"/status/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def _reserved(api: httpx.Client) -> int:
    [level] = api.get("/api/v1/stock", params={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER"}).json()
    return int(level["reserved"])


def _shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_customer_follows_the_emailed_link_cancels_rates_and_returns(chromium, tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    run_cli(url, "db", "upgrade")
    key = run_cli(url, "demo", "seed").strip().splitlines()[-1].strip()
    server = ServerProcess(url)
    server.start()
    api = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    try:
        first = api.post("/api/v1/orders", json=order_payload()).json()
        second = api.post("/api/v1/orders", json=order_payload()).json()
        with smtp_server() as (inbox, port):
            _worker_once(url, port, server.base)
            first_link = _link(inbox, first["external_ref"], server.base)
            second_link = _link(inbox, second["external_ref"], server.base)

        context = chromium.new_context(viewport=PHONE)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.goto(first_link)
        assert tab.locator("h1").inner_text() == "We are preparing your order"
        assert first["promised_date"] in tab.locator("#promised time").get_attribute("datetime")
        # Every form control has a label a screen reader reads out.
        unlabelled = tab.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
            ".filter(e => !(e.labels && e.labels.length)).map(e => e.name)"
        )
        assert unlabelled == []
        _shot(tab, "status-page-phone")
        # Cancel with the keyboard: the reason field, then Enter submits the form.
        before = _reserved(api)
        tab.focus("#cancel-reason")
        tab.keyboard.type("ordered twice")
        tab.keyboard.press("Enter")
        tab.wait_for_selector("#notice")
        assert tab.locator("h1").inner_text() == "Your order was cancelled"
        assert _reserved(api) == before - 2
        assert api.get(f"/api/v1/orders/{first['id']}").json()["status"] == "cancelled"

        # The second order goes elsewhere before picking: the new address shows, an e-mail says so.
        laptop = chromium.new_context(viewport=LAPTOP)
        wide = laptop.new_page()
        wide.goto(second_link)
        wide.fill("input[name=line1]", "Lindenallee 3")
        wide.fill("input[name=postal_code]", "20259")
        wide.fill("input[name=city]", "Hamburg")
        wide.click("#change-address-button")
        wide.wait_for_selector("#notice")
        assert "Lindenallee 3, 20259 Hamburg" in wide.locator("#address").inner_text()
        assert wide.locator("#expected time").get_attribute("datetime") >= second["promised_date"]
        with smtp_server() as (inbox, port):
            _worker_once(url, port, server.base)
            [moved] = [m for m in inbox.messages if str(m["Subject"]).startswith("New delivery address")]
            assert "Lindenallee 3" in moved.get_body(preferencelist=("plain",)).get_content()
        assert api.get(f"/api/v1/orders/{second['id']}").json()["shipping_address"]["city"] == "Hamburg"

        # Then it is shipped and delivered; the customer rates it and sends a unit back.
        ship_one(api, second["id"], "E2E-STATUS-1")
        api.post(
            "/api/v1/carrier-events",
            json={
                "events": [
                    {
                        "carrier": "DHL",
                        "event_id": "E2E-STATUS-1-delivered",
                        "tracking_number": "E2E-STATUS-1",
                        "type": "delivered",
                        "occurred_at": datetime.now(UTC).isoformat(),
                    }
                ]
            },
        ).raise_for_status()
        wide.goto(second_link)
        assert wide.locator("h1").inner_text() == "Your order was delivered"
        assert "E2E-STATUS-1" in wide.locator("#parcels + article, .parcel").first.inner_text()
        wide.check("input[name=rating][value='4']")
        wide.fill("#comment", "quick, one mug chipped")
        wide.click("#send-rating")
        wide.wait_for_selector("#your-rating")
        wide.check("input[name=sku][value='MUG-CERAMIC-BLUE']")
        wide.fill("input[name='qty:MUG-CERAMIC-BLUE']", "1")
        wide.select_option("#return-reason", "damaged_in_transit")
        wide.click("#send-return")
        wide.wait_for_selector("#returns")
        assert "waiting for the parcel" in wide.locator("#returns + ul").inner_text()
        _shot(wide, "status-page-laptop")
        timeline = api.get(f"/api/v1/orders/{second['id']}/timeline").json()["events"]
        actors = {e["type"]: e["actor"] for e in timeline}
        customer = f"customer:{second['customer_id']} (status page)"
        assert actors["order.feedback"] == customer and actors["order.return_authorized"] == customer

        assert problems == []
        # A tampered link: the same page that says nothing (its 404 is the one console message).
        answer = tab.goto(second_link[:-3] + "AAA")
        assert answer is not None and answer.status == 404
        assert tab.locator("h1").inner_text() == "This link does not open an order"
        assert second["external_ref"] not in tab.content()
        context.close()
        laptop.close()
    finally:
        api.close()
        server.stop()
