"""Moving an order through the transition table, safely under concurrency, with its timeline event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from perfectorder.domain.access import Principal
from perfectorder.domain.errors import Conflict, NotFound
from perfectorder.domain.order import DomainEvent, Order, StockMove
from perfectorder.domain.orders import Action, EventType, OrderStatus, next_status
from perfectorder.services.notify import add_events
from perfectorder.services.ports import Movement, NewEvent, OrderState, TransientConflict, UnitOfWork


def order_state(uow: UnitOfWork, order_id: int, caller: Principal) -> OrderState:
    """The order's header, its row locked: every use case that changes an order starts here or at
    `load_order`, so no decision about an order is made on state another writer is changing."""
    return _visible(uow.orders.state(order_id, lock=True), order_id, caller)


def visible_order(uow: UnitOfWork, order_id: int, caller: Principal) -> OrderState:
    """The order's header for reading: no lock."""
    return _visible(uow.orders.state(order_id), order_id, caller)


def load_order(uow: UnitOfWork, order_id: int, caller: Principal) -> Order:
    """The Order aggregate, locked, if the caller may see it."""
    order = uow.orders.load(order_id)
    if order is None or not caller.sees(channel=order.channel, customer_id=order.customer_id):
        raise not_found(order_id)
    return order


def _visible(state: OrderState | None, order_id: int, caller: Principal) -> OrderState:
    # Another tenant's order is "not found": its existence is not theirs to know.
    if state is None or not caller.sees(channel=state.channel, customer_id=state.customer_id):
        raise not_found(order_id)
    return state


def not_found(order_id: int) -> NotFound:
    return NotFound("order_not_found", f"no order has id {order_id}", field="order_id")


def apply(
    uow: UnitOfWork,
    state: OrderState,
    action: Action,
    *,
    at: datetime,
    changes: Mapping[str, Any] | None = None,
) -> OrderStatus:
    """Moves the order by `action` (InvalidTransition if the table does not allow it)."""
    target = next_status(OrderStatus(state.status), action)
    update_order(uow, state, {"updated_at": at, **(changes or {})}, status=target.value)
    return target


def update_order(
    uow: UnitOfWork, state: OrderState, changes: Mapping[str, Any], *, status: str | None = None
) -> None:
    # Compare-and-set on the status: if another transaction moved the order first, start again.
    if not uow.orders.transition(
        state.id, expected=state.status, target=status or state.status, changes=changes
    ):
        raise TransientConflict(f"order {state.id} changed concurrently")


def event(uow: UnitOfWork, order_id: int, type_: str, at: datetime, actor: str, **data: Any) -> None:
    add_events(uow, order_id, [NewEvent(type_, at, actor, data)])


def save_order(
    uow: UnitOfWork, order: Order, events: Sequence[DomainEvent], *, at: datetime, actor: str, why: str
) -> list[int]:
    """Saves the order, then gives back the units it released (each move naming its allocation,
    which the save has just moved out of 'reserved' under a guard), closes their pick tasks and
    appends the events. Returns the ids of holds placed."""
    moves, days = list(order.stock_moves), sorted(set(order.unbooked_days))
    off_pick_lists = {c.allocation_id for c in order.allocation_changes if c.was_status == "picking"}
    hold_ids = uow.orders.save(order, at=at, by=actor)
    order.stock_moves.clear()
    order.unbooked_days.clear()
    _give_back_stock(uow, order.id, moves, at=at, actor=actor, why=why)
    for warehouse_id, day in days:
        uow.stock.unbook_capacity(warehouse_id, day, 1)
    if off_pick_lists:
        for task in uow.fulfilment.tasks(order_id=order.id):
            if task.status == "open" and task.allocation_id in off_pick_lists:
                uow.fulfilment.update_task(task.id, picked_qty=task.picked_qty, status="cancelled")
                uow.fulfilment.close_pick_list_if_done(task.pick_list_id, at)
    placed = iter(hold_ids)
    add_events(
        uow,
        order.id,
        [
            NewEvent(
                e.type.value,
                at,
                actor,
                {"hold_id": next(placed), **e.data} if e.type is EventType.HELD else e.data,
            )
            for e in events
        ],
    )
    return hold_ids


def _give_back_stock(
    uow: UnitOfWork, order_id: int, moves: Sequence[StockMove], *, at: datetime, actor: str, why: str
) -> None:
    movements = []
    # Key order, so two transactions giving back stock of the same products never deadlock.
    for move in sorted(moves, key=lambda m: (m.product_id, m.warehouse_id, m.allocation_id)):
        if move.kind == "release":
            if not uow.stock.release(move.product_id, move.warehouse_id, move.quantity):
                raise Conflict("stock_inconsistent", "the reservation to release is missing; call support")
            movements.append(
                Movement(
                    move.product_id, move.warehouse_id, "release", 0, -move.quantity, why, actor, at, order_id
                )
            )
        else:
            uow.stock.receive(move.product_id, move.warehouse_id, move.quantity)
            movements.append(
                Movement(
                    move.product_id,
                    move.warehouse_id,
                    "return",
                    move.quantity,
                    0,
                    f"put back after picking: {why}",
                    actor,
                    at,
                    order_id,
                )
            )
    uow.stock.record(movements)
