"""Customers, their addresses and the figures of their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.adapters.db.types import ExactDecimal
from perfectorder.domain.promise import OnTimeTerms
from perfectorder.domain.values import Address
from perfectorder.domain.verification import KnownCustomer
from perfectorder.services.ports import CustomerRecord, CustomerSpec, CustomerTotals
from perfectorder.services.views import AddressView, CustomerView

c, a, o = t.customers, t.customer_addresses, t.orders
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone", "timezone")
_FOR_ORDER = select(
    c.c.id,
    c.c.email,
    c.c.name.label("customer_name"),
    c.c.credit_limit,
    c.c.on_time_basis,
    c.c.grace_minutes,
    *[a.c[f].label(f"addr_{f}") for f in ADDRESS_FIELDS],
).select_from(c.outerjoin(a, and_(a.c.customer_id == c.c.id, a.c.is_default)))
# Built once, executed with parameters (see PerDialect): every capture runs one of these.
_FOR_ORDER_BY_ID = _FOR_ORDER.where(c.c.id == bindparam("cid")).limit(1)
_FOR_ORDER_BY_EMAIL = _FOR_ORDER.where(c.c.email == bindparam("email")).limit(1)
_ORDERED_THROUGH = (
    select(o.c.id)
    .where((o.c.customer_id == bindparam("cid")) & (o.c.channel == bindparam("channel")))
    .limit(1)
)
_ADD = PerDialect(lambda conn: insert_or_nothing(conn, c).returning(c.c.id))
_ADD_ADDRESS = insert(a)


class SqlCustomerRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_order(self, *, customer_id: int | None, email: str | None) -> CustomerRecord | None:
        if customer_id is not None:
            row = self._conn.execute(_FOR_ORDER_BY_ID, {"cid": customer_id}).first()
        elif email is not None:
            row = self._conn.execute(_FOR_ORDER_BY_EMAIL, {"email": email}).first()
        else:
            return None
        if row is None:
            return None
        address = None
        if row.addr_line1 is not None:
            address = Address(**{f: getattr(row, f"addr_{f}") for f in ADDRESS_FIELDS})
        terms = OnTimeTerms(row.on_time_basis, row.grace_minutes or 0) if row.on_time_basis else None
        return CustomerRecord(
            KnownCustomer(row.id, row.email, row.customer_name, address), row.credit_limit, terms
        )

    def add(self, spec: CustomerSpec, created_at: datetime) -> int | None:
        values = {
            "email": spec.email,
            "name": spec.name,
            "phone": spec.phone,
            "tier": spec.tier,
            "credit_limit": spec.credit_limit,
            "payment_terms_days": spec.payment_terms_days,
            "on_time_basis": spec.on_time_basis,
            "grace_minutes": spec.grace_minutes,
            "created_at": created_at,
        }
        row = self._conn.execute(_ADD(self._conn), values).first()
        return row.id if row is not None else None

    def add_address(self, customer_id: int, address: Address, *, default: bool) -> None:
        values: dict[str, Any] = {f: getattr(address, f) for f in ADDRESS_FIELDS}
        self._conn.execute(_ADD_ADDRESS, {"customer_id": customer_id, "is_default": default, **values})

    def get(self, customer_id: int) -> CustomerView | None:
        row = self._conn.execute(_GET_CUSTOMER, {"customer_id": customer_id}).first()
        if row is None:
            return None
        addresses = self._conn.execute(_GET_ADDRESSES, {"customer_id": customer_id})
        return _view(row, tuple(AddressView(**{f: r._mapping[f] for f in ADDRESS_FIELDS}) for r in addresses))

    def contacts(self, customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        if not customer_ids:
            return {}
        rows = self._conn.execute(_CONTACTS, {"ids": sorted(set(customer_ids))})
        return {r.id: (r.name, r.email) for r in rows}

    def page(self, *, email: str | None, after_id: int | None, limit: int) -> list[CustomerView]:
        stmt = select(c).order_by(c.c.id).limit(limit)
        if email is not None:
            stmt = stmt.where(c.c.email == email.strip().lower())
        if after_id is not None:
            stmt = stmt.where(c.c.id > after_id)
        return [_view(row, ()) for row in self._conn.execute(stmt)]

    def totals(self, customer_id: int) -> CustomerTotals:
        kept = o.c.status != "cancelled"
        stmt = (
            select(
                o.c.currency,
                func.count().label("orders"),
                func.sum(case((kept, 0), else_=1)).label("cancelled"),
                func.sum(case((kept, o.c.total), else_=0), type_=ExactDecimal()).label("spent"),
                func.min(o.c.placed_at).label("first"),
                func.max(o.c.placed_at).label("last"),
            )
            .where(o.c.customer_id == customer_id)
            .group_by(o.c.currency)
        )
        rows = list(self._conn.execute(stmt))
        firsts = [r.first for r in rows if r.first is not None]
        lasts = [r.last for r in rows if r.last is not None]
        return CustomerTotals(
            orders_count=sum(r.orders for r in rows),
            cancelled_count=sum(r.cancelled or 0 for r in rows),
            total_spent={r.currency: r.spent or Decimal(0) for r in rows},
            first_order_at=min(firsts) if firsts else None,
            last_order_at=max(lasts) if lasts else None,
        )

    def open_balance(self, customer_id: int) -> Decimal:
        """Credit in use: what the customer's live invoice orders still owe (units not cancelled,
        less what was settled or credited). Orders waiting on a credit hold use none yet."""
        ln, h = t.order_lines, t.order_holds
        credit_held = (
            select(h.c.id)
            .where((h.c.order_id == o.c.id) & (h.c.reason == "credit") & h.c.released_at.is_(None))
            .exists()
        )
        counted = (
            (o.c.customer_id == customer_id)
            & (o.c.payment_method == "invoice")
            & (o.c.status != "cancelled")
            & ~credit_held
        )
        due = self._conn.execute(
            select(
                func.coalesce(
                    func.sum(ln.c.unit_price * (ln.c.quantity - ln.c.cancelled_qty), type_=ExactDecimal()), 0
                )
            )
            .select_from(ln.join(o, o.c.id == ln.c.order_id))
            .where(counted)
        ).scalar_one()
        settled = self._conn.execute(
            select(
                func.coalesce(func.sum(o.c.paid_amount + o.c.refunded_amount, type_=ExactDecimal()), 0)
            ).where(counted)
        ).scalar_one()
        return max(Decimal(due) - Decimal(settled), Decimal(0))

    def ordered_through(self, customer_id: int, channel: str) -> bool:
        return (
            self._conn.execute(_ORDERED_THROUGH, {"cid": customer_id, "channel": channel}).first() is not None
        )

    def lock(self, customer_id: int) -> None:
        """Serialises credit decisions for one customer (placing on invoice, settling)."""
        self._conn.execute(select(c.c.id).where(c.c.id == customer_id).with_for_update())

    def credit_held_orders(self, customer_id: int) -> list[int]:
        h = t.order_holds
        rows = self._conn.execute(
            select(o.c.id)
            .join(h, h.c.order_id == o.c.id)
            .where((o.c.customer_id == customer_id) & (h.c.reason == "credit") & h.c.released_at.is_(None))
            .group_by(o.c.id)
            .order_by(o.c.id)
        )
        return [r.id for r in rows]


def _view(row: Any, addresses: tuple[AddressView, ...]) -> CustomerView:
    return CustomerView(
        id=row.id,
        email=row.email,
        name=row.name,
        phone=row.phone,
        tier=row.tier,
        credit_limit=row.credit_limit,
        payment_terms_days=row.payment_terms_days,
        created_at=row.created_at,
        addresses=addresses,
        on_time_basis=row.on_time_basis,
        grace_minutes=row.grace_minutes,
    )


_GET_CUSTOMER = select(c).where(c.c.id == bindparam("customer_id"))
_CONTACTS = select(c.c.id, c.c.name, c.c.email).where(c.c.id.in_(bindparam("ids", expanding=True)))
_GET_ADDRESSES = (
    select(a).where(a.c.customer_id == bindparam("customer_id")).order_by(a.c.is_default.desc(), a.c.id)
)
