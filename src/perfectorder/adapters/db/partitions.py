"""Monthly partitions on PostgreSQL: the tables that grow with every order (the timeline, the
stock ledger, the outbox archive) get one partition per calendar month (UTC), made ahead of time.

A row whose month has no partition yet (an import of old orders, a simulation in the past, a
worker that was down at a month's turn) is never refused: it lands in the table's DEFAULT
partition, and the next `ensure_partitions` moves it into a partition of its own month.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

# table -> the column it is partitioned on
PARTITIONED = {
    "order_events": "occurred_at",
    "stock_movements": "created_at",
    "outbox_archive": "created_at",
    "outbox_attempts_archive": "attempted_at",
}
_PARTITION = re.compile(rf"^(?:{'|'.join(PARTITIONED)})_(?:default|\d{{4}}_\d{{2}})$")
MONTHS_AHEAD = 2
LOCK_WAIT = "2s"
# Two workers at a month's turn would both create it: one waits for the other instead.
_LOCK = "SELECT pg_advisory_xact_lock(7406310712)"
_EXISTING = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"
)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


def partition_plan(conn: Connection, now: datetime, ahead: int = MONTHS_AHEAD) -> list[tuple[str, date]]:
    """The partitions missing: this month's, the next `ahead` ones' and those of every month with
    rows in a default partition, as (table, month). Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return []
    missing = []
    for table, key in PARTITIONED.items():
        existing = set(conn.execute(_EXISTING, {"table": table}).scalars())
        if f"{table}_default" not in existing:
            continue  # an older schema: the migration that partitions it has not run
        wanted = {month := month_start(now.astimezone(UTC).date())}
        for _ in range(ahead):
            month = next_month(month)
            wanted.add(month)
        stray = conn.execute(
            text(
                f"SELECT DISTINCT date_trunc('month', {key} AT TIME ZONE 'UTC')::date "  # noqa: S608 - fixed names
                f"FROM {table}_default"
            )
        ).scalars()
        wanted.update(stray)
        missing += [(table, m) for m in sorted(wanted) if partition_name(table, m) not in existing]
    return missing


def make_partition(conn: Connection, table: str, month: date) -> str:
    """Makes one month's partition, moving its rows out of the default partition: "made", "exists"
    (another worker made it), "busy" (a lock was not free within LOCK_WAIT: try at the next round)
    or why it cannot be made. Meant for a transaction of its own: the locks it takes are held to
    the commit."""
    name = partition_name(table, month)
    conn.execute(text(_LOCK))
    found = conn.execute(
        text(
            "SELECT c.relispartition, coalesce(p.relname, '') FROM pg_class c LEFT JOIN pg_inherits i "
            "ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"name": name},
    ).first()
    if found is not None:
        if found[0] and found[1] == table:
            return "exists"
        # An operator detached the month (or made a table of that name): their rows are not ours
        # to move into it, and the month's new rows wait in the default partition meanwhile.
        return (
            f"{name} exists but is not a partition of {table}: rows of {month:%Y-%m} stay in "
            f"{table}_default until it is renamed or attached again"
        )
    savepoint = conn.begin_nested()
    try:
        # Waiting behind a long transaction would make every writer queue behind this one.
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        _create(conn, table, PARTITIONED[table], name, month)
    except DBAPIError as e:
        savepoint.rollback()
        if getattr(e.orig, "sqlstate", None) == "55P03":  # lock_not_available
            return "busy"
        raise
    savepoint.commit()
    return "made"


def ensure_partitions(conn: Connection, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Every partition of `partition_plan`, in the caller's transaction (the schema upgrade)."""
    made = []
    for table, month in partition_plan(conn, now, ahead):
        if make_partition(conn, table, month) == "made":
            made.append(partition_name(table, month))
    return made


def _create(conn: Connection, table: str, key: str, name: str, month: date) -> None:
    start, end = (f"'{m.isoformat()} 00:00:00+00'" for m in (month, next_month(month)))
    # The default partition is locked against writes first, so no row of this month can arrive
    # there between the move and the attach (which would refuse to attach).
    conn.execute(text(f"LOCK TABLE {table}_default IN EXCLUSIVE MODE"))
    conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {table}_default WHERE {key} >= {start} AND {key} < {end} "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
    )
    # The range as a constraint first: the attach then trusts it instead of scanning the rows.
    conn.execute(
        text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_month CHECK ({key} >= {start} AND {key} < {end})")
    )
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})"))
    conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_month"))


def is_partition(table_name: str) -> bool:
    """A partition of one of our tables (not a table of the schema: autogenerate skips it)."""
    return _PARTITION.match(table_name) is not None
