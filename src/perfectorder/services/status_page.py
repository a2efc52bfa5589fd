"""The customer's order-status page behind a signed link: the order in plain words, its promise and
when it is now expected, each parcel and what the carrier said, and every message sent. Anything but
a genuine, unexpired link for an existing order is the same 404, which says nothing about why."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from perfectorder.domain.access import Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.fulfilment import RETURN_REASONS
from perfectorder.domain.orders import AddressInput, EventType
from perfectorder.domain.promise import delivery_date
from perfectorder.domain.self_service import CUSTOMER_CANCELLABLE
from perfectorder.domain.status_links import sign, tracking_url, verify
from perfectorder.domain.verification import verify_address
from perfectorder.services import aftersales, transit
from perfectorder.services import orders as order_service
from perfectorder.services.aftersales import FeedbackInput
from perfectorder.services.board_ports import TrackingEvent
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.fulfilment_ports import FeedbackRecord, ReturnRecord
from perfectorder.services.lifecycle import event, update_order
from perfectorder.services.ports import OrderState, UnitOfWork
from perfectorder.services.views import OrderView

SECRET = "status_links"

# What each status means to the customer: a headline and what happens next.
WORDS = {
    "received": ("We have your order", "We are checking it; you will hear from us shortly."),
    "on_hold": (
        "Your order is waiting",
        "We are checking a detail before we prepare it; nothing for you to do.",
    ),
    "approved": (
        "We are preparing your order",
        "It is reserved for you and will be picked in the warehouse.",
    ),
    "picking": ("We are picking your order", "It is being collected in the warehouse."),
    "picked": ("We are packing your order", "Everything is collected and is being packed."),
    "packed": ("Your order is packed", "It leaves with the carrier shortly."),
    "partially_shipped": (
        "Part of your order is on its way",
        "The rest follows; each parcel is listed below.",
    ),
    "shipped": ("Your order is on its way", "Follow each parcel below."),
    "delivered": ("Your order was delivered", "We hope everything is right."),
    "cancelled": ("Your order was cancelled", "Nothing will be sent; any payment taken is refunded."),
}


@dataclass(frozen=True, slots=True)
class Parcel:
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str | None
    status: str
    shipped_at: datetime
    delivered_at: datetime | None
    events: tuple[TrackingEvent, ...]


@dataclass(frozen=True, slots=True)
class SentMessage:
    kind: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerStatus:
    order: OrderView
    headline: str
    next_step: str
    promised: date
    # When it is expected now: the promise, or the date it moved to; None once it arrived or ended.
    expected: date | None
    delivered_at: datetime | None
    parcels: tuple[Parcel, ...]
    messages: tuple[SentMessage, ...]
    names: dict[str, str]  # what each SKU is called in the catalog
    can_cancel: bool
    feedback: FeedbackRecord | None
    returns: tuple[ReturnRecord, ...]
    # What may still be sent back, and until when (each line by its category's window).
    returnable: tuple[Returnable, ...]
    # What the expected date rests on (services.transit.eta_of): "promise", "carrier", "p50",
    # "configured", "overdue"; and whether a parcel's tracking has gone silent for too long.
    expected_basis: str | None = None
    stalled: bool = False


@dataclass(frozen=True, slots=True)
class Returnable:
    sku: str
    quantity: int
    until: datetime


def link_path(ctx: ServiceContext, order_id: int) -> str:
    """The status page's path for this order, valid for the configured lifetime from now."""
    return read(ctx, lambda uow: link_paths(uow, [order_id], ctx)[order_id])


def link_paths(uow: UnitOfWork, order_ids: list[int], ctx: ServiceContext) -> dict[int, str]:
    """Inside a caller's transaction (the dispatcher renders a batch of e-mails): one secret read."""
    secret = uow.secrets.secret(SECRET)
    if secret is None:  # only a store whose secret row was deleted by hand
        raise NotFound("status_links_off", "no status-link secret: run perfectorder status-links rotate")
    expires = int((ctx.clock.now() + ctx.status_link_lifetime).timestamp())
    return {i: f"/status/{sign(secret, i, expires)}" for i in order_ids}


