"""The progress long jobs report as they go (see services.jobs), and the server's signing secrets
(services.status_page): small rows of the store's own housekeeping."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import upsert
from perfectorder.services.ports import JobProgress

j = t.job_progress
ss = t.signing_secrets


def _save(conn: Connection) -> object:
    stmt = upsert(conn, j)
    return stmt.on_conflict_do_update(
        index_elements=[j.c.name], set_={c.name: stmt.excluded[c.name] for c in j.c if c.name != "name"}
    )


_SAVE = PerDialect(_save)


class SqlJobRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save(self, progress: JobProgress) -> None:
        self._conn.execute(_SAVE(self._conn), asdict(progress))

    def unfinished(self) -> list[JobProgress]:
        rows = self._conn.execute(select(j).where(j.c.finished_at.is_(None)).order_by(j.c.started_at))
        return [JobProgress(**r._mapping) for r in rows]


class SqlSecretRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def secret(self, name: str) -> str | None:
        found: str | None = self._conn.execute(select(ss.c.secret).where(ss.c.name == name)).scalar()
        return found

    def replace_secret(self, name: str, secret: str, *, at: datetime) -> None:
        done = self._conn.execute(update(ss).where(ss.c.name == name).values(secret=secret, created_at=at))
        if done.rowcount == 0:
            self._conn.execute(ss.insert().values(name=name, secret=secret, created_at=at))
