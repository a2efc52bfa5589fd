"""The customer's order-status page, reached from every customer e-mail through a signed link: no
login, no staff navigation, nothing from another site. A bad link is a 404 that says nothing about
the order or why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from perfectorder.domain.errors import DomainError, InvalidInput, NotFound
from perfectorder.domain.fulfilment import RETURN_REASONS
from perfectorder.domain.orders import AddressInput
from perfectorder.http_shared import STATUS_BY_KIND
from perfectorder.services import status_page
from perfectorder.services.aftersales import FeedbackInput
from perfectorder.web.common import render, services_of

router = APIRouter(include_in_schema=False)
# Links longer than any we sign are not worth a database read.
MAX_TOKEN = 80


DONE = {
    "address": "Your order goes to the new address; we sent you an e-mail to confirm it.",
    "cancelled": "Your order is cancelled. Nothing will be sent; any payment taken is refunded.",
    "rated": "Thank you: your rating is saved. You can change it for 30 days.",
    "return": "Your return is registered. Send the items back; we will tell you when they arrive.",
}
# Reasons a customer picks from, with the words they read; the code maps to criterion and stage.
REASONS = sorted(RETURN_REASONS.values(), key=lambda r: (r.criterion is None, r.label))


@router.get("/status/{token}", response_class=HTMLResponse)
def order_status_page(request: Request, token: str, done: str | None = None) -> Response:
    return _page(request, token, notice=DONE.get(done or ""))


def _page(
    request: Request, token: str, *, notice: str | None = None, error: DomainError | None = None
) -> Response:
    found = None
    if len(token) <= MAX_TOKEN:
        try:
            found = status_page.order_status(services_of(request), token)
        except NotFound:
            found = None
    if found is None:
        page = render(request, "status_missing.html", {}, status_code=404)
    else:
        context = {"s": found, "order": found.order, "notice": notice, "error": error, "reasons": REASONS}
        status = STATUS_BY_KIND.get(error.kind, 409) if error is not None else 200
        page = render(request, "status.html", context, status_code=status)
    # A page for one customer: search engines keep out, and the link is not sent on as a referrer.
    page.headers["x-robots-tag"] = "noindex, nofollow"
    page.headers["referrer-policy"] = "no-referrer"
    return page


# The forms need no session or CSRF token: the signed link in their address is the credential, and
# another site cannot know it. What they do runs through the same use cases as the API, as the
# customer (actor in the timeline), within the self-service policy (services.status_page).


def _after(request: Request, token: str, done: str, action: object) -> Response:
    try:
        action()  # type: ignore[operator]
    except NotFound:
        return _page(request, token)
    except DomainError as e:
        return _page(request, token, error=e)
    return RedirectResponse(f"/status/{token}?done={done}", status_code=303)


@router.post("/status/{token}/cancel", response_class=HTMLResponse)
def cancel(request: Request, token: str, reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    services = services_of(request)
    return _after(request, token, "cancelled", lambda: status_page.cancel(services, token, reason=reason))


@router.post("/status/{token}/rate", response_class=HTMLResponse)
def rate(
    request: Request,
    token: str,
    rating: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    complete: Annotated[str, Form()] = "",
    undamaged: Annotated[str, Form()] = "",
    as_described: Annotated[str, Form()] = "",
) -> Response:
    given = FeedbackInput(
        rating,
        arrived_complete=_answer(complete),
        undamaged=_answer(undamaged),
        as_described=_answer(as_described),
        comment=comment,
    )
    services = services_of(request)
    return _after(request, token, "rated", lambda: status_page.rate(services, token, given))


@router.post("/status/{token}/return", response_class=HTMLResponse)
async def request_return(request: Request, token: str) -> Response:
    form = await request.form()
    reason = str(form.get("reason", ""))
    note = str(form.get("note", ""))[:500]
    lines = []
    for sku in form.getlist("sku"):
        raw = str(form.get(f"qty:{sku}", "0"))
        if raw.isdigit() and 0 < int(raw) <= 10_000:
            lines.append((str(sku)[:64], int(raw)))
    services = services_of(request)

    def act() -> None:
        if not lines:
            raise InvalidInput("no_lines", "tick the items you send back", field="lines")
        status_page.request_return(services, token, reason=reason, lines=lines, note=note)

    return _after(request, token, "return", act)


@router.post("/status/{token}/address", response_class=HTMLResponse)
def change_address(
    request: Request,
    token: str,
    name: Annotated[str, Form(max_length=200)] = "",
    line1: Annotated[str, Form(max_length=200)] = "",
    line2: Annotated[str, Form(max_length=200)] = "",
    city: Annotated[str, Form(max_length=100)] = "",
    postal_code: Annotated[str, Form(max_length=20)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    given = AddressInput(
        name=name,
        line1=line1,
        line2=line2,
        city=city,
        postal_code=postal_code,
        country=country.upper(),
        phone=phone,
        timezone=timezone or None,
    )
    services = services_of(request)
    return _after(request, token, "address", lambda: status_page.change_address(services, token, given))


def _answer(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)
