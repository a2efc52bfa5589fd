"""Use cases behind the dashboard's operational pages: the orders board, inventory, customers,
returns, suppliers and purchase orders. Read-only; the operator's verbs stay in services/orders.py,
services/aftersales.py and services/purchasing.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Forbidden, InvalidInput
from perfectorder.domain.purchasing import POStatus
from perfectorder.metrics.kpi_rollup import kpis_from_rollups
from perfectorder.metrics.rollup import fully_measured
from perfectorder.services.board_ports import (
    BoardOrder,
    BoardQuery,
    CustomerRow,
    FeedbackRow,
    OpenHold,
    ReturnRow,
    StageCount,
    StockRow,
    TrackingEvent,
)
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.ports import UnitOfWork
from perfectorder.services.purchasing_ports import POSummary, SupplierRow
from perfectorder.services.verdicts import period_start

T = TypeVar("T")
PAGE_SIZE = 50
MAX_OFFSET = 10_000  # deeper than this, narrow the search instead: an offset walks every row before it
LOW_STOCK_UNITS = 10  # available to promise at or below this shows as low
# Goods still awaited. A received PO may yet take an allowed over-receipt, but nobody waits on it.
OPEN_PO_STATUSES = frozenset(POStatus) - {POStatus.RECEIVED, POStatus.CANCELLED}


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    items: tuple[T, ...]
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class Board:
    stages: tuple[StageCount, ...]
    late: int
    at_risk: int
    holds: tuple[OpenHold, ...]
    orders: Paged[BoardOrder]


@dataclass(frozen=True, slots=True)
class CustomerPerfectOrder:
    final_orders: int
    measured: int
    perfect: int
    as_of: datetime | None  # when the stored verdicts counted here were last refreshed

    @property
    def rate(self) -> float | None:
        return self.perfect / self.measured if self.measured else None


@dataclass(frozen=True, slots=True)
class ReturnsReport:
    returns: int
    ours: int  # returns whose reason points at a stage of ours, not at the customer's choice
    by_reason: tuple[tuple[str, int], ...]  # most frequent first
    by_stage: tuple[tuple[str, int], ...]
    by_reason_and_stage: dict[tuple[str, str], int]
    # Per week (Monday) of the period: returns opened per reason.
    weekly: tuple[tuple[date, dict[str, int]], ...]
    recent: Paged[ReturnRow]
    # Of the orders placed in the period and shipped: the share returned, overall and per reason.
    return_rate: float | None
    return_rate_by_reason: dict[str, float]
    as_of: datetime | None  # when the stored verdicts behind the return rates were last refreshed


def _check_page(page: int) -> int:
    if page < 1 or (page - 1) * PAGE_SIZE > MAX_OFFSET:
        raise InvalidInput(
            "invalid_page",
            f"page is between 1 and {MAX_OFFSET // PAGE_SIZE + 1}; narrow the search",
            field="page",
        )
    return (page - 1) * PAGE_SIZE


def _paged(rows: list[T], page: int) -> Paged[T]:
    return Paged(tuple(rows[:PAGE_SIZE]), page, len(rows) > PAGE_SIZE)


def _store_wide(caller: Principal) -> None:
    # The board shows every channel's orders; tenants' keys read their own orders through the API.
    if caller.is_tenant:
        raise Forbidden("forbidden", "the dashboard shows the whole store; use the API with your key")


def orders_board(
    ctx: ServiceContext, query: BoardQuery, *, page: int = 1, caller: Principal = SYSTEM
) -> Board:
    _store_wide(caller)
    query = replace(query, offset=_check_page(page), limit=PAGE_SIZE)
    now = ctx.clock.now().astimezone(UTC)

    def work(uow: UnitOfWork) -> Board:
        late, at_risk = uow.board.late_and_at_risk(now)
        return Board(
            stages=tuple(uow.board.stage_counts(now)),
            late=late,
            at_risk=at_risk,
            holds=tuple(uow.board.open_holds(20)),
            orders=_paged(uow.board.orders(query, now), page),
        )

    return read(ctx, work)


def late_and_at_risk(ctx: ServiceContext) -> tuple[int, int]:
    now = ctx.clock.now()
    return read(ctx, lambda uow: uow.board.late_and_at_risk(now))


def inventory(
    ctx: ServiceContext,
    *,
    warehouse: str | None = None,
    text: str | None = None,
    sort: str = "available",
    descending: bool = False,
    page: int = 1,
    caller: Principal = SYSTEM,
) -> Paged[StockRow]:
    _store_wide(caller)
    offset = _check_page(page)
    rows = read(
        ctx,
        lambda uow: uow.board.stock(
            warehouse=warehouse, text=text, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE
        ),
    )
    return _paged(rows, page)


def customers(
    ctx: ServiceContext,
    *,
    text: str | None = None,
    sort: str = "id",
    descending: bool = True,
    page: int = 1,
    caller: Principal = SYSTEM,
) -> Paged[CustomerRow]:
    _store_wide(caller)
    offset = _check_page(page)
    rows = read(
        ctx,
        lambda uow: uow.board.customers(
            text=text, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE
        ),
    )
    return _paged(rows, page)


def customer_perfect_order(ctx: ServiceContext, customer_id: int) -> CustomerPerfectOrder:
    """The customer's orders whose verdicts are final: how many were perfect. Like the store's rate,
    an order with a component not measured is left out of the rate, never counted as perfect."""
    today = ctx.clock.now().astimezone(UTC).date()
    rows, as_of = read(
        ctx, lambda uow: (uow.board.customer_verdicts(customer_id, today), uow.verdicts.refreshed_at())
    )
    measured = [failures for components, failures in rows if fully_measured(components)]
    return CustomerPerfectOrder(len(rows), len(measured), sum(1 for f in measured if f == 0), as_of)


def customer_feedback(ctx: ServiceContext, customer_id: int, *, limit: int = 20) -> list[FeedbackRow]:
    return read(ctx, lambda uow: uow.board.customer_feedback(customer_id, limit))


def returns_report(
    ctx: ServiceContext, start: datetime, end: datetime, *, page: int = 1, caller: Principal = SYSTEM
) -> ReturnsReport:
    """Returns opened in [start, end): by reason, by the stage that failed, per week."""
    _store_wide(caller)
    offset = _check_page(page)
    days = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    rows, summed, as_of = read(
        ctx,
        lambda uow: (
            uow.board.returns_between(start, end),
            uow.verdicts.kpi_rollup_sums(*days),
            uow.verdicts.refreshed_at(),
        ),
    )
    # The return rates are the KPI report's measures, over the orders placed in the period.
    kpis, _ = kpis_from_rollups(summed)
    reasons = Counter(r.reason for r in rows)
    stages = Counter(r.stage or "none" for r in rows)
    both = Counter((r.reason, r.stage or "none") for r in rows)
    weekly: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(reasons, 0))
    week = period_start(start.astimezone(UTC).date(), "week")
    while week < end.astimezone(UTC).date():
        weekly[week]  # every week of the period shows, the empty ones too
        week += timedelta(days=7)
    for r in rows:
        weekly[period_start(r.created_at.astimezone(UTC).date(), "week")][r.reason] += 1
    return ReturnsReport(
        returns=len(rows),
        ours=sum(1 for r in rows if r.stage is not None),
        by_reason=tuple(reasons.most_common()),
        by_stage=tuple(stages.most_common()),
        by_reason_and_stage=dict(both),
        weekly=tuple(sorted(weekly.items())),
        recent=_paged(rows[offset : offset + PAGE_SIZE + 1], page),
        return_rate=kpis.return_rate,
        return_rate_by_reason=kpis.return_rate_by_reason,
        as_of=as_of,
    )


def tracking(ctx: ServiceContext, order_id: int) -> list[TrackingEvent]:
    """Carrier events of an order the caller has already been allowed to see."""
    return read(ctx, lambda uow: uow.board.tracking(order_id))


def suppliers(ctx: ServiceContext, *, page: int = 1, caller: Principal = SYSTEM) -> Paged[SupplierRow]:
    _store_wide(caller)
    offset = _check_page(page)
    rows = read(
        ctx,
        lambda uow: uow.purchasing.supplier_rows(
            open_statuses=OPEN_PO_STATUSES, offset=offset, limit=PAGE_SIZE + 1
        ),
    )
    return _paged(rows, page)


def purchase_orders(
    ctx: ServiceContext,
    *,
    status: POStatus | None = None,
    supplier: str | None = None,
    page: int = 1,
    caller: Principal = SYSTEM,
) -> Paged[POSummary]:
    """Newest first, as the API lists them."""
    _store_wide(caller)
    offset = _check_page(page)
    rows = read(
        ctx,
        lambda uow: uow.purchasing.summaries(
            status=status.value if status else None,
            supplier=supplier,
            after_id=None,
            offset=offset,
            limit=PAGE_SIZE + 1,
        ),
    )
    return _paged(rows, page)
