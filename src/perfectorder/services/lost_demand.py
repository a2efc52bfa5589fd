"""Lost demand: the order lines refused for lack of stock, and the stock-out rate they make.

A refused order writes nothing (its transaction rolls back); its short lines are then recorded in a
transaction of their own, so the refusal stays exactly as it was and the demand is still counted.
A retry of the same order (same channel and reference) counts once, and a reference that was later
placed after all (restocked, or ordered with a backorder) is not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Forbidden, InvalidInput
from perfectorder.domain.sourcing import LostLine
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.lost_demand_ports import LostBySku


@dataclass(frozen=True, slots=True)
class LostDemandReport:
    start: datetime
    end: datetime
    lines_ordered: int  # lines of the orders placed in the period
    lines_lost: int
    units_lost: int
    value_lost: dict[str, Decimal]  # by currency
    by_sku: tuple[LostBySku, ...]  # most units first

    @property
    def stock_out_rate(self) -> float | None:
        """Of every line asked for in the period, the share refused for lack of stock."""
        asked = self.lines_ordered + self.lines_lost
        return self.lines_lost / asked if asked else None


def record(ctx: ServiceContext, channel: str, external_ref: str, lines: Sequence[LostLine]) -> None:
    if lines:
        now = ctx.clock.now()
        run_transaction(ctx, lambda uow: uow.lost_demand.record(channel, external_ref, lines, at=now))


def report(
    ctx: ServiceContext, start: datetime, end: datetime, *, caller: Principal = SYSTEM
) -> LostDemandReport:
    if caller.is_tenant:
        raise Forbidden("forbidden", "lost demand is the store's own figure")
    if end <= start:
        raise InvalidInput("invalid_period", "the period ends after it starts", field="to")
    rows, ordered = read(
        ctx, lambda uow: (uow.lost_demand.summed(start, end), uow.lost_demand.lines_ordered(start, end))
    )
    value: dict[str, Decimal] = {}
    for r in rows:
        value[r.currency] = value.get(r.currency, Decimal(0)) + r.value
    return LostDemandReport(
        start=start,
        end=end,
        lines_ordered=ordered,
        lines_lost=sum(r.lines for r in rows),
        units_lost=sum(r.units for r in rows),
        value_lost=dict(sorted(value.items())),
        by_sku=tuple(rows),
    )
