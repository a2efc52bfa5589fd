"""The loyalty perfect orders earn: repeat purchases after perfect and imperfect orders and the
customers who lapsed. domain/loyalty.py does the statistics; the verdict refresh keeps a projection
of them (each purchase's days to the customer's next one, each customer's rhythm), so a report
sums one period's rows and reads the lapsed customers, never a customer's whole history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.loyalty import (
    Lapsed,
    LoyaltyReport,
    Purchase,
    Rhythm,
    days_to_next,
    lapsed_customer,
    lapsed_from,
    report,
    rhythm,
    usual_interval,
)
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.loyalty_ports import StoredPurchase
from perfectorder.services.ports import UnitOfWork

MAX_WINDOW_DAYS = 730
MOST_LAPSED = 100
REBUILD_CUSTOMERS = 5_000  # customers read per step of a rebuild: their purchases fit in memory


def loyalty_report(
    ctx: ServiceContext, start: date, end: date, *, window_days: int = 90, k: float = 3.0
) -> LoyaltyReport:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput("invalid_window_days", f"use 1 to {MAX_WINDOW_DAYS} days", field="window_days")
    if not 1 <= k <= 100:
        raise InvalidInput("invalid_k", "use a factor from 1 to 100", field="k")
    today = ctx.clock.now().date()
    # Only orders whose whole window has passed: a later one may still be followed within it.
    observed_until = min(end, today - timedelta(days=window_days))

    def work(uow: UnitOfWork) -> tuple[list[Lapsed], int, list[tuple[str, int | None, int]]]:
        tallies = uow.loyalty.tallies(start, observed_until) if start <= observed_until else []
        rhythms, count = uow.loyalty.lapsed(today, k, MOST_LAPSED)
        reasons = uow.loyalty.failures_of([i for r in rhythms if (i := r.last_imperfect_order_id)])
        lapsed = [
            found
            for r in rhythms
            if (found := lapsed_from(r, today, k, reasons.get(r.last_imperfect_order_id or 0, ())))
        ]
        return lapsed, count, tallies

    lapsed, count, tallies = read(ctx, work)
    return report(tallies, window_days=window_days, k=k, lapsed=lapsed, lapsed_customers=count)


@dataclass(frozen=True, slots=True)
class CustomerLoyalty:
    purchases: int
    usual_interval_days: float | None
    lapsed: Lapsed | None


def customer_loyalty(ctx: ServiceContext, customer_id: int, *, k: float = 3.0) -> CustomerLoyalty:
    """One customer's rhythm: how often they buy, and whether they have lapsed from it."""
    history = read(ctx, lambda uow: uow.verdicts.purchases(customer_id))
    today = ctx.clock.now().date()
    return CustomerLoyalty(len(history), usual_interval(history), lapsed_customer(history, today, k))


def keep_up(uow: UnitOfWork, judged: Mapping[int, int]) -> None:
    """After a refresh stored the verdicts of `judged` (order id -> customer id), in its
    transaction: their customers' purchases and rhythms as they now stand."""
    if not judged or not uow.loyalty.built(hold=True):
        return  # not built yet: the rebuild reads every purchase, these included
    stored = uow.loyalty.histories(sorted(set(judged.values())))
    current: dict[int, list[Purchase]] = defaultdict(list)
    for p in uow.verdicts.purchases(order_ids=list(judged)):
        current[p.customer_id].append(p)
    writes: list[StoredPurchase] = []
    removed: list[int] = []
    rhythms: list[Rhythm] = []
    emptied: list[int] = []
    for customer, rows in stored.items():
        before = {s.purchase.order_id: s for s in rows}
        history = [s.purchase for s in rows if s.purchase.order_id not in judged] + current[customer]
        kept = {p.order_id for p in history}
        removed += [order_id for order_id in before if order_id in judged and order_id not in kept]
        writes += [s for s in _stored(history) if before.get(s.purchase.order_id) != s]
        found = rhythm(history)
        if found is None:
            emptied.append(customer)
        else:
            rhythms.append(found)
    uow.loyalty.store(writes, removed, rhythms, emptied)


def rebuild_if_missing(uow: UnitOfWork, at: datetime) -> bool:
    """Builds the projection from every purchase when it has never been built (a new or upgraded
    store); answers whether it did."""
    if uow.loyalty.built() or not uow.loyalty.start_rebuild():
        return False
    span = uow.loyalty.customer_span()
    low = span[0] if span else 0
    while span and low <= span[1]:
        found: dict[int, list[Purchase]] = defaultdict(list)
        for p in uow.verdicts.purchases(customers=(low, low + REBUILD_CUSTOMERS)):
            found[p.customer_id].append(p)
        rhythms = [r for history in found.values() if (r := rhythm(history)) is not None]
        uow.loyalty.store([s for history in found.values() for s in _stored(history)], [], rhythms, [])
        low += REBUILD_CUSTOMERS
    uow.loyalty.mark_built(at=at)
    return True


def _stored(history: list[Purchase]) -> list[StoredPurchase]:
    follow_ups = days_to_next(history)
    return [StoredPurchase(replace(p, failures=()), follow_ups[p.order_id]) for p in history]
