"""What every dashboard page shares: the session behind the cookie, its permissions, the CSRF
check of forms, links that keep the page's filters, and the templates."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from perfectorder.domain.access import Permission, Principal
from perfectorder.domain.errors import DomainError, InvalidInput, Unavailable
from perfectorder.domain.text import check_text
from perfectorder.http_shared import SESSION_COOKIE, STATUS_BY_KIND
from perfectorder.services import access
from perfectorder.services.context import ServiceContext

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True, slots=True)
class Session:
    caller: Principal
    csrf: str


def services_of(request: Request) -> ServiceContext:
    services: ServiceContext = request.app.state.services
    return services


def reports_of(request: Request) -> ServiceContext:
    """For pages that only read and may lag a moment (reports, the board, lists): the read
    replica's context when one is configured, else the primary's."""
    reports: ServiceContext = request.app.state.application.reports
    return reports


def session_of(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal, csrf = access.session_principal(services_of(request), token)
    except Unavailable:
        raise  # the database is away, not the session: 503 with Retry-After, not the login page
    except DomainError:
        return None
    return Session(principal, csrf)


def require(request: Request, permission: Permission) -> Session | Response:
    """The page's session, or the answer to give instead: log in first, or not for your role."""
    session = session_of(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    # The audit trail names whoever acts from the dashboard, as it does for API keys.
    request.state.principal = session.caller
    if not session.caller.can(permission):
        return render(
            request,
            "refused.html",
            {"session": session, "permission": permission.value},
            status_code=403,
        )
    return session


def status_of(e: DomainError) -> int:
    """The HTTP status the API gives the same refusal."""
    return STATUS_BY_KIND.get(e.kind, 422)


def problem(request: Request, session: Session, e: DomainError) -> Response:
    """A page's request refused by a service: its message and code, with the API's status."""
    return render(request, "problem.html", {"session": session, "error": e}, status_code=status_of(e))


# Hashed and never shown: any character a person typed is theirs to keep.
SECRET_FIELDS = frozenset({"password"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefusedForm(Exception):
    def __init__(self, error: InvalidInput) -> None:
        super().__init__(error.message)
        self.error = error


async def plain_form(request: Request) -> None:
    """Every dashboard form, before its handler runs: no field may carry a control character. A NUL
    in a reason would otherwise reach PostgreSQL, which refuses it with an error page."""
    if request.method != "POST" or not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str) and name not in SECRET_FIELDS:
            try:
                check_text(value, name)
            except InvalidInput as e:
                raise RefusedForm(e) from None


def refused_form(request: Request, exc: Exception) -> Response:
    """The refusal as a page, with the API's status, for whoever is logged in (or nobody)."""
    assert isinstance(exc, RefusedForm)
    session = session_of(request)
    return render(request, "problem.html", {"session": session, "error": exc.error}, status_code=422)


def csrf_ok(session: Session, sent: str) -> bool:
    return hmac.compare_digest(sent.encode(), session.csrf.encode())


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    session = context.get("session")
    context = {"caller": session.caller if session else None, **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def with_params(request: Request, **changes: object) -> str:
    """This page's URL with some query parameters changed (None removes one): sort and page links."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


# Digits after the decimal point by currency (ISO 4217 minor units); amounts are stored exact.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def money(amount: Decimal | int | float | str | None, currency: str = "") -> str:
    """An amount as people read it: 1,234.50 EUR (exact storage keeps more digits than money has)."""
    if amount is None:
        return "–"
    digits = MINOR_UNITS.get(currency.upper(), 2)
    value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    return f"{value:,.{digits}f} {currency}".strip()


templates.env.globals["with_params"] = with_params
templates.env.filters["money"] = money
