"""Every process's cache of the reference data sees a change made anywhere within a second: two
applications (two caches, as two processes have) on one database; one adds a holiday through the
service, SQL by hand changes a warehouse, and the other sees both without restarting or waiting
for an expiry."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import text

from perfectorder.sample_data import load_sample_store
from perfectorder.services import catalog
from perfectorder.services.context import read
from tests.conftest import make_application


def reference(application):
    return read(application.services, lambda uow: uow.warehouses.reference())


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_change_made_elsewhere_reaches_every_cache_within_a_second(request, clock, database):
    url = (
        request.getfixturevalue("migrated_postgres_url")
        if database == "postgres"
        else request.getfixturevalue("migrated_sqlite_url")
    )
    one, other = make_application(url, clock), make_application(url, clock)
    try:
        load_sample_store(one.services)
        before = reference(other)  # cached in the other "process"
        holiday = date(2026, 12, 28)
        assert holiday not in before.calendar.holidays
        catalog.add_holiday(one.services, holiday, "Cache test day")
        with one.engine.begin() as conn:  # by hand, past every repository
            conn.execute(text("UPDATE warehouses SET handling_days = handling_days + 3"))
        assert reference(other) is before  # within the check interval: kept, no query
        time.sleep(1.1)
        after = reference(other)
        assert holiday in after.calendar.holidays
        assert [w.handling_days for w in after.warehouses] == [w.handling_days + 3 for w in before.warehouses]
        # Nothing changed since: the same object again, after a one-row version check.
        time.sleep(1.1)
        assert reference(other) is after
    finally:
        one.close()
        other.close()
