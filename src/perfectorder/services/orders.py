"""Reading orders, and the operator's verbs before fulfilment: hold, release, reschedule, cancel."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from perfectorder.domain.access import SYSTEM, Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.orders import Action, EventType, HoldReason, OrderStatus, next_status
from perfectorder.services.aftersales import AFTER_SHIPPING
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.fulfilment_ports import AllocationRecord
from perfectorder.services.lifecycle import event
from perfectorder.services.ports import (
    Movement,
    NewEvent,
    NewHold,
    OrderFilter,
    OrderState,
    TransientConflict,
    UnitOfWork,
)
from perfectorder.services.views import EventView, OrderSummary, OrderView, Page


def get_order(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> OrderView:
    found = read(ctx, lambda uow: uow.orders.get(order_id))
    # Another tenant's order is "not found": its existence is not theirs to know.
    if found is None or not caller.sees(channel=found.channel, customer_id=found.customer_id):
        raise _not_found(order_id)
    return found


def order_timeline(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> list[EventView]:
    def work(uow: UnitOfWork) -> list[EventView]:
        _state(uow, order_id, caller)
        return uow.orders.timeline(order_id)

    return read(ctx, work)


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
        return int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error) as e:
        raise InvalidInput("invalid_cursor", "use the next_cursor of a previous page", field="cursor") from e


def cancel_order(ctx: ServiceContext, order_id: int, *, reason: str, caller: Principal = SYSTEM) -> OrderView:
    """Cancels before shipping, giving back every unit; after shipping, opens a return instead."""
    if not reason.strip():
        raise InvalidInput("reason_required", "say why the order is cancelled", field="reason")

    def work(uow: UnitOfWork) -> OrderView:
        state = _state(uow, order_id, caller)
        actor, now = caller.actor, ctx.clock.now()
        status = OrderStatus(state.status)
        if status in AFTER_SHIPPING:
            return _cancel_becomes_return(ctx, uow, order_id, reason, caller)
        next_status(status, Action.CANCEL)
        _transition(uow, state, OrderStatus.CANCELLED, {"cancelled_at": now, "updated_at": now})
        released = give_back(
            uow, order_id, uow.fulfilment.allocations(order_id), actor, now, "order cancelled"
        )
        for hold in uow.orders.open_holds(order_id):
            uow.orders.release_hold(hold.id, at=now, by=actor, note="order cancelled")
        event(
            uow,
            order_id,
            EventType.CANCELLED.value,
            now,
            actor,
            reason=reason.strip(),
            released_units=released,
            from_status=status.value,
        )
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


def give_back(
    uow: UnitOfWork,
    order_id: int,
    allocations: Sequence[AllocationRecord],
    actor: str,
    now: datetime,
    why: str,
) -> int:
    """Undoes allocations not yet shipped: reservations are released, units already picked go back on
    the shelf, open pick tasks are closed. Returns the units given back."""
    given_back = 0
    movements = []
    open_ones = [a for a in allocations if a.status in ("reserved", "picking", "picked", "packed")]
    for alloc in sorted(open_ones, key=lambda a: (a.product_id, a.warehouse_id)):
        if not alloc.reserves_stock:
            continue
        if alloc.status in ("reserved", "picking"):
            if not uow.stock.release(alloc.product_id, alloc.warehouse_id, alloc.quantity):
                raise Conflict("stock_inconsistent", "the reservation to release is missing; call support")
            movements.append(
                Movement(
                    alloc.product_id,
                    alloc.warehouse_id,
                    "release",
                    0,
                    -alloc.quantity,
                    why,
                    actor,
                    now,
                    order_id,
                )
            )
        else:
            uow.stock.receive(alloc.product_id, alloc.warehouse_id, alloc.quantity)
            movements.append(
                Movement(
                    alloc.product_id,
                    alloc.warehouse_id,
                    "return",
                    alloc.quantity,
                    0,
                    f"put back after picking: {why}",
                    actor,
                    now,
                    order_id,
                )
            )
        given_back += alloc.quantity
    for warehouse_id, day in sorted(
        {(a.warehouse_id, a.planned_ship_date) for a in open_ones if a.status == "reserved"}
    ):
        uow.stock.unbook_capacity(warehouse_id, day, 1)
    uow.stock.record(movements)
    closing = {a.id for a in open_ones}
    for task in uow.fulfilment.tasks(order_id=order_id):
        if task.status == "open" and task.allocation_id in closing:
            uow.fulfilment.update_task(task.id, picked_qty=task.picked_qty, status="cancelled")
            uow.fulfilment.close_pick_list_if_done(task.pick_list_id, now)
    uow.fulfilment.set_allocation_status(sorted(closing), "released")
    return given_back


def hold_order(
    ctx: ServiceContext, order_id: int, *, reason: HoldReason, note: str, caller: Principal = SYSTEM
) -> OrderView:
    def work(uow: UnitOfWork) -> OrderView:
        state = _state(uow, order_id, caller)
        actor = caller.actor
        next_status(OrderStatus(state.status), Action.HOLD)
        now = ctx.clock.now()
        if state.status != OrderStatus.ON_HOLD:
            _transition(uow, state, OrderStatus.ON_HOLD, {"updated_at": now})
        [hold_id] = uow.orders.add_holds(order_id, [NewHold(reason.value, note.strip(), now, actor)])
        uow.orders.add_events(
            order_id,
            [
                NewEvent(
                    EventType.HELD.value,
                    now,
                    actor,
                    {"hold_id": hold_id, "reason": reason.value, "note": note},
                )
            ],
        )
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def release_hold(
    ctx: ServiceContext, order_id: int, hold_id: int, *, note: str, caller: Principal = SYSTEM
) -> OrderView:
    def work(uow: UnitOfWork) -> OrderView:
        state = _state(uow, order_id, caller)
        actor = caller.actor
        holds = uow.orders.open_holds(order_id)
        hold = next((h for h in holds if h.id == hold_id), None)
        if hold is None:
            raise NotFound("hold_not_found", f"order {order_id} has no open hold {hold_id}", field="hold_id")
        now = ctx.clock.now()
        if not uow.orders.release_hold(hold_id, at=now, by=actor, note=note.strip()):
            raise TransientConflict("hold released concurrently")
        events = [
            NewEvent(
                EventType.HOLD_RELEASED.value,
                now,
                actor,
                {"hold_id": hold_id, "reason": hold.reason, "note": note.strip()},
            )
        ]
        if len(holds) == 1:
            _transition(uow, state, OrderStatus.APPROVED, {"approved_at": now, "updated_at": now})
            events.append(NewEvent(EventType.APPROVED.value, now, actor, {"automatic": False}))
        uow.orders.add_events(order_id, events)
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def reschedule_order(
    ctx: ServiceContext, order_id: int, *, new_date: date, reason: str, caller: Principal = SYSTEM
) -> OrderView:
    """Stores a new expected date beside the original promise, which never changes."""
    if not reason.strip():
        raise InvalidInput("reason_required", "say why the date moves", field="reason")

    def work(uow: UnitOfWork) -> OrderView:
        state = _state(uow, order_id, caller)
        actor = caller.actor
        if state.status in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
            raise Conflict("invalid_transition", f"an order in status '{state.status}' cannot be rescheduled")
        if new_date < ctx.clock.now().date():
            raise InvalidInput("date_in_past", "the new date has already passed", field="new_date")
        now = ctx.clock.now()
        _transition(
            uow,
            state,
            OrderStatus(state.status),
            {"rescheduled_date": new_date, "reschedule_reason": reason.strip(), "updated_at": now},
        )
        previous = state.rescheduled_date or state.promised_date
        uow.orders.add_events(
            order_id,
            [
                NewEvent(
                    EventType.RESCHEDULED.value,
                    now,
                    actor,
                    {
                        "from": previous.isoformat(),
                        "to": new_date.isoformat(),
                        "reason": reason.strip(),
                        "original_promise": state.promised_date.isoformat(),
                    },
                )
            ],
        )
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def _state(uow: UnitOfWork, order_id: int, caller: Principal) -> OrderState:
    state = uow.orders.state(order_id)
    if state is None or not caller.sees(channel=state.channel, customer_id=state.customer_id):
        raise _not_found(order_id)
    return state


def _transition(uow: UnitOfWork, state: OrderState, target: OrderStatus, changes: dict[str, object]) -> None:
    # Compare-and-set on the status: if another transaction moved the order first, start again.
    if not uow.orders.transition(state.id, expected=state.status, target=target.value, changes=changes):
        raise TransientConflict(f"order {state.id} changed concurrently")


def _reload(uow: UnitOfWork, order_id: int) -> OrderView:
    view = uow.orders.get(order_id)
    assert view is not None
    return view


def _not_found(order_id: int) -> NotFound:
    return NotFound("order_not_found", f"no order has id {order_id}", field="order_id")
