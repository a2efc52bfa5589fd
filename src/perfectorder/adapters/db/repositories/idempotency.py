"""Stored answers to requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.ports import StoredResponse

k = t.idempotency_keys
_THIS_KEY = (k.c.scope == bindparam("key_scope")) & (k.c.key == bindparam("key_value"))
# Built once, executed with parameters (see PerDialect): a keyed capture runs two of these.
_GET = select(k.c.fingerprint, k.c.status_code, k.c.response).where(_THIS_KEY)
_CLAIM = PerDialect(lambda conn: insert_or_nothing(conn, k).returning(k.c.key))
_FINISH = (
    update(k)
    .where(_THIS_KEY)
    .values(
        status_code=bindparam("answer_status"), response=bindparam("answer_body", type_=k.c.response.type)
    )
)


class SqlIdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, scope: str, key: str) -> StoredResponse | None:
        row = self._conn.execute(_GET, {"key_scope": scope, "key_value": key}).first()
        return StoredResponse(row.fingerprint, row.status_code, row.response) if row is not None else None

    def claim(self, scope: str, key: str, fingerprint: str, created_at: datetime) -> bool:
        """Inserts the key with an empty answer; False when it exists (then it is committed: an
        uncommitted one would have made this statement wait for its transaction)."""
        values = {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "status_code": 0,
            "response": {},
            "created_at": created_at,
        }
        return self._conn.execute(_CLAIM(self._conn), values).first() is not None

    def finish(self, scope: str, key: str, status_code: int, body: dict[str, Any]) -> None:
        self._conn.execute(
            _FINISH,
            {"key_scope": scope, "key_value": key, "answer_status": status_code, "answer_body": body},
        )
