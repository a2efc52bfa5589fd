"""The loyalty projection (each purchase's days to the customer's next one, each customer's rhythm),
kept by the verdict refresh as orders come, get cancelled, replaced and judged again, agrees with the
definition computed from every purchase at once; a store without it gets it built on the next
refresh; two refreshers judging orders of one customer at the same moment leave it right."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.tables import customer_rhythms, loyalty_purchases, projection_refreshes
from perfectorder.api.app import create_app
from perfectorder.domain.loyalty import loyalty
from perfectorder.sample_data import load_sample_store
from perfectorder.services import loyalty as loyalty_service
from perfectorder.services import verdicts
from perfectorder.services.context import read
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier
from tests.conftest import api_key, make_application
from tests.factories import order_payload
from tests.integration.test_loyalty import LOYAL

# Small, busy and eventful: customers come back, cancel on the status page, parcels get lost and
# are shipped again (replacements are not purchases), deliveries go late and damaged. 15 orders a
# day make 380-470 purchases with 9-18 reshipments and 15-23 status-page actions (seeds 1-4, 11).
EVENTFUL = replace(
    LOYAL,
    days=24,
    orders_per_day=15,
    customers=300,
    self_cancel=0.05,
    self_service=0.3,
    imperfect_factor=0.6,
    carriers=(Carrier("DHL", "standard", 1.0, (1, 2, 3), delay=0.15, delay_days=3, damage=0.05, loss=0.03),),
)
PERIODS = (
    (date(2026, 3, 2), date(2026, 3, 8)),
    (date(2026, 3, 2), date(2026, 3, 25)),
    (date(2026, 3, 9), date(2026, 4, 30)),
)

PAIRS = 40
PAIR_LINES = (("MUG-CERAMIC-BLUE", "12.90"), ("CANDLE-SOY-LARGE", "18.50"))


def every_purchase(application):
    return read(application.services, lambda uow: uow.verdicts.purchases())


def assert_agrees_with_the_definition(application, clock):
    purchases = every_purchase(application)
    assert len(purchases) > 300
    today = clock.now().date()
    for start, end in PERIODS:
        for window, k in ((5, 1.0), (14, 3.0), (30, 2.0)):
            expected = loyalty(purchases, start=start, end=end, today=today, window_days=window, k=k)
            got = loyalty_service.loyalty_report(application.services, start, end, window_days=window, k=k)
            assert got == expected, (start, end, window, k)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_kept_projection_agrees_with_the_definition_and_a_rebuild_gives_the_same(request, database):
    url = request.getfixturevalue(f"migrated_{database}_url")
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    application = make_application(url, clock)
    try:
        summary = simulate(application, clock, EVENTFUL)
        verdicts.refresh(application.services)
        assert summary.reshipped > 0 and summary.self_service > 0, summary
        # The report is read over time as the store changed: move the clock so windows close.
        clock.advance(timedelta(days=40))
        assert_agrees_with_the_definition(application, clock)
        lapsed = loyalty_service.loyalty_report(
            application.services, date(2026, 3, 2), date(2026, 3, 8), k=1.0
        )
        assert lapsed.lapsed_customers > 0 and lapsed.lapsed[0].last_order_on < clock.now().date()

        kept = stored_projection(application)
        # An upgraded store has the tables but nothing in them: the next refresh builds them.
        with application.engine.begin() as conn:
            conn.execute(delete(loyalty_purchases))
            conn.execute(delete(customer_rhythms))
            conn.execute(delete(projection_refreshes).where(projection_refreshes.c.name == "loyalty"))
        assert loyalty_service.loyalty_report(application.services, *PERIODS[1]).perfect.repeat.n == 0
        verdicts.refresh(application.services)
        assert stored_projection(application) == kept
        assert_agrees_with_the_definition(application, clock)
    finally:
        application.close()


def stored_projection(application):
    with application.engine.connect() as conn:
        purchases = set(conn.execute(select(loyalty_purchases)).all())
        rhythms = set(conn.execute(select(customer_rhythms)).all())
    return purchases, rhythms


@pytest.mark.postgres
def test_two_refreshers_judging_orders_of_one_customer_at_once_leave_the_projection_right(
    migrated_postgres_url,
):
    clock = SimulatedClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
    application = make_application(migrated_postgres_url, clock)
    try:
        load_sample_store(application.services)
        verdicts.refresh(application.services)
        with TestClient(create_app(application=application)) as client:
            client.headers["Authorization"] = f"Bearer {api_key(application)}"
            # Each of 40 customers orders in November and again in December: the two refreshers
            # below take one month's orders each, at the same moment, and share no rollup row.
            for month in range(2):
                for customer in range(PAIRS):
                    sku, price = PAIR_LINES[customer % 2]
                    answer = client.post(
                        "/api/v1/orders",
                        json=order_payload(
                            customer={"email": f"pair{customer}@example.com", "name": f"Pair {customer}"},
                            lines=[{"sku": sku, "quantity": 1, "unit_price": price}],
                            payment={"method": "card", "status": "authorized", "authorized_amount": price},
                        ),
                    )
                    assert answer.status_code == 201, answer.text
                clock.advance(timedelta(days=20 + month))
        start = threading.Barrier(2)

        def refresher():
            start.wait()
            verdicts.refresh(application.services, batch=PAIRS)

        threads = [threading.Thread(target=refresher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        purchases = every_purchase(application)
        by_order = {p.order_id: p for p in purchases}
        with application.engine.connect() as conn:
            rows = {r.order_id: r for r in conn.execute(select(loyalty_purchases))}
            rhythms = {r.customer_id: r for r in conn.execute(select(customer_rhythms))}
        assert set(rows) == set(by_order)
        pairs = {}
        for p in purchases:
            pairs.setdefault(p.customer_id, []).append(p)
        assert len(pairs) == PAIRS
        for customer, pair in pairs.items():
            first, second = sorted(pair, key=lambda p: (p.placed_on, p.order_id))
            assert rows[first.order_id].days_to_next == 20
            assert rows[second.order_id].days_to_next is None
            assert rhythms[customer].purchases == 2
    finally:
        application.close()
