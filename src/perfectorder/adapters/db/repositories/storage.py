"""The database's own upkeep: monthly partitions (PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from perfectorder.adapters.db.partitions import ensure_partitions


class SqlStorage:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def ensure_partitions(self, now: datetime) -> list[str]:
        return ensure_partitions(self._conn, now)
