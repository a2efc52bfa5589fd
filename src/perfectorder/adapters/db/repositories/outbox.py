"""Outbox rows, their delivery attempts, and webhook subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.outbox_ports import MessageRecord, NewMessage, Subscription

ob, sub, arc = t.outbox, t.webhook_subscriptions, t.outbox_archive
# Every message, queued or archived: what an order was told does not change when it is archived.
messages = union_all(select(ob), select(*(arc.c[c.name] for c in ob.c))).subquery("messages")
# Oldest first, so a stopped archiver resumes where it was; skipped when a worker holds one.
_ARCHIVABLE = (
    select(ob.c.id)
    .where((ob.c.status == "delivered") & (ob.c.delivered_at < bindparam("before")))
    .order_by(ob.c.id)
    .limit(bindparam("size"))
)
_ENQUEUE = insert(ob)
# The worker's statements, built once: it runs them for every batch and every message.
_DUE = or_(
    and_(ob.c.status == "pending", ob.c.next_attempt_at <= bindparam("now")),
    and_(ob.c.status == "sending", ob.c.locked_until < bindparam("now")),
)
_CLAIM = select(ob.c.id).where(_DUE).order_by(ob.c.id).limit(bindparam("size"))
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True)
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LEASE = (
    update(ob)
    .where(ob.c.id.in_(_IDS))
    .values(status="sending", locked_by=bindparam("worker"), locked_until=bindparam("lease_until"))
)
_SUBSCRIPTIONS = select(sub).order_by(sub.c.id)
_MESSAGES = select(ob).where(ob.c.id.in_(_IDS)).order_by(ob.c.id)
_ATTEMPT = insert(t.outbox_attempts)
_DELIVERED_VALUES: dict[str, Any] = {
    "status": "delivered",
    "delivered_at": bindparam("at"),
    "attempts": ob.c.attempts + 1,
    "locked_until": None,
    "recipient": bindparam("to"),
    "last_error": None,
}
_DELIVERED = update(ob).where(ob.c.id.in_(_IDS)).values(**_DELIVERED_VALUES)
_DELIVERED_ONE = update(ob).where(ob.c.id == bindparam("oid")).values(**_DELIVERED_VALUES)


class SqlOutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def enqueue(self, messages: Sequence[NewMessage], *, ignore_duplicates: bool = False) -> None:
        """`ignore_duplicates`: a message id already queued is skipped (a fan-out run again)."""
        if messages:
            self._conn.execute(
                insert_or_nothing(self._conn, ob) if ignore_duplicates else _ENQUEUE,
                [
                    {
                        "message_id": m.message_id,
                        "kind": m.kind,
                        "topic": m.topic,
                        "order_id": m.order_id,
                        "subscription_id": m.subscription_id,
                        "recipient": m.recipient,
                        "payload": dict(m.payload),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": m.created_at,
                        "created_at": m.created_at,
                    }
                    for m in messages
                ],
            )

    def claim(self, *, worker: str, now: datetime, lease_until: datetime, limit: int) -> list[MessageRecord]:
        """Takes due messages for this worker. On PostgreSQL rows locked by another worker are skipped,
        so workers never wait for or double-send each other's messages; a crashed worker's lease
        expires and its messages become due again."""
        pick = _CLAIM_LOCKED if self._conn.dialect.name == "postgresql" else _CLAIM
        ids = [r.id for r in self._conn.execute(pick, {"now": now, "size": limit})]
        if not ids:
            return []
        self._conn.execute(_LEASE, {"ids": ids, "worker": worker[:100], "lease_until": lease_until})
        rows = self._conn.execute(_MESSAGES, {"ids": ids})
        return [message_record(r) for r in rows]

    def record_attempt(
        self, outbox_id: int, *, at: datetime, ok: bool, error: str | None, worker: str
    ) -> None:
        self._conn.execute(
            _ATTEMPT,
            {
                "outbox_id": outbox_id,
                "attempted_at": at,
                "ok": ok,
                "error": (error or "")[:500] or None,
                "worker": worker[:100],
            },
        )

    def fanned_out(self, outbox_ids: Sequence[int], *, at: datetime, recipient: str, worker: str) -> None:
        if not outbox_ids:
            return
        self._succeeded([(i, at) for i in outbox_ids], worker)
        self._conn.execute(_DELIVERED, {"ids": list(outbox_ids), "at": at, "to": recipient[:500]})

    def delivered_to(self, deliveries: Sequence[tuple[int, str, datetime]], *, worker: str) -> None:
        if not deliveries:
            return
        self._succeeded([(i, at) for i, _, at in deliveries], worker)
        self._conn.execute(_DELIVERED_ONE, [{"oid": i, "at": at, "to": to[:500]} for i, to, at in deliveries])

    def _succeeded(self, attempts: Sequence[tuple[int, datetime]], worker: str) -> None:
        self._conn.execute(
            _ATTEMPT,
            [
                {"outbox_id": i, "attempted_at": at, "ok": True, "error": None, "worker": worker[:100]}
                for i, at in attempts
            ],
        )

    def failed(self, outbox_id: int, *, attempts: int, retry_at: datetime | None, error: str) -> None:
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "last_error": error[:500]}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values.update(status="pending", next_attempt_at=retry_at)
        self._conn.execute(update(ob).where(ob.c.id == outbox_id).values(**values))

    def for_order(self, order_id: int) -> list[MessageRecord]:
        m = messages.c
        rows = self._conn.execute(
            select(messages).where((m.order_id == order_id) & (m.kind != "event")).order_by(m.id)
        )
        return [message_record(r) for r in rows]

    def listing(self, *, status: str | None, limit: int) -> list[MessageRecord]:
        # The archive holds delivered messages only: a look for dead or pending ones skips it.
        source = messages if status in (None, "delivered") else ob
        stmt = select(source).order_by(source.c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(source.c.status == status)
        return [message_record(r) for r in self._conn.execute(stmt)]

    def archive_delivered(self, *, before: datetime, at: datetime, limit: int) -> int:
        """Moves up to `limit` messages delivered before `before`, with their attempts, to the
        archive; returns how many moved."""
        pick = (
            _ARCHIVABLE.with_for_update(skip_locked=True)
            if self._conn.dialect.name == "postgresql"
            else _ARCHIVABLE
        )
        ids = list(self._conn.execute(pick, {"before": before, "size": limit}).scalars())
        if not ids:
            return 0
        attempts = t.outbox_attempts
        self._conn.execute(
            insert(arc).from_select(
                [*ob.c.keys(), "archived_at"],
                select(*ob.c, literal(at, t.outbox_archive.c.archived_at.type)).where(ob.c.id.in_(ids)),
            )
        )
        self._conn.execute(
            insert(t.outbox_attempts_archive).from_select(
                list(attempts.c.keys()), select(attempts).where(attempts.c.outbox_id.in_(ids))
            )
        )
        self._conn.execute(delete(attempts).where(attempts.c.outbox_id.in_(ids)))
        self._conn.execute(delete(ob).where(ob.c.id.in_(ids)))
        return len(ids)

    def retry(self, outbox_id: int, *, at: datetime) -> bool:
        stmt = (
            update(ob)
            .where((ob.c.id == outbox_id) & (ob.c.status == "dead"))
            .values(status="pending", next_attempt_at=at, attempts=0)
        )
        return self._conn.execute(stmt).rowcount == 1

    def add_subscription(self, *, url: str, secret: str, event_types: Sequence[str], at: datetime) -> int:
        subscription_id: int = self._conn.execute(
            insert(sub)
            .values(
                url=url,
                secret=secret,
                event_types=list(event_types),
                active=True,
                consecutive_failures=0,
                created_at=at,
            )
            .returning(sub.c.id)
        ).scalar_one()
        return subscription_id

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription(
                r.id,
                r.url,
                r.secret,
                tuple(r.event_types),
                r.active,
                r.consecutive_failures,
                r.created_at,
                r.previous_secret,
                r.previous_secret_until,
            )
            for r in self._conn.execute(_SUBSCRIPTIONS)
        ]

    def remove_subscription(self, subscription_id: int) -> bool:
        if self._conn.execute(delete(sub).where(sub.c.id == subscription_id)).rowcount != 1:
            return False
        # A message a worker holds right now is refused when it reads the subscription to send.
        self._conn.execute(
            update(ob)
            .where((ob.c.subscription_id == subscription_id) & (ob.c.status == "pending"))
            .values(status="dead", last_error="the subscription was deleted", locked_until=None)
        )
        return True

    def rotate_secret(self, subscription_id: int, *, secret: str, previous_until: datetime) -> bool:
        stmt = (
            update(sub)
            .where(sub.c.id == subscription_id)
            .values(previous_secret=sub.c.secret, previous_secret_until=previous_until, secret=secret)
        )
        return self._conn.execute(stmt).rowcount == 1

    def subscription_result(
        self, subscription_id: int, *, ok: bool, disable_after: int, at: datetime
    ) -> bool:
        """Counts consecutive failures; returns True when this failure disabled the subscription."""
        if ok:
            # Most deliveries succeed on a healthy subscriber: write only when there is a streak to end.
            self._conn.execute(
                update(sub)
                .where((sub.c.id == subscription_id) & (sub.c.consecutive_failures != 0))
                .values(consecutive_failures=0)
            )
            return False
        self._conn.execute(
            update(sub)
            .where(sub.c.id == subscription_id)
            .values(consecutive_failures=sub.c.consecutive_failures + 1)
        )
        disabled = self._conn.execute(
            update(sub)
            .where(
                (sub.c.id == subscription_id) & sub.c.active & (sub.c.consecutive_failures >= disable_after)
            )
            .values(active=False, disabled_at=at)
        ).rowcount
        return disabled == 1


def message_record(r: Any) -> MessageRecord:
    return MessageRecord(
        r.id,
        r.message_id,
        r.kind,
        r.topic,
        r.order_id,
        r.subscription_id,
        r.recipient,
        dict(r.payload),
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.created_at,
        r.delivered_at,
        r.last_error,
    )
