"""The carrier scorecard on a simulated store with two carriers that delay, damage and lose
parcels: the service's figures equal the API's, the dashboard shows them, and both equal a plain
parcel-by-parcel count from the tables (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db import tables as t
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.domain.transit import nearest_rank, region, transit_working_days
from perfectorder.services import carriers
from perfectorder.services.context import read
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier
from tests.conftest import api_key, make_application
from tests.integration.test_dashboard_pages import _login
from tests.integration.test_loyalty import LOYAL

START, END = date(2026, 3, 2), date(2026, 3, 15)
STORE = replace(
    LOYAL,
    days=14,
    orders_per_day=30,
    customers=800,
    next_order=0.0,
    carriers=(
        Carrier("DHL", "standard", 0.6, (1, 2, 2, 3), delay=0.2, delay_days=3, damage=0.05, loss=0.03),
        Carrier("GLS", "economy", 0.4, (2, 3, 4), delay=0.1, delay_days=2, damage=0.08),
    ),
)


def by_hand(application, start, end):
    """Each parcel from the tables, counted one by one with the plain working-day loop."""
    calendar = read(application.services, lambda uow: uow.warehouses.reference().calendar)
    services = read(application.services, lambda uow: uow.warehouses.reference().services)
    with application.engine.connect() as conn:
        parcels = conn.execute(
            select(t.shipments, t.orders.c.ship_country, t.orders.c.ship_postal_code, t.orders.c.transit_days)
            .join(t.orders, t.orders.c.id == t.shipments.c.order_id)
            .where(t.shipments.c.shipped_at >= datetime(start.year, start.month, start.day, tzinfo=UTC))
        ).all()
        events = defaultdict(list)
        for e in conn.execute(select(t.carrier_events)):
            events[e.shipment_id].append(e)
        claimed = set(conn.execute(select(t.claims.c.shipment_id)).scalars())
    groups = defaultdict(list)
    for p in parcels:
        shipped_on = p.shipped_at.astimezone(UTC).date()
        if shipped_on > end:
            continue
        lane = (p.carrier, p.service, p.warehouse_id, region(p.ship_country, p.ship_postal_code, 2))
        for key in (lane[:1], lane[:2], lane):
            groups[key].append(p)
    found = {}
    for key, group in groups.items():
        delivered = [p for p in group if p.delivered_at]
        took = {
            p.id: transit_working_days(
                p.shipped_at.astimezone(UTC).date(), p.delivered_at.astimezone(UTC).date(), calendar
            )
            for p in delivered
        }
        promised = {
            p.id: p.transit_days if p.transit_days is not None else services[p.service].transit_days
            for p in group
        }
        transit = sorted(took.values())
        found[key] = {
            "parcels": len(group),
            "delivered": len(delivered),
            "on_time": sum(1 for p in delivered if took[p.id] <= promised[p.id]),
            "damaged": sum(1 for p in group if any(e.type == "damaged" for e in events[p.id])),
            "lost": sum(1 for p in group if any(e.type == "lost" for e in events[p.id])),
            "claims": sum(1 for p in group if p.id in claimed),
            "scanned_in_time": sum(
                1
                for p in group
                if events[p.id]
                and (min(e.occurred_at for e in events[p.id]) - p.shipped_at).total_seconds() <= 24 * 3600
            ),
            "transit_p50": nearest_rank(transit, 0.5) if transit else None,
            "transit_p90": nearest_rank(transit, 0.9) if transit else None,
        }
    return found


def figures(scores):
    return {
        name: getattr(scores, name)
        for name in (
            "parcels",
            "delivered",
            "on_time",
            "damaged",
            "lost",
            "claims",
            "scanned_in_time",
            "transit_p50",
            "transit_p90",
        )
    }


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_scorecard_equals_the_api_the_page_and_a_parcel_by_parcel_count(request, database):
    url = request.getfixturevalue(f"migrated_{database}_url")
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    application = make_application(url, clock)
    try:
        simulate(application, clock, STORE)
        card = carriers.carrier_scorecard(application.services, START, END)
        expected = by_hand(application, START, END)
        rows = {(r.carrier,): r for r in card.carriers}
        rows |= {(r.carrier, r.service): r for r in card.services}
        rows |= {(r.carrier, r.service, r.warehouse_id, r.region): r for r in card.lanes}
        assert set(rows) == set(expected)
        for key, row in rows.items():
            assert figures(row.scores) == expected[key], key
        dhl = rows[("DHL",)].scores
        assert dhl.lost > 0 and dhl.damaged > 0 and dhl.claims > 0 and 0 < dhl.on_time < dhl.on_time_measured

        with TestClient(create_app(application=application)) as http:
            http.headers["Authorization"] = f"Bearer {api_key(application)}"
            answer = http.get("/api/v1/metrics/carriers", params={"from": str(START), "to": str(END)})
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        for r in shown["carriers"] + shown["services"] + shown["lanes"]:
            key = tuple(
                x for x in (r["carrier"], r["service"], r["warehouse_id"], r["region"]) if x is not None
            )
            assert {k: r["scores"][k] for k in ("parcels", "on_time", "damaged", "lost", "claims")} == {
                k: expected[key][k] for k in ("parcels", "on_time", "damaged", "lost", "claims")
            }
        weeks = {(p["period"], p["carrier"]): p["scores"]["parcels"] for p in shown["trend"]}
        assert sum(n for (_, c), n in weeks.items() if c == "DHL") == dhl.parcels

        with _login(application, "cara", Role.ANALYST) as page:
            html = page.get("/carriers", params={"from": str(START), "to": str(END)}).text
        assert f"{dhl.on_time_rate * 100:.1f}%" in html and 'id="lanes"' in html
    finally:
        application.close()
