"""On time in full per line, the measure added through the registry (issue 17): judged line by
line from the parcels that really arrived, on SQLite and PostgreSQL, read back through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.metrics.kpi_rollup import DENOMINATOR, NUMERATOR, kpi_contributions, kpis_from_rollups
from perfectorder.metrics.kpis import kpis
from perfectorder.metrics.measures import OrderKpiFacts
from perfectorder.services import verdicts
from perfectorder.web.routes import kpi_rows
from tests.factories import order_payload
from tests.integration.test_metric_definitions import carrier_event

NOVEMBER = {"from": "2026-11-01", "to": "2026-12-01"}
TWO_LINES = [
    {"sku": "MUG-CERAMIC-BLUE", "quantity": 2, "unit_price": "12.90"},
    {"sku": "KETTLE-STEEL-17", "quantity": 1, "unit_price": "39.00"},
]


T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _order(oid: int, **changes: object) -> OrderKpiFacts:
    base: dict[str, object] = {
        "order_id": oid,
        "customer_id": oid,
        "placed_at": T0,
        "cancelled": False,
        "promised_ship_date": date(2026, 11, 2),
        "promised_date": date(2026, 11, 4),
        "reached": {"shipped": T0 + timedelta(hours=6), "delivered": T0 + timedelta(hours=50)},
        "lines_ordered": 3,
        "lines_due": 3,
        "outcome_known": True,
    }
    base.update(changes)
    return OrderKpiFacts(**base)  # type: ignore[arg-type]


def test_otif_per_line_on_a_hand_worked_table():
    orders = [
        _order(1, lines_on_time_in_full=3),  # all three lines in full, in time
        _order(2, lines_on_time_in_full=1),  # one line in time, two late or short
        _order(3, lines_on_time_in_full=0, lines_due=2, lines_ordered=3),  # a line cancelled in full
        _order(4, lines_on_time_in_full=0, outcome_known=False, reached={}),  # still open: not counted
        _order(5, lines_on_time_in_full=0, cancelled=True),  # cancelled: not counted
    ]
    result = kpis(orders)
    assert result.otif_lines_rate == pytest.approx(4 / 8)
    # From the daily rollups, the same.
    summed: dict[tuple[str, str, int], int] = {}
    for o in orders:
        for (_, *key), n in kpi_contributions(date(2026, 11, 2), o).items():
            summed[tuple(key)] = summed.get(tuple(key), 0) + n  # type: ignore[arg-type]
    assert summed[("otif_lines_rate" + NUMERATOR, "", 0)] == 4
    assert summed[("otif_lines_rate" + DENOMINATOR, "", 0)] == 8
    assert kpis_from_rollups(summed)[0].otif_lines_rate == pytest.approx(0.5)


def _two_lines():
    return order_payload(
        lines=TWO_LINES, payment={"method": "card", "status": "authorized", "authorized_amount": "64.80"}
    )


def _pick_everything(client, order_id):
    released = client.post(f"/api/v1/orders/{order_id}/release")
    assert released.status_code == 201, released.text
    for pick_list in released.json()["pick_lists"]:
        for task in client.get(f"/api/v1/pick-lists/{pick_list}").json()["tasks"]:
            scanned = client.post(
                f"/api/v1/pick-tasks/{task['id']}/scan",
                json={"code": task["sku"], "quantity": task["quantity"]},
            )
            assert scanned.status_code in (200, 201), scanned.text


def _ship(client, order_id, parcels):
    """Packs each parcel's items into a box of its own, then ships them: {tracking: [(sku, qty)]}."""
    box = {"weight_kg": "1", "length_cm": 20, "width_cm": 20, "height_cm": 20}
    packed = client.post(
        f"/api/v1/orders/{order_id}/packages",
        json={
            "packages": [
                {"items": [{"sku": sku, "quantity": n} for sku, n in items], **box}
                for items in parcels.values()
            ]
        },
    )
    assert packed.status_code in (200, 201), packed.text
    for package, tracking in zip(packed.json()["packages"], parcels, strict=True):
        shipped = client.post(
            f"/api/v1/orders/{order_id}/packages/{package}/ship",
            json={"carrier": "DHL", "tracking_number": tracking},
        )
        assert shipped.status_code in (200, 201), shipped.text


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, datetime.min.time(), UTC).replace(hour=hour).isoformat()


def test_otif_counts_each_line_by_the_parcels_that_arrived_by_the_promise(client, application, clock):
    # Order 1: the mugs arrive the day before the promise, the kettle two days after it.
    split = client.post("/api/v1/orders", json=_two_lines()).json()
    promised = date.fromisoformat(split["promised_date"])
    _pick_everything(client, split["id"])
    _ship(
        client,
        split["id"],
        {"JJD-OTIF-0001": [("MUG-CERAMIC-BLUE", 2)], "JJD-OTIF-0002": [("KETTLE-STEEL-17", 1)]},
    )
    # Order 2: both lines in one parcel, on the promised day (evening in Berlin, still that day).
    whole = client.post("/api/v1/orders", json=_two_lines()).json()
    _pick_everything(client, whole["id"])
    _ship(client, whole["id"], {"JJD-OTIF-0003": [("MUG-CERAMIC-BLUE", 2), ("KETTLE-STEEL-17", 1)]})
    # Order 3: one line, its parcel lost: it never arrived.
    lost = client.post("/api/v1/orders", json=order_payload()).json()
    _pick_everything(client, lost["id"])
    _ship(client, lost["id"], {"JJD-OTIF-0004": [("MUG-CERAMIC-BLUE", 2)]})
    # Order 4: still on its way: its outcome is unknown, so it is not counted yet.
    open_order = client.post("/api/v1/orders", json=order_payload()).json()
    _pick_everything(client, open_order["id"])
    _ship(client, open_order["id"], {"JJD-OTIF-0005": [("MUG-CERAMIC-BLUE", 2)]})

    # The carrier reports each event an hour after it happened.
    for tracking, kind, moment in sorted(
        [
            ("JJD-OTIF-0001", "delivered", _at(promised - timedelta(days=1), 10)),
            ("JJD-OTIF-0002", "delivered", _at(promised + timedelta(days=2), 10)),
            ("JJD-OTIF-0003", "delivered", _at(promised, 19)),  # 20:00 in Berlin, still the day
            ("JJD-OTIF-0004", "lost", _at(promised - timedelta(days=1), 9)),
        ],
        key=lambda e: e[2],
    ):
        clock.set(datetime.fromisoformat(moment) + timedelta(hours=1))
        carrier_event(client, tracking, kind, moment)
    clock.set(datetime.combine(promised + timedelta(days=3), datetime.min.time(), UTC))
    verdicts.refresh(application.services)  # as the worker does

    body = client.get("/api/v1/metrics/kpis", params=NOVEMBER).json()
    # Lines in time and in full: the mugs of order 1, both lines of order 2; of five lines due.
    assert body["otif_lines_rate"] == 3 / 5
    # Per order, order 1 is simply late (its last parcel decides), order 2 on time.
    assert body["on_time_delivery_rate"] == 1 / 2
    # The dashboard's overview lists it without a template change of its own.
    kpis, behaviour = verdicts.kpi_report(
        application.services, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert ("On time in full (lines)", "share", 3 / 5) in kpi_rows(kpis, behaviour)
