"""An order's live ETA over the API, the dashboard's order page and the customer's status page:
the configured transit until a lane is learned, the carrier's estimate once it gives one, stalled
tracking flagged when the carrier falls silent, and nothing left to wait for once delivered."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.services import status_page
from tests.conftest import api_key
from tests.factories import order_payload
from tests.integration.test_communication import ship_one
from tests.integration.test_dashboard_pages import _login


def event(client, tracking, kind, when, **extra):
    answer = client.post(
        "/api/v1/carrier-events",
        json={
            "events": [
                {
                    "carrier": "DHL",
                    "event_id": f"{tracking}-{kind}-{when}",
                    "tracking_number": tracking,
                    "type": kind,
                    "occurred_at": when,
                    **extra,
                }
            ]
        },
    )
    assert answer.status_code in (200, 201, 202), answer.text


def test_the_eta_follows_the_carrier_and_flags_silence(application, client, clock):
    order = client.post("/api/v1/orders", json=order_payload()).json()
    waiting = client.get(f"/api/v1/orders/{order['id']}/eta").json()
    assert (waiting["expected_date"], waiting["basis"], waiting["parcels"]) == (
        order["promised_date"],
        "promise",
        [],
    )
    assert (order["transit_days"], order["transit_basis"]) == (2, "configured")

    ship_one(client, order["id"], "ETA-1")
    shipped = client.get(f"/api/v1/orders/{order['id']}/eta").json()
    [parcel] = shipped["parcels"]
    assert (parcel["basis"], parcel["region"], parcel["stalled"]) == ("configured", "DE-10", False)
    assert shipped["expected_date"] == parcel["eta"] and shipped["basis"] == "configured"

    now = clock.now()
    event(
        client,
        "ETA-1",
        "in_transit",
        now.isoformat(),
        estimated_delivery=str((now + timedelta(days=6)).date()),
    )
    told = client.get(f"/api/v1/orders/{order['id']}/eta").json()
    assert (told["expected_date"], told["basis"]) == (str((now + timedelta(days=6)).date()), "carrier")

    # Three silent days (more than a lane without learned gaps allows): stalled, on every page.
    clock.advance(timedelta(days=3, hours=1))
    silent = client.get(f"/api/v1/orders/{order['id']}/eta").json()
    assert silent["stalled"] and silent["parcels"][0]["silent_hours"] > 72
    with TestClient(create_app(application=application)) as page:
        link = status_page.link_path(application.services, order["id"])
        shown = page.get(link)
    assert (
        shown.status_code == 200 and 'id="stalled"' in shown.text and "(the carrier's estimate)" in shown.text
    )

    with _login(application, "otto", Role.OPERATOR) as dashboard:
        order_page = dashboard.get(f"/orders/{order['id']}").text
    assert 'id="eta-stalled"' in order_page and "(carrier)" in order_page and "DE-10" in order_page

    event(client, "ETA-1", "delivered", clock.now().isoformat())
    done = client.get(f"/api/v1/orders/{order['id']}/eta").json()
    assert (done["expected_date"], done["basis"], done["parcels"][0]["basis"]) == (None, None, "delivered")


def test_another_channels_order_has_no_eta_to_read(application, client):
    order = client.post("/api/v1/orders", json=order_payload(channel="web")).json()
    with TestClient(create_app(application=application)) as phone:
        phone.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='phone')}"
        answer = phone.get(f"/api/v1/orders/{order['id']}/eta")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "order_not_found"
