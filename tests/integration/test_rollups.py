"""The rollups the reports read always equal a rebuild from order facts, whatever happened in what order."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.api.app import create_app
from perfectorder.sample_data import load_sample_store
from perfectorder.services import verdicts
from tests.conftest import START, api_key, make_application
from tests.factories import order_payload
from tests.integration.test_communication import ship_one

ORDERS = 3
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["ship", "deliver", "damage", "feedback", "return", "cancel", "refresh", "later"]),
        st.integers(0, ORDERS - 1),
        st.integers(1, 6),
    ),
    min_size=4,
    max_size=16,
)


def carrier_event(http: TestClient, tracking: str, kind: str, when: datetime, n: int) -> None:
    event = {"carrier": "DHL", "event_id": f"{tracking}-{kind}-{n}", "tracking_number": tracking}
    http.post(
        "/api/v1/carrier-events",
        json={"events": [{**event, "type": kind, "occurred_at": when.isoformat(), "detail": "crushed"}]},
    )


def apply(http: TestClient, application, clock: SimulatedClock, ids: list[int], actions) -> None:
    shipped: set[int] = set()
    for n, (action, which, days) in enumerate(actions):
        order_id, tracking = ids[which], f"T-{which}"
        if action == "ship":
            if (
                order_id not in shipped
                and http.get(f"/api/v1/orders/{order_id}").json()["status"] == "approved"
            ):
                ship_one(http, order_id, tracking)
                shipped.add(order_id)
        elif action in ("deliver", "damage"):
            kind = "delivered" if action == "deliver" else "damaged"
            carrier_event(http, tracking, kind, clock.now() + timedelta(hours=days), n)
        elif action == "feedback":
            http.post(
                f"/api/v1/orders/{order_id}/feedback",
                json={
                    "rating": days % 5 + 1,
                    "arrived_complete": True,
                    "undamaged": days > 3,
                    "as_described": True,
                },
            )
        elif action == "return":
            http.post(
                f"/api/v1/orders/{order_id}/returns",
                json={"reason": "damaged_in_transit", "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1}]},
            )
        elif action == "cancel":
            http.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "customer called"})
        elif action == "refresh":
            verdicts.refresh(application.services)
        else:
            clock.advance(timedelta(days=days * 3))


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
@example(  # the whole cycle at least once, late facts after a refresh included
    [
        ("ship", 0, 1),
        ("ship", 1, 1),
        ("deliver", 0, 2),
        ("damage", 1, 1),
        ("refresh", 0, 1),
        ("deliver", 1, 5),
        ("feedback", 0, 2),
        ("return", 1, 1),
        ("cancel", 2, 1),
        ("later", 0, 6),
    ]
)
def test_incremental_rollups_equal_a_rebuild_and_the_order_by_order_report(sqlite_template, actions):
    clock = SimulatedClock(START)
    with TemporaryDirectory() as tmp:
        shutil.copyfile(sqlite_template, Path(tmp) / "po.db")  # migrated once, for every example
        application = make_application(f"sqlite:///{Path(tmp) / 'po.db'}", clock)
        try:
            load_sample_store(application.services)
            key = api_key(application)
            with TestClient(
                create_app(application=application), headers={"Authorization": f"Bearer {key}"}
            ) as http:
                ids = [http.post("/api/v1/orders", json=order_payload()).json()["id"] for _ in range(ORDERS)]
                apply(http, application, clock, ids, actions)
            clock.advance(timedelta(days=45))  # some verdicts final, so every count is exercised
            verdicts.refresh(application.services)  # the worker's job: reports only read
            day = datetime(START.year, START.month, START.day, tzinfo=UTC)
            period = (day - timedelta(days=1), day + timedelta(days=2))
            incremental = {
                g: verdicts.perfect_order_report(application.services, *period, group_by=g)
                for g in (None, "carrier", "warehouse", "channel", "category", "tier")
            }
            ranked = verdicts.improvement_report(application.services, *period)
            with application.services.uow(read_only=True) as uow:
                before = uow.verdicts.rollup_rows()
            verdicts.rebuild(application.services)
            with application.services.uow(read_only=True) as uow:
                assert uow.verdicts.rollup_rows() == before
            for group_by, report in incremental.items():
                scanned = verdicts._scanned_report(
                    application.services, *period, group_by=group_by, settings=verdicts.DEFAULT_SETTINGS
                )
                assert report == scanned, group_by
            assert ranked == verdicts.improvement_report(application.services, *period)
        finally:
            application.close()
