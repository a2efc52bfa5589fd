"""The loyalty perfect orders earn: repeat purchases after perfect and imperfect orders and the
customers who lapsed (domain/loyalty.py does the statistics; this reads the store's purchases)."""

from __future__ import annotations

from datetime import date

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.loyalty import LoyaltyReport, loyalty
from perfectorder.services.context import ServiceContext, read

MAX_WINDOW_DAYS = 730


def loyalty_report(
    ctx: ServiceContext, start: date, end: date, *, window_days: int = 90, k: float = 3.0
) -> LoyaltyReport:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput("invalid_window_days", f"use 1 to {MAX_WINDOW_DAYS} days", field="window_days")
    if not 1 <= k <= 100:
        raise InvalidInput("invalid_k", "use a factor from 1 to 100", field="k")
    purchases = read(ctx, lambda uow: uow.verdicts.purchases())
    today = ctx.clock.now().date()
    return loyalty(purchases, start=start, end=end, today=today, window_days=window_days, k=k)
