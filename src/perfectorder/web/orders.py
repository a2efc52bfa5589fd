"""The orders board, the order page and the operator's actions on an order. Actions call the same
services as the API (so the same rules, events and messages), after the form's CSRF check."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from perfectorder.domain.access import Permission
from perfectorder.domain.errors import DomainError, InvalidInput
from perfectorder.domain.fulfilment import RETURN_REASONS
from perfectorder.domain.orders import OrderStatus
from perfectorder.services import aftersales, board, facts, payments, promise_risk, transit, verdicts
from perfectorder.services import orders as order_service
from perfectorder.services.board_ports import AGE_BUCKETS, OPEN_STATUSES, BoardQuery
from perfectorder.services.dispatch import order_messages
from perfectorder.web.common import (
    Session,
    csrf_ok,
    problem,
    render,
    reports_of,
    require,
    services_of,
    status_of,
)
from perfectorder.web.routes import bounds, period

router = APIRouter(include_in_schema=False)
ORDER_SORTS = ("id", "placed", "promised", "status", "total", "channel", "risk")
# What the order page says after an action; fixed texts, so nothing from the URL is echoed.
DONE = {
    "released": "Hold released.",
    "cancelled": "Order cancelled; its stock is available again.",
    "rescheduled": "New expected date saved; the customer is told.",
    "return": "Return opened.",
    "settled": "Payment recorded.",
}


@router.get("/orders", response_class=HTMLResponse)
def orders_board(
    request: Request,
    status: Annotated[str | None, Query(max_length=30)] = None,
    view: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    customer: int | None = None,
    failure: Annotated[str | None, Query(max_length=120)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    sort: str = "id",
    desc: bool = True,
    page: Annotated[int, Query(ge=1, le=1_000)] = 1,
) -> Response:
    session = require(request, Permission.ORDERS_READ)
    if not isinstance(session, Session):
        return session
    services = reports_of(request)
    order_ids: tuple[int, ...] | None = None
    failure_parts: tuple[str, str, str] | None = None
    if failure:
        # From the improvement page: the period's final orders that failed this way.
        parts = failure.split(":")
        if len(parts) == 3:
            failure_parts = (parts[0], parts[1], parts[2])
            start, end = period(services, start, end)
            order_ids = tuple(
                verdicts.orders_with_failure(services, *bounds(start, end), failure_parts, limit=2_000)
            )
    query = BoardQuery(
        status=status if status in {s.value for s in OrderStatus} else None,
        late=view == "late",
        at_risk=view == "at_risk",
        on_hold=view == "holds",
        text=q.strip() if q and q.strip() else None,
        customer_id=customer,
        order_ids=order_ids,
        sort=sort if sort in ORDER_SORTS else "id",
        descending=desc,
    )
    try:
        found = board.orders_board(services, query, page=page, caller=session.caller)
    except DomainError as e:
        return problem(request, session, e)
    return render(
        request,
        "orders.html",
        {
            "session": session,
            "board": found,
            "query": query,
            "view": view,
            "q": q or "",
            "failure": failure_parts,
            "start": start,
            "end": end,
            "statuses": OPEN_STATUSES,
            "age_labels": _age_labels(),
            "now": services.clock.now().astimezone(UTC),
        },
    )


def _age_labels() -> list[str]:
    edges = list(AGE_BUCKETS)
    labels = [f"{a}–{b} d" for a, b in zip(edges, edges[1:], strict=False)]
    return [*labels, f"{edges[-1]}+ d"]


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int, done: str | None = None) -> Response:
    session = require(request, Permission.ORDERS_READ)
    if not isinstance(session, Session):
        return session
    return _order_page(request, session, order_id, notice=DONE.get(done or ""))


def _order_page(
    request: Request, session: Session, order_id: int, *, notice: str | None = None, error: str | None = None
) -> Response:
    services = services_of(request)
    caller = session.caller
    try:
        found = facts.order_facts(services, order_id, caller=caller)
    except DomainError:
        return render(request, "missing.html", {"session": session, "order_id": order_id}, status_code=404)
    order = found.order
    context: dict[str, Any] = {
        "session": session,
        "order": order,
        "facts": found,
        "verdict": verdicts.order_verdict(services, order_id, caller=caller),
        "timeline": order_service.order_timeline(services, order_id, caller=caller),
        "messages": order_messages(services, order_id, caller=caller),
        "payments": payments.order_payments(services, order_id, caller=caller),
        "outstanding": _outstanding(order),
        "tracking": board.tracking(services, order_id),
        "eta": transit.order_eta(services, order_id, caller=caller),
        "risk": promise_risk.order_risk(services, order_id, caller=caller),
        "open_holds": [h for h in order.holds if h.released_at is None],
        "can_manage": caller.can(Permission.ORDERS_MANAGE),
        "can_return": caller.can(Permission.RETURNS_OPEN),
        "reasons": sorted(RETURN_REASONS.values(), key=lambda r: r.code),
        "shipped": order.status in ("shipped", "partially_shipped", "delivered"),
        "closed": order.status in ("delivered", "cancelled"),
        "today": services.clock.now().astimezone(UTC).date(),
        "notice": notice,
        "error": error,
    }
    status = 200 if error is None else 409
    return render(request, "order.html", context, status_code=status)


def _outstanding(order: Any) -> Decimal | None:
    """What an invoice customer still owes on this order; None for other payment methods."""
    if order.payment.method != "invoice" or order.status == "cancelled":
        return None
    due = sum((x.unit_price * (x.quantity - x.cancelled_qty) for x in order.lines), Decimal(0))
    left: Decimal = due - order.payment.paid - order.payment.refunded
    return max(left, Decimal(0))


def _act(
    request: Request, order_id: int, sent_csrf: str, permission: Permission, call: Any, done: str
) -> Response:
    """Runs one operator action: the session, its permission and CSRF token first, then the service;
    a refusal re-renders the order page with the service's own message."""
    session = require(request, permission)
    if not isinstance(session, Session):
        return session
    if not csrf_ok(session, sent_csrf):
        return _order_page(
            request, session, order_id, error="The form had expired; reload the page and try again."
        )
    try:
        call(session)
    except DomainError as e:
        page = _order_page(request, session, order_id, error=f"Refused: {e.message} ({e.code}).")
        page.status_code = status_of(e)
        return page
    return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)


