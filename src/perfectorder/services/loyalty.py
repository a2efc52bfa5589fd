"""The loyalty perfect orders earn: repeat purchases after perfect and imperfect orders and the
customers who lapsed (domain/loyalty.py does the statistics; this reads the store's purchases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.loyalty import Lapsed, LoyaltyReport, lapsed_customer, loyalty, usual_interval
from perfectorder.services.context import ServiceContext, read

MAX_WINDOW_DAYS = 730


def loyalty_report(
    ctx: ServiceContext, start: date, end: date, *, window_days: int = 90, k: float = 3.0
) -> LoyaltyReport:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput("invalid_window_days", f"use 1 to {MAX_WINDOW_DAYS} days", field="window_days")
    if not 1 <= k <= 100:
        raise InvalidInput("invalid_k", "use a factor from 1 to 100", field="k")
    # The customers who bought in the period, with their whole history (their next order may come
    # after it; their rhythm needs all of it): a store's every order would not fit a page's time.
    active = (datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC))
    purchases = read(ctx, lambda uow: uow.verdicts.purchases(active=active))
    today = ctx.clock.now().date()
    return loyalty(purchases, start=start, end=end, today=today, window_days=window_days, k=k)


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
