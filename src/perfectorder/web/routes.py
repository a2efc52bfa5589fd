"""Dashboard pages. Every figure comes from the same service calls as the API's, so the two agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from perfectorder.api.security import SESSION_COOKIE
from perfectorder.domain.access import Principal
from perfectorder.domain.errors import DomainError
from perfectorder.metrics.perfect_order import COMPONENTS
from perfectorder.services import access, verdicts
from perfectorder.services import orders as order_service
from perfectorder.services.context import ServiceContext
from perfectorder.services.dispatch import order_messages
from perfectorder.web.charts import rate_line

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
GROUPS = ("channel", "warehouse", "carrier", "category", "tier")


def _services(request: Request) -> ServiceContext:
    services: ServiceContext = request.app.state.services
    return services


def _caller(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal, _ = access.session_principal(_services(request), token)
    except DomainError:
        return None
    return principal


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the usual name
    return templates.TemplateResponse(request, "login.html", {"next": next if next.startswith("/") else "/"})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=200)] = "/",  # noqa: A002
) -> Response:
    application = request.app.state.application
    services = _services(request)
    try:
        issued = access.login(services, application.passwords, username=username, password=password)
    except DomainError as e:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": next, "error": e.message},
            status_code=401 if e.kind != "locked" else 423,
        )
    response = RedirectResponse(next if next.startswith("/") else "/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int((issued.expires_at - services.clock.now()).total_seconds()),
        httponly=True,
        secure=application.settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return response


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: str | None = None,
) -> Response:
    caller = _caller(request)
    if caller is None:
        return _to_login(request)
    services = _services(request)
    today = services.clock.now().astimezone(UTC).date()
    # By default the latest 30 days whose verdicts are final: newer orders are still in their
    # settlement window and would show as provisional, not as rates.
    end = end or today - verdicts.DEFAULT_SETTINGS.settlement - timedelta(days=1)
    start = start or end - timedelta(days=29)
    if end < start or (end - start).days > 366:
        start, end = end - timedelta(days=29), end
    group = group_by if group_by in GROUPS else None
    placed_from = datetime.combine(start, time(), UTC)
    placed_to = datetime.combine(end + timedelta(days=1), time(), UTC)
    report = verdicts.perfect_order_report(services, placed_from, placed_to, group_by=group)
    before = verdicts.perfect_order_report(services, *verdicts.previous_period(placed_from, placed_to))
    trend = verdicts.perfect_order_trend(services, placed_from, placed_to, granularity="day")
    ranked = verdicts.improvement_report(services, placed_from, placed_to, limit=10)
    kpis, behaviour = verdicts.kpi_report(services, placed_from, placed_to)
    chart = rate_line(
        [(p.period, p.rates.perfect_order_rate, p.rates.orders) for p in trend],
        title=f"Perfect order rate per day, {start} to {end}",
    )
    return templates.TemplateResponse(
        request,
        "overview.html",
        {
            "caller": caller,
            "start": start,
            "end": end,
            "group_by": group,
            "groups": GROUPS,
            "report": report,
            "overall": verdicts.perfect_order_report(services, placed_from, placed_to)["all"],
            "previous": before["all"],
            "components": COMPONENTS,
            "chart": chart,
            "ranked": ranked,
            "kpis": kpis,
            "behaviour": behaviour,
        },
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int) -> Response:
    caller = _caller(request)
    if caller is None:
        return _to_login(request)
    services = _services(request)
    try:
        order = order_service.get_order(services, order_id, caller=caller)
    except DomainError:
        return templates.TemplateResponse(request, "missing.html", {"order_id": order_id}, status_code=404)
    context: dict[str, Any] = {
        "caller": caller,
        "order": order,
        "verdict": verdicts.order_verdict(services, order_id, caller=caller),
        "timeline": order_service.order_timeline(services, order_id, caller=caller),
        "messages": order_messages(services, order_id, caller=caller),
    }
    return templates.TemplateResponse(request, "order.html", context)


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        access.logout(_services(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
