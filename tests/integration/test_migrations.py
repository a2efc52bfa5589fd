"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from perfectorder.adapters.db.engine import normalize_url
from perfectorder.adapters.db.migrate import head_revision, is_current, upgrade
from perfectorder.adapters.db.partitions import is_partition
from perfectorder.adapters.db.tables import metadata


def schema_names(name, kind, _parent):
    # A month's partition (or its index) is data management, not a table the code declares.
    return not (kind == "table" and is_partition(name))


def test_migrations_match_the_declared_tables(database_url):
    engine = create_engine(normalize_url(database_url))
    try:
        upgrade(engine)
        assert is_current(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": schema_names})
            diff = compare_metadata(context, metadata)
        assert diff == []
        checks = {c["name"] for c in inspect(engine).get_check_constraints("stock")}
        assert "ck_stock_reserved_within_on_hand" in checks
    finally:
        engine.dispose()


def test_upgrading_twice_is_harmless(sqlite_url):
    engine = create_engine(sqlite_url)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()
