"""Reading orders, and the operator's verbs before fulfilment: hold, release, reschedule, cancel."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from perfectorder.domain.access import SYSTEM, Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from perfectorder.domain.orders import RESERVED_ONLY, Action, EventType, HoldReason, OrderStatus, next_status
from perfectorder.services.aftersales import AFTER_SHIPPING
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.fulfilment_ports import AllocationRecord
from perfectorder.services.lifecycle import event
from perfectorder.services.notify import add_events
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
    if not reason.strip():
        raise InvalidInput("reason_required", "say why the line is cancelled", field="reason")
    if quantity <= 0:
        raise InvalidInput("invalid_quantity", "cancel at least one unit", field="quantity")

    def work(uow: UnitOfWork) -> OrderView:
        state = _state(uow, order_id, caller)
        if state.status not in (*RESERVED_ONLY, OrderStatus.PARTIALLY_SHIPPED):
            raise InvalidTransition(state.status, "cancel_line")
        line = next((x for x in uow.fulfilment.lines(order_id) if x.line_no == line_no), None)
        if line is None:
            raise NotFound("line_not_found", f"order {order_id} has no line {line_no}", field="line_no")
        now, actor = ctx.clock.now(), caller.actor
        reserved = [
            a
            for a in uow.fulfilment.allocations(order_id)
            if a.order_line_id == line.id and a.status == "reserved"
        ]
        cancellable = line.backordered_qty + sum(a.quantity for a in reserved)
        if quantity > cancellable:
            raise Conflict(
                "not_cancellable",
                f"only {cancellable} unit(s) of line {line_no} can still be cancelled",
                field="quantity",
                details={"cancellable": cancellable},
            )
        from_backorder = min(quantity, line.backordered_qty)
        remaining = quantity - from_backorder
        for alloc in sorted(reserved, key=lambda a: -a.id):
            if remaining == 0:
                break
            take = min(remaining, alloc.quantity)
            _release_part(uow, order_id, alloc, take, actor, now, f"line {line_no} cancelled")
            remaining -= take
        uow.fulfilment.update_line(
            line.id,
            {
                "backordered_qty": line.backordered_qty - from_backorder,
                "cancelled_qty": line.cancelled_qty + quantity,
            },
        )
        event(
            uow,
            order_id,
            EventType.LINE_CANCELLED.value,
            now,
            actor,
            line_no=line_no,
            quantity=quantity,
            reason=reason.strip(),
        )
        _settle_after_line_cancel(uow, state, now, actor, reason)
        return _reload(uow, order_id)

    return run_transaction(ctx, work)


def _release_part(
    uow: UnitOfWork,
    order_id: int,
    alloc: AllocationRecord,
    quantity: int,
    actor: str,
    now: datetime,
    why: str,
) -> None:
    if alloc.reserves_stock:
        if not uow.stock.release(alloc.product_id, alloc.warehouse_id, quantity):
            raise Conflict("stock_inconsistent", "the reservation to release is missing; call support")
        uow.stock.record(
            [
                Movement(
                    alloc.product_id, alloc.warehouse_id, "release", 0, -quantity, why, actor, now, order_id
                )
            ]
        )
    if quantity == alloc.quantity:
        uow.fulfilment.set_allocation_status([alloc.id], "released")
    else:
        uow.orders.resize_allocation(alloc.id, alloc.quantity - quantity)


def _settle_after_line_cancel(
    uow: UnitOfWork, state: OrderState, now: datetime, actor: str, reason: str
) -> None:
    lines = uow.fulfilment.lines(state.id)
    if all(x.open_qty <= 0 for x in lines):
        if state.status == OrderStatus.PARTIALLY_SHIPPED:
            _transition(uow, state, OrderStatus.SHIPPED, {"updated_at": now})
        elif all(x.cancelled_qty == x.quantity for x in lines):
            _transition(uow, state, OrderStatus.CANCELLED, {"cancelled_at": now, "updated_at": now})
            for hold in uow.orders.open_holds(state.id):
                uow.orders.release_hold(hold.id, at=now, by=actor, note="every line cancelled")
            event(
                uow,
                state.id,
                EventType.CANCELLED.value,
                now,
                actor,
                reason=reason.strip(),
                released_units=0,
                from_status=state.status,
            )
        return
    if not any(x.backordered_qty for x in lines):
        from perfectorder.services.inventory import release_stock_hold_if_covered

        release_stock_hold_if_covered(uow, state.id, now, actor)


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
        add_events(
            uow,
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
        add_events(uow, order_id, events)
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
        add_events(
            uow,
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
