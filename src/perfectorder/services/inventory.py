"""Real-time stock: receipts, adjustments, levels and the ledger that explains every change."""

from __future__ import annotations

from datetime import datetime

from perfectorder.domain.access import SYSTEM
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.orders import Action, EventType, HoldReason, OrderStatus
from perfectorder.domain.promise import earliest_ship_date
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.lifecycle import apply, event, order_state
from perfectorder.services.ports import Movement, TransientConflict, UnitOfWork
from perfectorder.services.views import MovementView, StockView

MAX_MOVEMENT = 1_000_000


def receive_stock(
    ctx: ServiceContext, *, sku: str, warehouse: str, quantity: int, reason: str = "", actor: str = "system"
) -> StockView:
    if quantity <= 0 or quantity > MAX_MOVEMENT:
        raise InvalidInput(
            "invalid_quantity", f"receive between 1 and {MAX_MOVEMENT} units", field="quantity"
        )

    def work(uow: UnitOfWork) -> StockView:
        product_id, warehouse_id = _resolve(uow, sku, warehouse)
        uow.stock.receive(product_id, warehouse_id, quantity)
        now = ctx.clock.now()
        uow.stock.record(
            [
                Movement(
                    product_id, warehouse_id, "receipt", quantity, 0, reason or "goods received", actor, now
                )
            ]
        )
        allocate_backorders(uow, product_id, warehouse_id, now=now, actor=actor)
        return _level(uow, product_id, warehouse_id)

    return run_transaction(ctx, work)


def adjust_stock(
    ctx: ServiceContext, *, sku: str, warehouse: str, delta: int, reason: str, actor: str = "system"
) -> StockView:
    """Corrects on-hand after a count, damage or loss; the reason is mandatory for the audit trail."""
    if delta == 0 or abs(delta) > MAX_MOVEMENT:
        raise InvalidInput(
            "invalid_quantity", f"adjust by a non-zero amount up to {MAX_MOVEMENT}", field="delta"
        )
    if not reason.strip():
        raise InvalidInput(
            "reason_required", "say why the stock changes (count, damage, loss ...)", field="reason"
        )

    def work(uow: UnitOfWork) -> StockView:
        product_id, warehouse_id = _resolve(uow, sku, warehouse)
        if delta > 0:
            uow.stock.receive(product_id, warehouse_id, delta)
            allocate_backorders(uow, product_id, warehouse_id, now=ctx.clock.now(), actor=actor)
        elif not uow.stock.adjust(product_id, warehouse_id, delta):
            current = uow.stock.level(product_id, warehouse_id)
            raise Conflict(
                "adjustment_below_reserved",
                f"cannot remove {-delta}: on hand {current.on_hand if current else 0}, "
                f"reserved {current.reserved if current else 0}; cancel or re-source orders first",
                field="delta",
            )
        uow.stock.record(
            [
                Movement(
                    product_id, warehouse_id, "adjustment", delta, 0, reason.strip(), actor, ctx.clock.now()
                )
            ]
        )
        return _level(uow, product_id, warehouse_id)

    return run_transaction(ctx, work)


def _resolve(uow: UnitOfWork, sku: str, warehouse: str) -> tuple[int, int]:
    product = uow.products.get(sku)
    if product is None:
        raise NotFound("product_not_found", f"no product has SKU '{sku}'", field="sku")
    found = next((w for w in uow.warehouses.reference().warehouses if w.code == warehouse), None)
    if found is None:
        raise NotFound(
            "warehouse_not_found", f"no active warehouse has code '{warehouse}'", field="warehouse"
        )
    return product.id, found.id


def _level(uow: UnitOfWork, product_id: int, warehouse_id: int) -> StockView:
    level = uow.stock.level(product_id, warehouse_id)
    assert level is not None  # the row was just written in this transaction
    return level


def stock_levels(
    ctx: ServiceContext, *, sku: str | None = None, warehouse: str | None = None, limit: int = 200
) -> list[StockView]:
    return read(ctx, lambda uow: uow.stock.levels(sku=sku, warehouse=warehouse, limit=limit))


def ledger(
    ctx: ServiceContext, *, sku: str | None, warehouse: str | None, after_id: int | None, limit: int
) -> list[MovementView]:
    return read(
        ctx, lambda uow: uow.stock.movements(sku=sku, warehouse=warehouse, after_id=after_id, limit=limit)
    )


def allocate_backorders(
    uow: UnitOfWork, product_id: int, warehouse_id: int, *, now: datetime, actor: str
) -> int:
    """Gives newly received units to backordered lines, oldest promise first. An order whose
    backorder is now fully covered loses its stock hold and, with no other hold, is approved."""
    reference = uow.warehouses.reference()
    warehouse = next(w for w in reference.warehouses if w.id == warehouse_id)
    allocated = 0
    for waiting in uow.fulfilment.backordered_lines(product_id):
        available = uow.stock.available([product_id]).get((product_id, warehouse_id), 0)
        take = min(available, waiting.quantity)
        if take <= 0:
            break
        if not uow.stock.reserve(product_id, warehouse_id, take):
            raise TransientConflict("stock moved while allocating backorders")
        uow.fulfilment.add_allocation(
            order_id=waiting.order_id,
            order_line_id=waiting.line_id,
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=take,
            planned_ship_date=earliest_ship_date(now, warehouse, reference.calendar),
        )
        uow.fulfilment.update_line(waiting.line_id, {"backordered_qty": waiting.quantity - take})
        uow.stock.record(
            [
                Movement(
                    product_id,
                    warehouse_id,
                    "reservation",
                    0,
                    take,
                    "backorder allocated",
                    actor,
                    now,
                    waiting.order_id,
                )
            ]
        )
        event(
            uow,
            waiting.order_id,
            EventType.BACKORDER_ALLOCATED.value,
            now,
            actor,
            line_id=waiting.line_id,
            quantity=take,
            warehouse=warehouse.code,
        )
        release_stock_hold_if_covered(uow, waiting.order_id, now, actor)
        allocated += take
    return allocated


def release_stock_hold_if_covered(uow: UnitOfWork, order_id: int, now: datetime, actor: str) -> None:
    if any(x.backordered_qty > 0 for x in uow.fulfilment.lines(order_id)):
        return
    holds = uow.orders.open_holds(order_id)
    stock_holds = [h for h in holds if h.reason == HoldReason.STOCK]
    for hold in stock_holds:
        uow.orders.release_hold(hold.id, at=now, by=actor, note="backorder covered by a receipt")
        event(
            uow,
            order_id,
            EventType.HOLD_RELEASED.value,
            now,
            actor,
            hold_id=hold.id,
            reason="stock",
            note="backorder covered by a receipt",
        )
    if stock_holds and len(stock_holds) == len(holds):
        state = order_state(uow, order_id, SYSTEM)
        if state.status == OrderStatus.ON_HOLD:
            apply(uow, state, Action.RELEASE_HOLD, at=now, changes={"approved_at": now})
            event(uow, order_id, EventType.APPROVED.value, now, actor, automatic=True)