@router.post("/orders/{order_id}/holds/{hold_id}/release")
def release_hold(
    request: Request,
    order_id: int,
    hold_id: int,
    csrf: Annotated[str, Form(max_length=200)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    def call(session: Session) -> None:
        order_service.release_hold(
            services_of(request),
            order_id,
            hold_id,
            note=note or "released from the dashboard",
            caller=session.caller,
        )

    return _act(request, order_id, csrf, Permission.ORDERS_MANAGE, call, "released")


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request,
    order_id: int,
    csrf: Annotated[str, Form(max_length=200)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    def call(session: Session) -> None:
        order_service.cancel_order(services_of(request), order_id, reason=reason, caller=session.caller)

    return _act(request, order_id, csrf, Permission.ORDERS_MANAGE, call, "cancelled")


@router.post("/orders/{order_id}/reschedule")
def reschedule(
    request: Request,
    order_id: int,
    csrf: Annotated[str, Form(max_length=200)],
    new_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    def call(session: Session) -> None:
        try:
            when = date.fromisoformat(new_date)
        except ValueError as e:
            raise InvalidInput("invalid_date", "pick the new date in the calendar", field="new_date") from e
        order_service.reschedule_order(
            services_of(request), order_id, new_date=when, reason=reason, caller=session.caller
        )

    return _act(request, order_id, csrf, Permission.ORDERS_MANAGE, call, "rescheduled")


@router.post("/orders/{order_id}/settle")
def settle(
    request: Request,
    order_id: int,
    csrf: Annotated[str, Form(max_length=200)],
    reference: Annotated[str, Form(max_length=100)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    def call(session: Session) -> None:
        try:
            paid = Decimal(amount.strip()) if amount.strip() else None
        except InvalidOperation as e:
            raise InvalidInput("invalid_amount", "write the amount as 1234.50", field="amount") from e
        if not reference.strip():
            raise InvalidInput("reference_required", "give the payment's reference", field="reference")
        payments.settle_invoice(
            services_of(request), order_id, amount=paid, reference=reference, caller=session.caller
        )

    return _act(request, order_id, csrf, Permission.ORDERS_MANAGE, call, "settled")


@router.post("/orders/{order_id}/returns")
async def open_return(request: Request, order_id: int) -> Response:
    # Per-line quantities arrive as "qty-<sku>" fields, one per line of the order.
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    lines: list[tuple[str, int]] = []
    for name, value in fields.items():
        if name.startswith("qty-") and value.strip() not in ("", "0"):
            lines.append((name[4:], int(value) if value.strip().isdigit() else -1))

    def call(session: Session) -> None:
        if any(q < 0 for _, q in lines):
            raise InvalidInput("invalid_quantity", "quantities are whole numbers", field="lines")
        aftersales.open_return(
            services_of(request),
            order_id,
            reason=fields.get("reason", ""),
            lines=lines,
            note=fields.get("note", "")[:1000],
            caller=session.caller,
        )

    csrf = fields.get("csrf", "")
    # The services are synchronous: off the event loop, as FastAPI runs the other (def) routes.
    return await anyio.to_thread.run_sync(
        lambda: _act(request, order_id, csrf, Permission.RETURNS_OPEN, call, "return")
    )
