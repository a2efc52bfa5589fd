"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Date, Table, cast, func, type_coerce
from sqlalchemy.dialects import postgresql, sqlite

from perfectorder.adapters.db.tables import projection_refreshes


def insert_or_nothing(conn: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: a duplicate is an answer (no row back), not an exception
    that would poison a PostgreSQL transaction."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def mark_projection(conn: Connection) -> Any:
    """Records when a projection (name, refreshed_at) was last brought up to date."""
    table = projection_refreshes
    stmt = upsert(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.name], set_={"refreshed_at": stmt.excluded.refreshed_at}
    )


def upsert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def utc_day(moment: Any, pg: bool) -> Any:
    # SQLite holds naive UTC text; PostgreSQL an instant, whose UTC day is asked for by name.
    return cast(func.timezone("UTC", moment), Date) if pg else type_coerce(func.date(moment), Date)
