"""The database's own upkeep: monthly partitions (PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from perfectorder.adapters.db.partitions import make_partition, partition_plan


class SqlStorage:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def partition_plan(self, now: datetime) -> list[tuple[str, date]]:
        return partition_plan(self._conn, now)

    def make_partition(self, table: str, month: date) -> str:
        return make_partition(self._conn, table, month)
