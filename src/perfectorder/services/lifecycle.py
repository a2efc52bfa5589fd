"""Moving an order through the transition table, safely under concurrency, with its timeline event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from perfectorder.domain.access import Principal
from perfectorder.domain.errors import NotFound
from perfectorder.domain.orders import Action, OrderStatus, next_status
from perfectorder.services.notify import add_events
from perfectorder.services.ports import NewEvent, OrderState, TransientConflict, UnitOfWork


def order_state(uow: UnitOfWork, order_id: int, caller: Principal) -> OrderState:
    state = uow.orders.state(order_id)
    # Another tenant's order is "not found": its existence is not theirs to know.
    if state is None or not caller.sees(channel=state.channel, customer_id=state.customer_id):
        raise NotFound("order_not_found", f"no order has id {order_id}", field="order_id")
    return state


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
