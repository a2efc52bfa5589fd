"""Stored answers to requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.ports import StoredResponse

k = t.idempotency_keys


class SqlIdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, scope: str, key: str) -> StoredResponse | None:
        stmt = select(k.c.fingerprint, k.c.status_code, k.c.response).where(
            (k.c.scope == scope) & (k.c.key == key)
        )
        row = self._conn.execute(stmt).first()
        return StoredResponse(row.fingerprint, row.status_code, row.response) if row is not None else None

    def claim(self, scope: str, key: str, fingerprint: str, created_at: datetime) -> bool:
        """Inserts the key with an empty answer; False when it exists (then it is committed: an
        uncommitted one would have made this statement wait for its transaction)."""
        stmt = (
            insert_or_nothing(self._conn, k)
            .values(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                status_code=0,
                response={},
                created_at=created_at,
            )
            .returning(k.c.key)
        )
        return self._conn.execute(stmt).first() is not None

    def finish(self, scope: str, key: str, status_code: int, body: dict[str, Any]) -> None:
        self._conn.execute(
            update(k)
            .where((k.c.scope == scope) & (k.c.key == key))
            .values(status_code=status_code, response=body)
        )
