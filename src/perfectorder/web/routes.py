"""Dashboard pages on the Perfect Order: log in, the overview, the improvement list. Every figure
comes from the same service calls as the API's, so the two agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from perfectorder.domain.access import Permission
from perfectorder.domain.errors import DomainError
from perfectorder.domain.promise import BASES, MAX_GRACE_MINUTES
from perfectorder.http_shared import SESSION_COOKIE, STATUS_BY_KIND, client_address
from perfectorder.metrics.kpis import CustomerBehaviour, Kpis
from perfectorder.metrics.measures import COMPONENTS, MEASURES, Kind
from perfectorder.metrics.perfect_order import OnTimeBasis, Settings
from perfectorder.services import access, jobs, reports, verdicts
from perfectorder.services import login as login_service
from perfectorder.services.context import ServiceContext, reading
from perfectorder.services.root_causes import Rank
from perfectorder.web.charts import rate_line, responsive
from perfectorder.web.common import Session, render, reports_of, require, services_of

router = APIRouter(include_in_schema=False)
GROUPS = ("channel", "warehouse", "carrier", "category", "tier")
MAX_DAYS = 366
RELOAD_SECONDS = 20
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def period(services: ServiceContext, start: date | None, end: date | None) -> tuple[date, date]:
    """The period a page shows: by default the latest 30 days whose verdicts are final (newer
    orders are still in their settlement window and would show as provisional, not as rates),
    ending on the last day with orders when the store has none since (an imported history, a
    simulation still filling the store): an empty page says nothing."""
    today = services.clock.now().astimezone(UTC).date()
    if end is None:
        end = today - verdicts.DEFAULT_SETTINGS.settlement - timedelta(days=1)
        last = verdicts.last_placed_on(services)
        end = min(end, last) if last is not None else end
    start = start or end - timedelta(days=29)
    # Dates far outside any store's life would overflow the calendar in the period arithmetic.
    start, end = (min(max(d, EARLIEST), LATEST) for d in (start, end))
    if end < start or (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=29)
    return start, end


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the usual name
    return render(request, "login.html", {"next": _local(next)})


def _local(target: str) -> str:
    # Only paths on this site: "//host" or "/\\host" would send the user elsewhere after login.
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> Response:
    application = request.app.state.application
    services = services_of(request)
    try:
        issued = login_service.login(
            services,
            application.logins,
            username=username,
            password=password,
            client=client_address(request),
            via=request.url.path,
        )
    except DomainError as e:
        status = STATUS_BY_KIND[e.kind] if e.kind in ("rate_limited", "unavailable") else 401
        page = render(request, "login.html", {"next": _local(next), "error": e.message}, status_code=status)
        if "retry_after_seconds" in e.details:
            page.headers["Retry-After"] = str(e.details["retry_after_seconds"])
        return page
    response = RedirectResponse(_local(next), status_code=303)
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


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        access.logout(services_of(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def kpi_rows(kpis: Kpis, behaviour: CustomerBehaviour) -> list[tuple[str, str, float | None]]:
    """(title, unit, value) of every whole-store figure the overview shows, from metrics.measures:
    a new measure appears here without a template change."""
    rows: list[tuple[str, str, float | None]] = []
    for m in MEASURES:
        if m.kind in (Kind.RATE, Kind.MEAN):
            rows.append((m.title, m.unit, kpis.rates[m.name]))
        elif m.kind is Kind.CUSTOMER and m.unit != "customers":
            rows.append((m.title, m.unit, getattr(behaviour, m.name)))
        elif m.kind is Kind.DISTRIBUTION and m.group is None:
            rows.append((f"{m.title}, median", m.unit, kpis.distributions[m.name].median))
    return rows


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: str | None = None,
    key: Annotated[str | None, Query(max_length=100)] = None,
    on_time_basis: Annotated[str | None, Query(max_length=10)] = None,
    grace_minutes: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    session = require(request, Permission.REPORTS_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    # Every figure of the page, the default period's last day and the jobs in one read transaction.
    with reading(services):
        return _overview(request, session, services, start, end, group_by, key, on_time_basis, grace_minutes)


def _overview(
    request: Request,
    session: Session,
    services: ServiceContext,
    start: date | None,
    end: date | None,
    group_by: str | None,
    key: str | None,
    on_time_basis: str | None,
    grace_minutes: str | None,
) -> Response:
    start, end = period(services, start, end)
    group = group_by if group_by in GROUPS else None
    focus = key if group and key else None
    placed_from, placed_to = bounds(start, end)
    # A form's values: anything else than a basis or a whole number in range reads as not given.
    basis = OnTimeBasis(on_time_basis) if on_time_basis in BASES else None
    grace = int(grace_minutes) if grace_minutes and grace_minutes.isdigit() else None
    grace = grace if grace is not None and grace <= MAX_GRACE_MINUTES else None
    settings = Settings(basis=basis, grace_minutes=grace)
    figures = reports.overview(
        services, placed_from, placed_to, group_by=group, focus=focus, settings=settings
    )
    scope = f"{group} {focus}" if focus else "whole store"
    now = services.clock.now()
    running = [(job, jobs.is_stalled(job, now)) for job in jobs.unfinished(services)]
    return render(
        request,
        "overview.html",
        {
            "session": session,
            "jobs": running,
            # Reloads itself while a job fills the store (the demo's simulation), so the figures grow.
            "reload_seconds": RELOAD_SECONDS if any(not stalled for _, stalled in running) else None,
            "start": start,
            "end": end,
            "group_by": group,
            "focus": focus,
            "scope": scope,
            "groups": GROUPS,
            "report": figures.report if group else {},
            "overall": figures.overall,
            "previous": figures.previous,
            "components": COMPONENTS,
            "chart": responsive(
                lambda width: rate_line(
                    list(figures.trend),
                    title=f"Perfect order rate per day, {scope}, {start} to {end}",
                    width=width,
                )
            ),
            "ranked": figures.ranked,
            "kpis": figures.kpis,
            "kpi_rows": kpi_rows(figures.kpis, figures.behaviour),
            "late": figures.late,
            "at_risk": figures.at_risk,
            "as_of": figures.as_of,
            "bases": BASES,
            "basis": basis.value if basis else None,
            "grace": grace,
            "max_grace": MAX_GRACE_MINUTES,
        },
    )


@router.get("/improvement", response_class=HTMLResponse)
def improvement(
    request: Request,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    rank: str = "orders",
) -> Response:
    session = require(request, Permission.REPORTS_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    start, end = period(services, start, end)
    ranking: Rank = "cost" if rank == "cost" else "orders"  # a link's typo shows the usual ranking
    figures = reports.improvements(services, *bounds(start, end), limit=25, rank=ranking)
    return render(
        request,
        "improvement.html",
        {
            "session": session,
            "start": start,
            "end": end,
            "overall": figures.overall,
            "ranked": figures.ranked,
            "as_of": figures.as_of,
            "rank": ranking,
            "costs": figures.costs,
        },
    )
