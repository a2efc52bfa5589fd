"""The loyalty projection: each purchase with its days to the customer's next one, each customer's
rhythm. Written by the verdict refresh in its own transaction, read by the loyalty report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, text

from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import mark_projection, upsert
from perfectorder.adapters.db.tables import customer_rhythms as cr
from perfectorder.adapters.db.tables import loyalty_purchases as lp
from perfectorder.adapters.db.tables import orders
from perfectorder.adapters.db.tables import projection_refreshes as pr
from perfectorder.adapters.db.tables import verdict_failures as vf
from perfectorder.domain.loyalty import Purchase, Rhythm, Tally
from perfectorder.services.loyalty_ports import StoredPurchase

_PROJECTION = "loyalty"
_EPOCH = date(1970, 1, 1)
# PostgreSQL advisory locks (this projection's own numbers): a rebuild takes the first exclusively
# and a refresh batch shares it, so no batch writes beside a rebuild; each customer's number (the
# second, with the customer's id) is held while their purchases are read and rewritten, so two
# refreshers judging orders of one customer take turns instead of each writing what it alone saw.
_WHOLE = 0x1074_A17
_CUSTOMER = 0x1074


def _upsert_purchases(conn: Connection) -> Any:
    stmt = upsert(conn, lp)
    return stmt.on_conflict_do_update(
        index_elements=[lp.c.order_id],
        set_={c: stmt.excluded[c] for c in ("customer_id", "placed_on", "perfect", "days_to_next")},
    )


def _upsert_rhythms(conn: Connection) -> Any:
    stmt = upsert(conn, cr)
    return stmt.on_conflict_do_update(
        index_elements=[cr.c.customer_id],
        set_={
            c: stmt.excluded[c]
            for c in ("purchases", "last_order_day", "usual_interval_days", "last_imperfect_order_id")
        },
    )


_UPSERT_PURCHASES = PerDialect(_upsert_purchases)
_UPSERT_RHYTHMS = PerDialect(_upsert_rhythms)
_MARK_BUILT = PerDialect(mark_projection)
_HISTORIES = select(lp).where(lp.c.customer_id.in_(bindparam("ids", expanding=True)))
_LOCK_CUSTOMERS_PG = text(
    "SELECT count(pg_advisory_xact_lock(:space, id)) FROM unnest(CAST(:ids AS integer[])) AS id"
)


class SqlLoyaltyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"

    def built(self, *, hold: bool = False) -> bool:
        if self._pg and hold:
            self._conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _WHOLE})
        return self._conn.execute(select(pr.c.name).where(pr.c.name == _PROJECTION)).first() is not None

    def start_rebuild(self) -> bool:
        if self._pg:
            self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WHOLE})
        if self._conn.execute(select(pr.c.name).where(pr.c.name == _PROJECTION)).first() is not None:
            return False  # another refresher built it while this one waited
        self._conn.execute(delete(lp))
        self._conn.execute(delete(cr))
        return True

    def mark_built(self, *, at: datetime) -> None:
        self._conn.execute(_MARK_BUILT(self._conn), {"name": _PROJECTION, "refreshed_at": at})

    def customer_span(self) -> tuple[int, int] | None:
        span = select(func.min(orders.c.customer_id), func.max(orders.c.customer_id))
        first, last = self._conn.execute(span).one()
        return None if first is None else (first, last)

    def histories(self, customer_ids: Sequence[int]) -> Mapping[int, list[StoredPurchase]]:
        ids = sorted(set(customer_ids))
        if self._pg and ids:
            self._conn.execute(_LOCK_CUSTOMERS_PG, {"space": _CUSTOMER, "ids": ids})
        found: dict[int, list[StoredPurchase]] = {i: [] for i in ids}
        if ids:
            for r in self._conn.execute(_HISTORIES, {"ids": ids}):
                purchase = Purchase(r.customer_id, r.order_id, r.placed_on, r.perfect)
                found[r.customer_id].append(StoredPurchase(purchase, r.days_to_next))
        return found

    def store(
        self,
        purchases: Sequence[StoredPurchase],
        removed: Sequence[int],
        rhythms: Sequence[Rhythm],
        without_purchases: Sequence[int],
    ) -> None:
        if removed:
            self._conn.execute(delete(lp).where(lp.c.order_id.in_(sorted(removed))))
        if without_purchases:
            self._conn.execute(delete(cr).where(cr.c.customer_id.in_(sorted(without_purchases))))
        if purchases:
            self._conn.execute(
                _UPSERT_PURCHASES(self._conn),
                [
                    {
                        "order_id": s.purchase.order_id,
                        "customer_id": s.purchase.customer_id,
                        "placed_on": s.purchase.placed_on,
                        "perfect": s.purchase.perfect,
                        "days_to_next": s.days_to_next,
                    }
                    for s in sorted(purchases, key=lambda s: s.purchase.order_id)
                ],
            )
        if rhythms:
            self._conn.execute(
                _UPSERT_RHYTHMS(self._conn),
                [
                    {
                        "customer_id": r.customer_id,
                        "purchases": r.purchases,
                        "last_order_day": (r.last_order_on - _EPOCH).days,
                        "usual_interval_days": r.usual_interval_days,
                        "last_imperfect_order_id": r.last_imperfect_order_id,
                    }
                    for r in sorted(rhythms, key=lambda r: r.customer_id)
                ],
            )

    def tallies(self, start: date, end: date) -> list[Tally]:
        """Judged purchases placed from start to end by (group, days to next): the perfect and
        imperfect ones, and the imperfect ones per failure (each order once per component:code)."""
        period = and_(lp.c.placed_on >= start, lp.c.placed_on <= end, lp.c.perfect.is_not(None))
        found: list[Tally] = [
            ("perfect" if r.perfect else "imperfect", r.days_to_next, int(r.n))
            for r in self._conn.execute(
                select(lp.c.perfect, lp.c.days_to_next, func.count().label("n"))
                .where(period)
                .group_by(lp.c.perfect, lp.c.days_to_next)
            )
        ]
        # An order fails a component:code once, whatever stages it failed it at.
        failed = (
            select(vf.c.component, vf.c.code, lp.c.order_id, lp.c.days_to_next)
            .distinct()
            .select_from(lp.join(vf, vf.c.order_id == lp.c.order_id))
            .where(period & lp.c.perfect.is_(False))
            .subquery()
        )
        found += [
            (f"{r.component}:{r.code}", r.days_to_next, int(r.n))
            for r in self._conn.execute(
                select(
                    failed.c.component, failed.c.code, failed.c.days_to_next, func.count().label("n")
                ).group_by(failed.c.component, failed.c.code, failed.c.days_to_next)
            )
        ]
        return found

    def lapsed(self, today: date, k: float, limit: int) -> tuple[list[Rhythm], int]:
        """The customers silent for more than k times their usual interval on `today`, most lapsed
        first (silence over interval), with how many there are in all."""
        silent = (today - _EPOCH).days - cr.c.last_order_day
        where = cr.c.usual_interval_days.is_not(None) & (silent > cr.c.usual_interval_days * k)
        count = self._conn.execute(select(func.count()).select_from(cr).where(where)).scalar_one()
        rows = self._conn.execute(
            select(cr)
            .where(where)
            .order_by((silent / cr.c.usual_interval_days).desc(), cr.c.customer_id)
            .limit(limit)
        )
        return [
            Rhythm(
                r.customer_id,
                r.purchases,
                date.fromordinal(_EPOCH.toordinal() + r.last_order_day),
                r.usual_interval_days,
                r.last_imperfect_order_id,
            )
            for r in rows
        ], int(count)

    def failures_of(self, order_ids: Sequence[int]) -> Mapping[int, tuple[str, ...]]:
        found: dict[int, set[str]] = {}
        if order_ids:
            wanted = vf.c.order_id.in_(sorted(set(order_ids)))
            for r in self._conn.execute(select(vf.c.order_id, vf.c.component, vf.c.code).where(wanted)):
                found.setdefault(r.order_id, set()).add(f"{r.component}:{r.code}")
        return {order_id: tuple(sorted(codes)) for order_id, codes in found.items()}
