"""Growth: monthly partitions of the timeline and the stock ledger (PostgreSQL), and delivered
messages archived out of the outbox without changing what an order was told."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from perfectorder.adapters.db.engine import normalize_url
from perfectorder.adapters.db.migrate import alembic_config, upgrade
from perfectorder.adapters.db.partitions import make_partition
from perfectorder.api.app import create_app
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from perfectorder.sample_data import load_sample_store
from perfectorder.services import dispatch, housekeeping
from perfectorder.services.facts import order_facts
from tests.conftest import api_key, make_application
from tests.factories import order_payload
from tests.integration.test_communication import dispatcher, drain
from tests.receivers import smtp_server

pytestmark = pytest.mark.postgres
EVENTS = text("SELECT id, order_id, type, occurred_at FROM order_events ORDER BY id")


def where_rows_are(conn, table: str) -> dict[str, int]:
    rows = conn.execute(text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"))  # noqa: S608
    return dict(rows.all())


def months(table: str, conn) -> set[str]:
    return set(
        conn.execute(
            text(f"SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = '{table}'::regclass")
        ).scalars()
    )


@pytest.fixture
def store(postgres_url, clock):
    application = make_application(postgres_url, clock, webhook_allow=("127.0.0.1",))
    load_sample_store(application.services)
    with TestClient(create_app(application=application), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {api_key(application)}"
        yield application, client
    application.close()


def test_a_month_without_its_partition_keeps_its_rows_until_the_worker_makes_it(store, clock):
    application, client = store
    # The clock of the tests is in a month before the real one: the migration made the real
    # month and the two after it, not this one.
    clock.set(datetime(2025, 3, 31, 23, 0, tzinfo=UTC))
    first = client.post("/api/v1/orders", json=order_payload()).json()
    timeline = client.get(f"/api/v1/orders/{first['id']}/timeline").json()
    with application.engine.connect() as conn:
        assert where_rows_are(conn, "order_events") == {"order_events_default": len(timeline["events"])}
        # The sample store's receipts (November 2026) are in no partition yet either.
        assert set(where_rows_are(conn, "stock_movements")) == {"stock_movements_default"}

    upkeep = housekeeping.keep_house(application.services)

    made = set(upkeep.partitions)
    assert {"order_events_2025_03", "stock_movements_2025_03", "stock_movements_2026_11"} <= made
    assert "order_events_2025_05" in made  # the clock's month and the two after it
    with application.engine.connect() as conn:
        assert where_rows_are(conn, "order_events") == {"order_events_2025_03": len(timeline["events"])}
        ledger = set(where_rows_are(conn, "stock_movements"))
        assert ledger == {"stock_movements_2025_03", "stock_movements_2026_11"}
        assert conn.execute(text("SELECT count(*) FROM stock_movements_default")).scalar() == 0
    assert client.get(f"/api/v1/orders/{first['id']}/timeline").json() == timeline
    # Nothing left to do: a second round makes nothing.
    assert housekeeping.keep_house(application.services).partitions == ()
    # The next month's partition exists before its first row: a row of 1 April goes there.
    clock.set(datetime(2025, 4, 1, 0, 30, tzinfo=UTC))
    second = client.post("/api/v1/orders", json=order_payload()).json()
    assert second["id"] > first["id"]
    with application.engine.connect() as conn:
        assert where_rows_are(conn, "order_events")["order_events_2025_04"] >= 1
        assert "order_events_default" not in where_rows_are(conn, "order_events")


def test_two_workers_making_the_same_months_at_once_both_succeed(store, clock):
    application, client = store
    clock.set(datetime(2024, 7, 15, tzinfo=UTC))
    client.post("/api/v1/orders", json=order_payload())
    made: list[tuple[str, ...]] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            made.append(housekeeping.keep_house(application.services).partitions)
        except BaseException as e:  # noqa: BLE001 - the test reports it
            failed.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    # Each month made once, by one or the other, and nothing left for a third round.
    both = [*made[0], *made[1]]
    assert len(both) == len(set(both)) and "order_events_2024_07" in both
    assert housekeeping.keep_house(application.services).partitions == ()


def test_upgrading_a_store_partitions_its_rows_and_downgrading_gives_them_back(postgres_url, clock):
    engine = create_engine(normalize_url(postgres_url))
    upgrade(engine, "0029")
    # A store with orders in two months, written before the tables were partitioned.
    app = build(Settings(database_url=postgres_url), clock=clock)
    try:
        load_sample_store(app.services)
        with TestClient(create_app(application=app), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {api_key(app)}"
            for at in (datetime(2026, 9, 3, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)):
                clock.set(at)
                assert client.post("/api/v1/orders", json=order_payload()).status_code == 201
    finally:
        app.close()
    with engine.connect() as conn:
        before = conn.execute(
            text("SELECT id, order_id, type, occurred_at FROM order_events ORDER BY id")
        ).all()
        ledger = conn.execute(text("SELECT count(*), max(id) FROM stock_movements")).one()

    upgrade(engine)

    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT id, order_id, type, occurred_at FROM order_events ORDER BY id")).all()
            == before
        )
        assert {"order_events_2026_09", "order_events_2026_10"} <= months("order_events", conn)
        assert set(where_rows_are(conn, "order_events")) == {"order_events_2026_09", "order_events_2026_10"}
        assert conn.execute(text("SELECT count(*), max(id) FROM stock_movements")).one() == ledger
        key = conn.execute(
            text(
                "SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = 'order_events'::regclass AND i.indisprimary"
            )
        ).scalar()
        assert key == ["id", "occurred_at"]
        # The id sequence goes on from where it was.
        assert conn.execute(text("SELECT nextval('order_events_id_seq')")).scalar() > before[-1].id

    upgrade_down(engine, "0029")
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT id, order_id, type, occurred_at FROM order_events ORDER BY id")).all()
            == before
        )
        assert (
            conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'order_events'")).scalar() == "r"
        )
    engine.dispose()


def upgrade_down(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_delivered_messages_move_to_the_archive_and_the_order_still_tells_them(database, request, clock):
    url = request.getfixturevalue(f"{database}_url")
    application = make_application(url, clock, webhook_allow=("127.0.0.1",))
    load_sample_store(application.services)
    try:
        with (
            smtp_server() as (inbox, port),
            TestClient(create_app(application=application), raise_server_exceptions=False) as client,
        ):
            client.headers["Authorization"] = f"Bearer {api_key(application)}"
            sent = client.post("/api/v1/orders", json=order_payload()).json()
            drain(dispatcher(application, port), clock, rounds=2)
            assert len(inbox.messages) == 1
            # Queued later and never sent (the mail server is gone by then): stays in the outbox.
            clock.advance(timedelta(days=20))
            waiting = client.post("/api/v1/orders", json=order_payload()).json()
            told = client.get(f"/api/v1/orders/{sent['id']}/messages").json()
            facts = order_facts(application.services, sent["id"])
            assert told[0]["status"] == "delivered"

            clock.advance(timedelta(days=11))  # the delivered one is now 31 days old
            with application.engine.connect() as conn:
                # The e-mail, and the order's events handed on to webhooks and the relay.
                delivered = conn.execute(
                    text("SELECT count(*) FROM outbox WHERE status = 'delivered'")
                ).scalar()
                attempts = conn.execute(text("SELECT count(*) FROM outbox_attempts")).scalar()
            upkeep = housekeeping.keep_house(application.services)

            assert upkeep.archived == delivered >= 1
            with application.engine.connect() as conn:
                queued = set(conn.execute(text("SELECT order_id, status FROM outbox")).all())
                assert queued == {(waiting["id"], "pending")}
                assert conn.execute(text("SELECT count(*) FROM outbox_attempts")).scalar() == 0
                assert conn.execute(text("SELECT count(*) FROM outbox_attempts_archive")).scalar() == attempts
            assert client.get(f"/api/v1/orders/{sent['id']}/messages").json() == told
            assert order_facts(application.services, sent["id"]) == facts
            listed = dispatch.outbox_listing(application.services, status=None, limit=10)
            assert {(m.order_id, m.status) for m in listed} == {
                (waiting["id"], "pending"),
                (sent["id"], "delivered"),
            }
            assert housekeeping.keep_house(application.services).archived == 0
    finally:
        application.close()


def test_orders_are_placed_while_a_month_is_being_moved(store, clock):
    application, client = store
    clock.set(datetime(2025, 3, 10, tzinfo=UTC))
    assert client.post("/api/v1/orders", json=order_payload()).status_code == 201  # a stray row
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # a month with its partition
    placed: list[int] = []
    with application.engine.connect() as conn, conn.begin():
        # The move holds its locks until this transaction ends.
        assert make_partition(conn, "order_events", date(2025, 3, 1)) == "made"
        worker = threading.Thread(
            target=lambda: placed.append(client.post("/api/v1/orders", json=order_payload()).status_code)
        )
        worker.start()
        worker.join(timeout=10)
        # Before 0030 dropped the events' foreign key, the attach locked orders against writes.
        assert placed == [201]


def test_a_detached_month_is_reported_and_does_not_stop_the_rest(store, clock):
    application, client = store
    clock.set(datetime(2025, 3, 10, tzinfo=UTC))
    client.post("/api/v1/orders", json=order_payload())
    housekeeping.keep_house(application.services)
    with application.engine.begin() as conn:
        conn.execute(text("ALTER TABLE order_events DETACH PARTITION order_events_2025_03"))
    client.post("/api/v1/orders", json=order_payload())  # lands in the default partition
    clock.set(datetime(2025, 6, 2, tzinfo=UTC))

    upkeep = housekeeping.keep_house(application.services)

    assert upkeep.problems == (
        "order_events 2025-03: order_events_2025_03 exists but is not a partition of order_events: "
        "rows of 2025-03 stay in order_events_default until it is renamed or attached again",
    )
    assert "order_events_2025_08" in upkeep.partitions  # the months ahead are still made
    upgrade(application.engine)  # and the schema upgrade still runs


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_outbox_emptied_by_the_archive_never_hands_out_an_archived_id(database, request, clock):
    application = make_application(request.getfixturevalue(f"{database}_url"), clock)
    load_sample_store(application.services)
    try:
        with smtp_server() as (_inbox, port):
            client = TestClient(create_app(application=application), raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {api_key(application)}"
            client.post("/api/v1/orders", json=order_payload())
            drain(dispatcher(application, port), clock, rounds=2)
            clock.advance(timedelta(days=31))
            assert housekeeping.keep_house(application.services).archived >= 1
            with application.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 0
            client.post("/api/v1/orders", json=order_payload())
            drain(dispatcher(application, port), clock, rounds=2)
            clock.advance(timedelta(days=31))
            assert housekeeping.keep_house(application.services).archived >= 1
        with application.engine.connect() as conn:
            ids = conn.execute(text("SELECT id FROM outbox_archive")).scalars().all()
            attempts = conn.execute(text("SELECT id FROM outbox_attempts_archive")).scalars().all()
        assert len(ids) == len(set(ids)) and len(attempts) == len(set(attempts))
    finally:
        application.close()