def order_status(ctx: ServiceContext, token: str) -> CustomerStatus:
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> CustomerStatus:
        order = _open(uow, token, now)
        events = uow.board.tracking(order.id)
        parcels = tuple(
            Parcel(
                s.carrier,
                s.service,
                s.tracking_number,
                tracking_url(ctx.tracking_urls, s.carrier, s.tracking_number),
                s.status,
                s.shipped_at,
                s.delivered_at,
                tuple(e for e in events if e.tracking_number == s.tracking_number),
            )
            for s in uow.fulfilment.shipments(order.id)
        )
        sent = tuple(
            SentMessage(m.topic, m.delivered_at)
            for m in uow.outbox.for_order(order.id)
            if m.kind == "email" and m.delivered_at is not None
        )
        products = uow.products.for_order([x.sku for x in order.lines])
        headline, next_step = WORDS.get(order.status, (order.status.replace("_", " "), ""))
        delivered = [p.delivered_at for p in parcels if p.delivered_at is not None]
        finished = order.status in ("delivered", "cancelled")
        eta = None if finished else transit.eta_of(uow, ctx, order)
        return CustomerStatus(
            order=order,
            headline=headline,
            next_step=next_step,
            promised=order.promised_date,
            expected=eta.expected if eta else None,
            delivered_at=max(delivered) if order.status == "delivered" and delivered else None,
            parcels=parcels,
            messages=sent,
            names={sku: p.name for sku, p in products.items()},
            can_cancel=order.status in CUSTOMER_CANCELLABLE,
            feedback=uow.fulfilment.feedback(order.id),
            returns=tuple(uow.fulfilment.returns(order.id)),
            returnable=_returnable(uow, ctx, order, now),
            expected_basis=eta.basis if eta else None,
            stalled=eta.stalled if eta else False,
        )

    return read(ctx, work)


def _open(uow: UnitOfWork, token: str, now: datetime) -> OrderView:
    secret = uow.secrets.secret(SECRET)
    order_id = verify(secret, token, int(now.timestamp())) if secret else None
    order = uow.orders.get(order_id) if order_id is not None else None
    if order is None:
        raise NotFound(
            "status_link_invalid",
            "this link does not open an order: it may have expired or been replaced; use the "
            "link in your latest e-mail about the order, or ask customer care for a new one",
        )
    return order


def _returnable(
    uow: UnitOfWork, ctx: ServiceContext, order: OrderView, now: datetime
) -> tuple[Returnable, ...]:
    if order.status != "delivered":
        return ()
    delivered = [s.delivered_at for s in uow.fulfilment.shipments(order.id) if s.delivered_at is not None]
    if not delivered:
        return ()
    found = []
    for line in uow.fulfilment.lines(order.id):
        product = uow.products.get(line.sku)
        until = ctx.return_windows.closes_at(max(delivered), product.category if product else "")
        left = line.shipped_qty - uow.fulfilment.returned_qty(line.id)
        if left > 0 and now < until:
            found.append(Returnable(line.sku, left, until))
    return tuple(found)


def _before_picking(uow: UnitOfWork, order_id: int, code: str, what_now: str) -> OrderState:
    """The order's row locked, and still before picking: the customer's own changes stop there."""
    state = uow.orders.state(order_id, lock=True)
    if state is None or state.status not in CUSTOMER_CANCELLABLE:
        raise Conflict(code, f"your order is already being prepared or on its way, so {what_now}")
    return state


def _as_customer(order: OrderView) -> Principal:
    # The timeline names the customer as the actor, and tenant rules apply: this order only.
    return Principal(
        f"customer:{order.customer_id} (status page)", Role.CUSTOMER, customer_id=order.customer_id
    )


