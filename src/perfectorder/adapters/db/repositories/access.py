"""API keys, dashboard users, their sessions, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.ports import (
    ApiKeyRecord,
    AuditEntry,
    AuditRecord,
    SessionRecord,
    UserRecord,
)

k, u, s, a = t.api_keys, t.users, t.sessions, t.audit_log


class SqlAccessRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_key(self, record: ApiKeyRecord) -> int:
        values = {
            "name": record.name,
            "prefix": record.prefix,
            "secret_hash": record.secret_hash,
            "role": record.role,
            "channel": record.channel,
            "customer_id": record.customer_id,
            "created_at": record.created_at,
            "created_by": record.created_by,
        }
        key_id: int = self._conn.execute(insert(k).values(**values).returning(k.c.id)).scalar_one()
        return key_id

    def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = self._conn.execute(select(k).where(k.c.prefix == prefix)).first()
        return _key(row) if row is not None else None

    def keys(self) -> list[ApiKeyRecord]:
        return [_key(row) for row in self._conn.execute(select(k).order_by(k.c.id))]

    def revoke_key(self, key_id: int, at: datetime) -> bool:
        stmt = update(k).where((k.c.id == key_id) & k.c.revoked_at.is_(None)).values(revoked_at=at)
        return self._conn.execute(stmt).rowcount == 1

    def add_user(self, username: str, password_hash: str, role: str, created_at: datetime) -> int | None:
        stmt = (
            insert_or_nothing(self._conn, u)
            .values(
                username=username,
                password_hash=password_hash,
                role=role,
                failed_logins=0,
                created_at=created_at,
            )
            .returning(u.c.id)
        )
        row = self._conn.execute(stmt).first()
        return row.id if row is not None else None

    def user_by_name(self, username: str) -> UserRecord | None:
        row = self._conn.execute(select(u).where(u.c.username == username)).first()
        return _user(row) if row is not None else None

    def record_login_failure(self, user_id: int, locked_until: datetime | None) -> None:
        self._conn.execute(
            update(u)
            .where(u.c.id == user_id)
            .values(failed_logins=u.c.failed_logins + 1, locked_until=locked_until)
        )

    def reset_login_failures(self, user_id: int) -> None:
        self._conn.execute(update(u).where(u.c.id == user_id).values(failed_logins=0, locked_until=None))

    def add_session(
        self, token_hash: str, user_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
    ) -> None:
        self._conn.execute(
            insert(s).values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: str) -> SessionRecord | None:
        row = self._conn.execute(
            select(s.c.csrf_token, s.c.expires_at, s.c.ended_at, u)
            .select_from(s.join(u, u.c.id == s.c.user_id))
            .where(s.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return SessionRecord(_user(row), row.csrf_token, row.expires_at, row.ended_at)

    def end_session(self, token_hash: str, at: datetime) -> None:
        self._conn.execute(
            update(s).where((s.c.token_hash == token_hash) & s.c.ended_at.is_(None)).values(ended_at=at)
        )

    def add_audit(self, entry: AuditEntry) -> None:
        self._conn.execute(
            insert(a).values(
                occurred_at=entry.occurred_at,
                actor=entry.actor[:200],
                role=entry.role,
                method=entry.method[:10],
                path=entry.path[:500],
                status_code=entry.status_code,
                client=entry.client[:100],
                outcome=entry.outcome[:50],
            )
        )

    def audit(self, *, before_id: int | None, limit: int) -> list[AuditRecord]:
        stmt = select(a).order_by(a.c.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(a.c.id < before_id)
        return [
            AuditRecord(
                r.id,
                AuditEntry(
                    r.occurred_at, r.actor, r.role, r.method, r.path, r.status_code, r.client, r.outcome
                ),
            )
            for r in self._conn.execute(stmt)
        ]


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.name,
        row.prefix,
        row.secret_hash,
        row.role,
        row.channel,
        row.customer_id,
        row.created_at,
        row.created_by,
        row.revoked_at,
    )


def _user(row: Any) -> UserRecord:
    return UserRecord(row.id, row.username, row.password_hash, row.role, row.failed_logins, row.locked_until)
