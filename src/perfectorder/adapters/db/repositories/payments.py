"""The payments ledger, read per order and per customer (written by the order repository's save)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from perfectorder.adapters.db import tables as t
from perfectorder.services.views import PaymentRecord

p = t.payments
_FOR_ORDER = select(p).where(p.c.order_id == bindparam("oid")).order_by(p.c.id)
_FOR_CUSTOMER = (
    select(p).where(p.c.customer_id == bindparam("cid")).order_by(p.c.id.desc()).limit(bindparam("limit"))
)


class SqlPaymentRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_order(self, order_id: int) -> list[PaymentRecord]:
        return [_record(r) for r in self._conn.execute(_FOR_ORDER, {"oid": order_id})]

    def for_customer(self, customer_id: int, *, limit: int) -> list[PaymentRecord]:
        return [_record(r) for r in self._conn.execute(_FOR_CUSTOMER, {"cid": customer_id, "limit": limit})]


def _record(r: Any) -> PaymentRecord:
    return PaymentRecord(
        r.id,
        r.order_id,
        r.customer_id,
        r.kind,
        r.amount,
        r.currency,
        r.method,
        r.reference,
        r.return_id,
        r.occurred_at,
        r.actor,
    )