def cancel(ctx: ServiceContext, token: str, *, reason: str) -> None:
    """The customer cancels before picking starts (decided under the order's lock)."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> None:
        order = _open(uow, token, now)
        _before_picking(
            uow,
            order.id,
            "too_late_to_cancel",
            "it can no longer be cancelled here: once it arrives you can send it back from this page",
        )
        why = reason.strip() or "no reason given"
        order_service.cancel_order(ctx, order.id, reason=f"customer: {why}"[:500], caller=_as_customer(order))

    run_transaction(ctx, work)


def rate(ctx: ServiceContext, token: str, given: FeedbackInput) -> None:
    """The customer's rating, as API feedback: it feeds the verdict and the KPIs alike."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> None:
        order = _open(uow, token, now)
        if order.status != "delivered":
            raise Conflict("not_delivered", "you can rate your order once it has arrived")
        aftersales.give_feedback(ctx, order.id, given, caller=_as_customer(order))

    run_transaction(ctx, work)


def request_return(
    ctx: ServiceContext, token: str, *, reason: str, lines: list[tuple[str, int]], note: str = ""
) -> ReturnRecord:
    """A return within each item's window (by category), with a reason from the taxonomy."""
    now = ctx.clock.now()
    if reason not in RETURN_REASONS:
        raise InvalidInput("unknown_reason", "choose a reason from the list", field="reason")

    def work(uow: UnitOfWork) -> ReturnRecord:
        order = _open(uow, token, now)
        open_now = {r.sku: r for r in _returnable(uow, ctx, order, now)}
        for index, (sku, _quantity) in enumerate(lines):
            if sku not in open_now:
                raise Conflict(
                    "return_window_closed",
                    f"{sku} can no longer be returned here (the return window has closed, or it "
                    "was returned already); customer care can still help",
                    field=f"lines[{index}].sku",
                )
        return aftersales.open_return(
            ctx, order.id, reason=reason, lines=lines, note=note.strip()[:500], caller=_as_customer(order)
        )

    return run_transaction(ctx, work)


def rotate_secret(ctx: ServiceContext) -> None:
    """A new secret: every link sent so far stops working (a leaked link, a departing employee)."""
    now = ctx.clock.now().astimezone(UTC)
    run_transaction(ctx, lambda uow: uow.secrets.replace_secret(SECRET, secrets.token_hex(32), at=now))


def change_address(ctx: ServiceContext, token: str, given: AddressInput) -> None:
    """The customer sends the order elsewhere before picking starts: the address is verified as at
    ordering, the order promised again from its planned ship dates (kept when no later), the
    change recorded in the timeline and confirmed by e-mail."""
    now = ctx.clock.now()
    address = verify_address(given, prefix="address")

    def work(uow: UnitOfWork) -> None:
        order = _open(uow, token, now)
        state = _before_picking(
            uow,
            order.id,
            "too_late_to_change_address",
            "its address can no longer be changed here: ask customer care, or the carrier",
        )
        reference = uow.warehouses.reference()
        service = reference.services.get(order.shipping_service)
        planned = [a.planned_ship_date for a in uow.fulfilment.allocations(order.id)]
        expected = state.rescheduled_date or state.promised_date
        if planned and service is not None:
            again = delivery_date(max(planned), service.transit_days, reference.calendar)
            expected = max(expected, again)
        changes = {
            "ship_name": address.name,
            "ship_line1": address.line1,
            "ship_line2": address.line2,
            "ship_city": address.city,
            "ship_region": address.region,
            "ship_postal_code": address.postal_code,
            "ship_country": address.country,
            "ship_phone": address.phone,
            "ship_timezone": address.timezone,
            "updated_at": now,
        }
        if expected != (state.rescheduled_date or state.promised_date):
            changes.update(rescheduled_date=expected, reschedule_reason="delivery address changed")
        update_order(uow, state, changes)
        event(
            uow,
            order.id,
            EventType.ADDRESS_CHANGED.value,
            now,
            _as_customer(order).actor,
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
            expected=expected.isoformat(),
        )

    run_transaction(ctx, work)
