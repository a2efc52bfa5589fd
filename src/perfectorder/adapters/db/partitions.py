"""Monthly partitions on PostgreSQL: the tables that grow with every order (the timeline, the
stock ledger, the outbox archive) get one partition per calendar month (UTC), made ahead of time.

A row whose month has no partition yet (an import of old orders, a simulation in the past, a
worker that was down at a month's turn) is never refused: it lands in the table's DEFAULT
partition, and the next `ensure_partitions` moves it into a partition of its own month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

# table -> the column it is partitioned on
PARTITIONED = {
    "order_events": "occurred_at",
    "stock_movements": "created_at",
    "outbox_archive": "created_at",
    "outbox_attempts_archive": "attempted_at",
}
_PARTITION = re.compile(rf"^(?:{'|'.join(PARTITIONED)})_(?:default|\d{{4}}_\d{{2}})$")
MONTHS_AHEAD = 2
# Two workers at a month's turn would both create it: one waits for the other instead.
_LOCK = "SELECT pg_advisory_xact_lock(7406310712)"
_EXISTING = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"
)


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    table: str
    name: str
    month: date | None  # None: the default partition
    rows: int


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


def ensure_partitions(conn: Connection, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Creates the partitions of this month, the next `ahead` ones and every month that has rows
    in a default partition (moving those rows); returns the partitions created. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return []
    conn.execute(text(_LOCK))
    created = []
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
        for month in sorted(wanted):
            name = partition_name(table, month)
            if name not in existing:
                _create(conn, table, key, name, month)
                created.append(name)
    return created


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


def partitions(conn: Connection) -> list[PartitionInfo]:
    """Each partitioned table's partitions with their (estimated) rows; empty on SQLite."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        text(
            "SELECT p.relname, c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = ANY(:tables) ORDER BY p.relname, c.relname"
        ),
        {"tables": list(PARTITIONED)},
    )
    found = []
    for table, name, estimate in rows:
        suffix = name.removeprefix(f"{table}_")
        month = None if suffix == "default" else date(int(suffix[:4]), int(suffix[5:7]), 1)
        found.append(PartitionInfo(table, name, month, estimate))
    return found


def is_partition(table_name: str) -> bool:
    """A partition of one of our tables (not a table of the schema: autogenerate skips it)."""
    return _PARTITION.match(table_name) is not None
