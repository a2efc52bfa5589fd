"""Dashboard pages on suppliers and purchase orders: read-only, from the same service calls as the
API's, so the figures agree. The verbs (send, confirm, receive...) are the API's and the CLI's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from perfectorder.domain.access import Permission
from perfectorder.domain.errors import DomainError, NotFound
from perfectorder.domain.purchasing import POStatus
from perfectorder.domain.replenishment import AGE_BUCKETS, Terms
from perfectorder.services import board, purchasing, replenishment
from perfectorder.web.common import Session, problem, render, require, services_of

router = APIRouter(include_in_schema=False)
Page = Annotated[int, Query(ge=1, le=1_000)]
SUPPLIER_CHOICES = 500


@router.get("/suppliers", response_class=HTMLResponse)
def suppliers_page(request: Request, page: Page = 1) -> Response:
    session = require(request, Permission.STOCK_READ)
    if not isinstance(session, Session):
        return session
    try:
        rows = board.suppliers(services_of(request), page=page, caller=session.caller)
    except DomainError as e:
        return problem(request, session, e)
    return render(request, "suppliers.html", {"session": session, "rows": rows})


@router.get("/purchase-orders", response_class=HTMLResponse)
def purchase_orders_page(
    request: Request,
    status: Annotated[str | None, Query(max_length=30)] = None,
    supplier: Annotated[str | None, Query(max_length=32)] = None,
    page: Page = 1,
) -> Response:
    session = require(request, Permission.STOCK_READ)
    if not isinstance(session, Session):
        return session
    services = services_of(request)
    # A link's typo shows every status, as the orders board does, not an error page.
    chosen = POStatus(status) if status in {s.value for s in POStatus} else None
    try:
        rows = board.purchase_orders(
            services, status=chosen, supplier=supplier or None, page=page, caller=session.caller
        )
        choices = purchasing.list_suppliers(services, limit=SUPPLIER_CHOICES, caller=session.caller)
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "purchase_orders.html",
        {
            "session": session,
            "rows": rows,
            "statuses": [s.value for s in POStatus],
            "status": chosen.value if chosen else "",
            "suppliers": [s.code for s in choices],
            "supplier": supplier or "",
        },
    )


@router.get("/purchase-orders/{po_id}", response_class=HTMLResponse)
def purchase_order_page(request: Request, po_id: int) -> Response:
    session = require(request, Permission.STOCK_READ)
    if not isinstance(session, Session):
        return session
    try:
        found = purchasing.get_purchase_order(services_of(request), po_id, caller=session.caller)
    except NotFound:
        missing = {"title": f"No purchase order {po_id}", "back": ("/purchase-orders", "purchase orders")}
        return render(request, "missing.html", {"session": session, **missing}, status_code=404)
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "purchase_order.html",
        {"session": session, "po": found.summary, "detail": found},
    )


@router.get("/replenishment", response_class=HTMLResponse)
def replenishment_page(
    request: Request,
    service_level: Annotated[float, Query(ge=0.5, lt=1)] = 0.95,
    window_days: Annotated[int, Query(ge=7, le=365)] = 56,
    view: Annotated[str, Query(max_length=10)] = "order",
) -> Response:
    """What to order now (or every SKU, view=all), and the stock going stale (view=ageing)."""
    session = require(request, Permission.STOCK_READ)
    if not isinstance(session, Session):
        return session
    services = services_of(request)
    view = view if view in ("order", "all", "ageing") else "order"
    terms = replenishment.DEFAULT_TERMS if service_level == 0.95 else Terms(service_level=service_level)
    try:
        rows = (
            replenishment.plan(services, window_days=window_days, terms=terms, caller=session.caller)
            if view != "ageing"
            else []
        )
        ageing = replenishment.stock_ageing(services, caller=session.caller) if view == "ageing" else []
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "replenishment.html",
        {
            "session": session,
            "rows": [r for r in rows if view == "all" or r.suggestion.quantity > 0],
            "ageing": ageing,
            "view": view,
            "service_level": service_level,
            "window_days": window_days,
            "buckets": AGE_BUCKETS,
        },
    )
