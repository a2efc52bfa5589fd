"""Customer behaviour from the KPI rollups: the refresh keeps, per calendar month, how many customers
made each number of purchases, so a month's report reads a few rows however many customers bought;
exact after purchases come and go, after a rebuild, and under concurrent refreshers; on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.tables import kpi_rollups
from perfectorder.domain.orders import CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod
from perfectorder.metrics.kpi_rollup import (
    CUSTOMERS_BY_PURCHASES,
    MONTH_PURCHASES,
    PURCHASES,
    customers_by_purchases_moves,
)
from perfectorder.metrics.kpis import customer_behaviour
from perfectorder.services import verdicts
from perfectorder.services.orders import cancel_order
from perfectorder.services.placing import place_order
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier, Scenario
from tests.conftest import database_copy, make_application, migrated_database

# Across the end of March, with few customers who come back often: most of them buy several times
# in each month, so their counts move through several buckets.
SCENARIO = Scenario(
    name="regulars",
    seed=23,
    start=date(2026, 3, 27),
    days=8,
    orders_per_day=25,
    products=8,
    customers=30,
    repeat=0.7,
    initial_stock=40,
    carriers=(Carrier("DHL", "standard", 1.0, (1, 2)),),
)
MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def simulated(request):
    """The history, simulated once per database; the moment it was left at."""
    with migrated_database(request, request.param) as url:
        clock = SimulatedClock(_at(SCENARIO.start))
        application = make_application(url, clock)
        try:
            simulate(application, clock, SCENARIO)
            clock.advance(timedelta(days=3))  # still April
            verdicts.refresh(application.services)
        finally:
            application.close()
        yield url, clock.now()


@pytest.fixture
def store(simulated):
    """A copy of the simulated history of our own: the tests place, cancel and judge again."""
    url, now = simulated
    with database_copy(url) as copy:
        clock = SimulatedClock(now)
        application = make_application(copy, clock)
        try:
            yield application, clock
        finally:
            application.close()


def stored_histograms(application) -> dict[tuple[date, int], int]:
    """(month, purchases) -> customers, as the refresh stored them."""
    with application.services.uow(read_only=True) as uow:
        rows = uow.verdicts.rollup_rows()
    return {(r[1], int(r[3])): r[5] for r in rows if r[0] == "kpi" and r[2] == CUSTOMERS_BY_PURCHASES}


def exact_histograms(application, months=(MARCH, APRIL)) -> dict[tuple[date, int], int]:
    """(month, purchases) -> customers, counted order by order from the stored facts."""
    out: dict[tuple[date, int], int] = {}
    with application.services.uow(read_only=True) as uow:
        for first in months:
            facts = uow.verdicts.kpi_facts(first, (first + timedelta(days=32)).replace(day=1))
            bought = Counter(o.customer_id for o in facts if not o.cancelled and not o.replacement)
            for purchases, customers in Counter(bought.values()).items():
                out[(first, purchases)] = customers
    return out


def behaviour_from_facts(application, start: date, end: date):
    with application.services.uow(read_only=True) as uow:
        return customer_behaviour(uow.verdicts.kpi_facts(start, end))


def buy_again(application, customer_id: int, ref: str) -> int:
    command = PlaceOrder(
        channel=Channel.PHONE,
        external_ref=ref,
        currency="EUR",
        lines=(LineInput("SIM-00001", 1),),
        customer=CustomerInput(id=customer_id),
        payment=PaymentInput(PaymentMethod.CASH_ON_DELIVERY),
        backorder_policy=BackorderPolicy.ALLOW,
    )
    return place_order(application.services, command).id


def regulars(application) -> list[int]:
    """Customers who bought in April, the most frequent first."""
    with application.services.uow(read_only=True) as uow:
        facts = uow.verdicts.kpi_facts(APRIL, MAY)
    counted = Counter(o.customer_id for o in facts if not o.cancelled and not o.replacement)
    return [customer for customer, _ in counted.most_common()]


def requeue_everything(application, clock, *, clear: bool) -> None:
    with application.services.uow() as uow:
        if clear:
            uow.verdicts.clear()
        uow.verdicts.enqueue(uow.verdicts.order_ids(0, 100_000), at=clock.now())
        uow.commit()


def refresh_concurrently(application, *, refreshers: int = 4, batch: int = 3) -> None:
    """Several refreshers at once, each taking its own small batches off the queue."""
    start, failures = threading.Barrier(refreshers), []

    def refresher() -> None:
        try:
            start.wait()
            verdicts.refresh(application.services, batch=batch)
        except Exception as e:  # noqa: BLE001 - reported by the test below
            failures.append(e)

    threads = [threading.Thread(target=refresher) for _ in range(refreshers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_moving_a_customer_between_purchase_counts_moves_one_customer_between_buckets():
    moved = customers_by_purchases_moves(
        [
            (MARCH, 0, 1),  # a customer's first purchase
            (MARCH, 1, 3),  # another's two more in one batch
            (MARCH, 2, 1),  # one of a third's two cancelled
            (APRIL, 1, 0),  # the only one cancelled
            (APRIL, 2, 2),  # one cancelled, one placed: no move
        ]
    )
    assert moved == {
        (MARCH, CUSTOMERS_BY_PURCHASES, "1", 0): 1,  # +1 -1 +1
        (MARCH, CUSTOMERS_BY_PURCHASES, "3", 0): 1,
        (MARCH, CUSTOMERS_BY_PURCHASES, "2", 0): -1,
        (APRIL, CUSTOMERS_BY_PURCHASES, "1", 0): -1,
    }


def test_each_calendar_month_stores_how_many_customers_made_each_number_of_purchases(store):
    application, _ = store
    histograms = stored_histograms(application)
    assert histograms == exact_histograms(application)
    # The history really has regulars in both months.
    assert max(purchases for _, purchases in histograms) >= 3
    assert {month for month, _ in histograms} == {MARCH, APRIL}


def test_purchases_placed_and_cancelled_move_the_stored_histogram_exactly(store):
    application, clock = store
    loyal, second = regulars(application)[:2]
    again = [buy_again(application, loyal, f"PHONE-LOYAL-{i}") for i in range(3)]
    once_more = buy_again(application, second, "PHONE-SECOND-1")
    verdicts.refresh(application.services)
    assert stored_histograms(application) == exact_histograms(application)
    for order_id in (again[0], again[2], once_more):
        cancel_order(application.services, order_id, reason="customer changed their mind")
    verdicts.refresh(application.services)
    assert stored_histograms(application) == exact_histograms(application)
    # Judging every order again moves nothing; a rebuild stores the same histograms.
    requeue_everything(application, clock, clear=False)
    verdicts.refresh(application.services)
    assert stored_histograms(application) == exact_histograms(application)
    verdicts.rebuild(application.services)
    assert stored_histograms(application) == exact_histograms(application)


def test_a_calendar_months_report_counts_customers_from_its_histogram_not_from_a_row_per_customer(
    store,
):
    application, _ = store
    expected = behaviour_from_facts(application, APRIL, MAY)
    with application.engine.begin() as conn:
        conn.execute(delete(kpi_rollups).where(kpi_rollups.c.measure.in_([PURCHASES, MONTH_PURCHASES])))
    _, behaviour = verdicts.kpi_report(application.services, _at(APRIL), _at(MAY))
    assert behaviour == expected
    assert expected.customers > 10 and expected.repeat_purchase_rate


def test_other_periods_count_each_customer_once_however_many_months_they_span(store):
    application, _ = store
    periods = [
        (MARCH, MAY),  # two whole months: a customer of both counts once
        (date(2026, 3, 29), date(2026, 4, 3)),  # days across the month's end
        (date(2026, 4, 2), date(2026, 4, 5)),  # days within a month
        (APRIL, date(2026, 4, 30)),  # a month but its last day
    ]
    for start, end in periods:
        _, behaviour = verdicts.kpi_report(application.services, _at(start), _at(end))
        assert behaviour == behaviour_from_facts(application, start, end), (start, end)
        assert behaviour.customers > 0
    _, nobody = verdicts.kpi_report(application.services, _at(APRIL), _at(APRIL))
    assert nobody.customers == 0 and nobody.repeat_purchase_rate is None


def test_concurrent_refreshers_keep_the_histograms_exact(store):
    application, clock = store
    # Every order judged again from nothing by four refreshers at once, three orders a batch: the
    # same customers' months are moved by different refreshers at the same time.
    requeue_everything(application, clock, clear=True)
    refresh_concurrently(application)
    assert stored_histograms(application) == exact_histograms(application)
    # Then purchases come and go, and are refreshed concurrently too.
    loyal = regulars(application)[:6]
    placed = [buy_again(application, c, f"PHONE-RUSH-{c}-{i}") for c in loyal for i in range(2)]
    refresh_concurrently(application, batch=2)
    for order_id in placed[::3]:
        cancel_order(application.services, order_id, reason="ordered twice by mistake")
    requeue_everything(application, clock, clear=False)
    refresh_concurrently(application, batch=2)
    histograms = stored_histograms(application)
    assert histograms == exact_histograms(application)
    with application.services.uow(read_only=True) as uow:
        incremental = uow.verdicts.rollup_rows()
    verdicts.rebuild(application.services)
    with application.services.uow(read_only=True) as uow:
        assert uow.verdicts.rollup_rows() == incremental
