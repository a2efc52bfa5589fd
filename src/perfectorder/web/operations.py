"""Dashboard pages on inventory, customers and returns."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from perfectorder.domain.access import Permission
from perfectorder.domain.errors import DomainError
from perfectorder.services import board, carriers, catalog, customers, loyalty, payments, verdicts
from perfectorder.services.board_ports import BoardQuery
from perfectorder.web.charts import bars, responsive, stacked_columns
from perfectorder.web.common import Session, problem, render, reports_of, require, services_of
from perfectorder.web.routes import bounds, period

router = APIRouter(include_in_schema=False)
Page = Annotated[int, Query(ge=1, le=1_000)]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/inventory", response_class=HTMLResponse)
def inventory(
    request: Request,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    q: Text = None,
    sort: str = "available",
    desc: bool = False,
    page: Page = 1,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    session = require(request, Permission.STOCK_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    start, end = period(services, start, end)
    try:
        rows = board.inventory(
            services,
            warehouse=warehouse or None,
            text=q,
            sort=sort,
            descending=desc,
            page=page,
            caller=session.caller,
        )
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "inventory.html",
        {
            "session": session,
            "rows": rows,
            "warehouses": [w.code for w in catalog.list_warehouses(services)],
            "warehouse": warehouse or "",
            "q": q or "",
            "low": board.LOW_STOCK_UNITS,
            "turnover": verdicts.inventory_turnover(services, *bounds(start, end)),
            "start": start,
            "end": end,
        },
    )


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    request: Request, q: Text = None, sort: str = "id", desc: bool = True, page: Page = 1
) -> Response:
    session = require(request, Permission.CUSTOMERS_READ)
    if not isinstance(session, Session):
        return session
    try:
        rows = board.customers(
            reports_of(request), text=q, sort=sort, descending=desc, page=page, caller=session.caller
        )
    except DomainError as e:
        return problem(request, session, e)
    return render(request, "customers.html", {"session": session, "rows": rows, "q": q or ""})


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, customer_id: int, page: Page = 1) -> Response:
    session = require(request, Permission.CUSTOMERS_READ)
    if not isinstance(session, Session):
        return session
    services = services_of(request)
    try:
        history = customers.customer_history(services, customer_id)
        orders = board.orders_board(
            services, BoardQuery(customer_id=customer_id), page=page, caller=session.caller
        ).orders
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "customer.html",
        {
            "session": session,
            "history": history,
            "orders": orders,
            "perfect": board.customer_perfect_order(services, customer_id),
            "feedback": board.customer_feedback(services, customer_id),
            "payments": payments.customer_payments(services, customer_id, limit=50),
            "rhythm": loyalty.customer_loyalty(services, customer_id),
        },
    )


@router.get("/loyalty", response_class=HTMLResponse)
def loyalty_page(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    window_days: Annotated[int, Query(ge=1, le=loyalty.MAX_WINDOW_DAYS)] = 90,
) -> Response:
    session = require(request, Permission.REPORTS_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    if start is None and end is None:
        # The last quarter of purchases whose window has passed (later ones cannot be judged yet).
        last = verdicts.last_placed_on(services) or services.clock.now().astimezone(UTC).date()
        today = services.clock.now().astimezone(UTC).date()
        end = min(last, today - timedelta(days=window_days))
        start = end - timedelta(days=89)
    start, end = period(services, start, end)
    try:
        report = loyalty.loyalty_report(services, start, end, window_days=window_days)
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "loyalty.html",
        {"session": session, "report": report, "start": start, "end": end, "window_days": window_days},
    )


@router.get("/carriers", response_class=HTMLResponse)
def carriers_page(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    granularity: Annotated[str, Query(max_length=10)] = "week",
) -> Response:
    session = require(request, Permission.REPORTS_READ)
    if not isinstance(session, Session):
        return session
    # Like every page's own choices: one it does not know shows the default, not a JSON error.
    granularity = granularity if granularity in ("week", "month") else "week"
    services = reports_of(request)
    if start is None and end is None:
        # The last four weeks of shipping up to the last day with orders (a store being filled, an
        # imported history ending long ago).
        end = verdicts.last_placed_on(services) or services.clock.now().astimezone(UTC).date()
        start = end - timedelta(days=27)
    start, end = period(services, start, end)
    try:
        card = carriers.carrier_scorecard(services, start, end, granularity=granularity)
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "carriers.html",
        {"session": session, "card": card, "start": start, "end": end, "granularity": granularity},
    )


@router.get("/returns", response_class=HTMLResponse)
def returns(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    page: Page = 1,
) -> Response:
    session = require(request, Permission.REPORTS_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    if start is None and end is None:
        # Returns come in after delivery: by default the last 90 days up to today.
        end = services.clock.now().astimezone(UTC).date()
        start = date.fromordinal(end.toordinal() - 89)
    start, end = period(services, start, end)
    opened_from, opened_to = bounds(start, end)
    try:
        report = board.returns_report(services, opened_from, opened_to, page=page, caller=session.caller)
    except DomainError as e:
        return problem(request, session, e)
    reasons = [r for r, _ in report.by_reason]
    return render(
        request,
        "returns.html",
        {
            "session": session,
            "report": report,
            "start": start,
            "end": end,
            "by_reason_chart": responsive(
                lambda width: bars(
                    [(r.replace("_", " "), n) for r, n in report.by_reason],
                    title="Returns opened by reason",
                    unit="returns",
                    width=width,
                )
            ),
            "weekly_chart": responsive(
                lambda width: stacked_columns(
                    [(f"{week:%d %b}", counts) for week, counts in report.weekly],
                    series=reasons,
                    title="Returns opened per week, by reason",
                    unit="returns",
                    x_label="week starting (Monday)",
                    width=width,
                )
            ),
            "stages": sorted({s for _, s in report.by_reason_and_stage}),
        },
    )
