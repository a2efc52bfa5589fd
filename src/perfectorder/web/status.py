"""The customer's order-status page, reached from every customer e-mail through a signed link: no
login, no staff navigation, nothing from another site. A bad link is a 404 that says nothing about
the order or why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from perfectorder.domain.errors import NotFound
from perfectorder.services import status_page
from perfectorder.web.common import render, services_of

router = APIRouter(include_in_schema=False)
# Links longer than any we sign are not worth a database read.
MAX_TOKEN = 80


@router.get("/status/{token}", response_class=HTMLResponse)
def order_status_page(request: Request, token: str) -> Response:
    found = None
    if len(token) <= MAX_TOKEN:
        try:
            found = status_page.order_status(services_of(request), token)
        except NotFound:
            found = None
    if found is None:
        page = render(request, "status_missing.html", {}, status_code=404)
    else:
        page = render(request, "status.html", {"s": found, "order": found.order})
    # A page for one customer: search engines keep out, and the link is not sent on as a referrer.
    page.headers["x-robots-tag"] = "noindex, nofollow"
    page.headers["referrer-policy"] = "no-referrer"
    return page
