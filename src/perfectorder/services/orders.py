"""Reading orders, and the operator's verbs before fulfilment: hold, release, reschedule, cancel."""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from datetime import date

from perfectorder.domain.access import SYSTEM, Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput
from perfectorder.domain.orders import EventType, HoldReason, OrderStatus
from perfectorder.services.aftersales import AFTER_SHIPPING
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.lifecycle import event, load_order, not_found, save_order, visible_order
from perfectorder.services.ports import (
    OrderFilter,
    UnitOfWork,
)
from perfectorder.services.tracking import deliver_if_complete
from perfectorder.services.views import EventView, OrderSummary, OrderView, Page


def get_order(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> OrderView:
    found = read(ctx, lambda uow: uow.orders.get(order_id))
    # Another tenant's order is "not found": its existence is not theirs to know.
    if found is None or not caller.sees(channel=found.channel, customer_id=found.customer_id):
        raise not_found(order_id)
    return found


def order_timeline(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> list[EventView]:
    def work(uow: UnitOfWork) -> list[EventView]:
        visible_order(uow, order_id, caller)
        return uow.orders.timeline(order_id)

    events = read(ctx, work)
    # A tenant sees what happened, not who on our staff did it or what we noted about them.
    return [_as_tenant_sees(e, caller) for e in events] if caller.is_tenant else events


_INTERNAL_NOTES = frozenset({"note", "hold_id"})


def _as_tenant_sees(e: EventView, caller: Principal) -> EventView:
    actor = e.actor if e.actor == caller.actor or e.actor.startswith(("channel:", "system")) else "staff"
    data = (
        {k: v for k, v in e.data.items() if k not in _INTERNAL_NOTES}
        if e.type.startswith("order.hold") or e.type == "order.held"
        else e.data
    )
    return replace(e, actor=actor, data=data)


def list_orders(
    ctx: ServiceContext, flt: OrderFilter, *, cursor: str | None, limit: int, caller: Principal = SYSTEM
) -> Page[OrderSummary]:
    if not 1 <= limit <= ctx.page_size_limit:
        raise InvalidInput("invalid_limit", f"limit is between 1 and {ctx.page_size_limit}", field="limit")
    before_id = decode_cursor(cursor)
    scoped = scoped_filter(flt, caller)
    if scoped is None:
        return Page((), None)
    rows = read(ctx, lambda uow: uow.orders.page(scoped, before_id=before_id, limit=limit + 1))
    more = len(rows) > limit
    items = tuple(rows[:limit])
    return Page(items, encode_cursor(items[-1].id) if more and items else None)


def scoped_filter(flt: OrderFilter, caller: Principal) -> OrderFilter | None:
    """Narrows a filter to what the caller may see; None when they asked for another tenant's."""
    if caller.role is Role.CHANNEL:
        return None if flt.channel not in (None, caller.channel) else replace(flt, channel=caller.channel)
    if caller.role is Role.CUSTOMER:
        if flt.customer_id not in (None, caller.customer_id):
            return None
        return replace(flt, customer_id=caller.customer_id)
    return flt


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """Cursors are opaque to callers; a tampered one is a clear 422, not a crash."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id":
            raise ValueError(prefix)
        last_id = int(value)
        # Ids are 32-bit in the schema: anything beyond was never handed out as a cursor.
        if not 0 < last_id <= 2**31 - 1:
            raise ValueError(value)
        return last_id
    except (ValueError, UnicodeDecodeError, binascii.Error) as e:
        raise InvalidInput("invalid_cursor", "use the next_cursor of a previous page", field="cursor") from e


def cancel_order(
    ctx: ServiceContext,
    order_id: int,
    *,
    reason: str,
    open_return: bool = False,
    caller: Principal = SYSTEM,
) -> OrderView:
    """Cancels before shipping, giving back every unit (also off a pick list, or packed). After
    shipping only with `open_return`: what has left comes back as a `changed_mind` return, which
    the caller asked for in so many words rather than received as a surprise."""
    if not reason.strip():
        raise InvalidInput("reason_required", "say why the order is cancelled", field="reason")

    def work(uow: UnitOfWork) -> OrderView:
        order = load_order(uow, order_id, caller)
        if order.status in AFTER_SHIPPING and not open_return:
            raise Conflict(
                "already_shipped",
                f"order {order_id} has shipped ({order.status.value}): cancel it with open_return "
                "to open a changed_mind return of what was shipped, or open a return with its own reason",
                field="open_return",
            )
        if order.status in AFTER_SHIPPING:
            return _cancel_becomes_return(ctx, uow, order_id, reason, caller)
        now = ctx.clock.now()
        events = order.cancel(reason=reason, at=now)
        save_order(uow, order, events, at=now, actor=caller.actor, why="order cancelled")
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def _cancel_becomes_return(
    ctx: ServiceContext, uow: UnitOfWork, order_id: int, reason: str, caller: Principal
) -> OrderView:
    from perfectorder.services.aftersales import open_return

    lines = [
        (x.sku, x.shipped_qty - uow.fulfilment.returned_qty(x.id)) for x in uow.fulfilment.lines(order_id)
    ]
    lines = [(sku, qty) for sku, qty in lines if qty > 0]
    if not lines:
        raise Conflict(
            "nothing_to_return", f"everything shipped in order {order_id} is already being returned"
        )
    record = open_return(
        ctx,
        order_id,
        reason="changed_mind",
        lines=lines,
        note=f"cancelled after shipping: {reason}",
        caller=caller,
    )
    event(
        uow,
        order_id,
        EventType.CANCELLED_AFTER_SHIPPING.value,
        ctx.clock.now(),
        caller.actor,
        return_id=record.id,
        reason=reason.strip(),
    )
    return _reload(uow, order_id)


def cancel_line(
    ctx: ServiceContext,
    order_id: int,
    line_no: int,
    *,
    quantity: int,
    reason: str,
    caller: Principal = SYSTEM,
) -> OrderView:
    """Cancels units of one line that have not left: backordered units first, then reserved ones.
    Units already on a pick list must be taken off it first (cancel the order, or wait)."""

    def work(uow: UnitOfWork) -> OrderView:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.cancel_line(line_no, quantity, reason=reason, at=now)
        save_order(uow, order, events, at=now, actor=caller.actor, why=f"line {line_no} cancelled")
        if order.status is OrderStatus.SHIPPED:
            # The rest was cancelled; if every parcel has already arrived, the order is delivered now.
            deliver_if_complete(uow, order_id, now, caller.actor)
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def hold_order(
    ctx: ServiceContext, order_id: int, *, reason: HoldReason, note: str, caller: Principal = SYSTEM
) -> OrderView:
    def work(uow: UnitOfWork) -> OrderView:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.hold(reason, note=note, at=now)
        save_order(uow, order, events, at=now, actor=caller.actor, why="order held")
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def release_hold(
    ctx: ServiceContext, order_id: int, hold_id: int, *, note: str, caller: Principal = SYSTEM
) -> OrderView:
    def work(uow: UnitOfWork) -> OrderView:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.release_hold(hold_id, note=note, at=now)
        save_order(uow, order, events, at=now, actor=caller.actor, why="hold released")
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def reschedule_order(
    ctx: ServiceContext, order_id: int, *, new_date: date, reason: str, caller: Principal = SYSTEM
) -> OrderView:
    """Stores a new expected date beside the original promise, which never changes."""

    def work(uow: UnitOfWork) -> OrderView:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.reschedule(
            new_date, reason=reason, today=now.date(), at=now, horizon_days=ctx.limits.max_promise_days
        )
        save_order(uow, order, events, at=now, actor=caller.actor, why="rescheduled")
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def _reload(uow: UnitOfWork, order_id: int) -> OrderView:
    view = uow.orders.get(order_id)
    assert view is not None
    return view
