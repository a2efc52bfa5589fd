"""Real-time stock: receipts, adjustments, levels and the ledger that explains every change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.promise import earliest_ship_date
from perfectorder.domain.text import check_text
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.lifecycle import load_order, save_order
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
    # The CLI reaches this without the API's schema; the ledger keeps the reason for the audit.
    for name, text in (("sku", sku), ("warehouse", warehouse), ("reason", reason)):
        check_text(text, name)

    def work(uow: UnitOfWork) -> StockView:
        product_id, warehouse_id = _resolve(uow, sku, warehouse)
        locked = lock_waiting_orders(uow, product_id)
        uow.stock.receive(product_id, warehouse_id, quantity)
        now = ctx.clock.now()
        uow.stock.record(
            [
                Movement(
                    product_id, warehouse_id, "receipt", quantity, 0, reason or "goods received", actor, now
                )
            ]
        )
        allocate_backorders(uow, product_id, warehouse_id, locked, now=now, actor=actor)
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
    for name, text in (("sku", sku), ("warehouse", warehouse), ("reason", reason)):
        check_text(text, name)
    if not reason.strip():
        raise InvalidInput(
            "reason_required", "say why the stock changes (count, damage, loss ...)", field="reason"
        )

    def work(uow: UnitOfWork) -> StockView:
        product_id, warehouse_id = _resolve(uow, sku, warehouse)
        if delta > 0:
            locked = lock_waiting_orders(uow, product_id)
            uow.stock.receive(product_id, warehouse_id, delta)
            allocate_backorders(uow, product_id, warehouse_id, locked, now=ctx.clock.now(), actor=actor)
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
    ctx: ServiceContext,
    *,
    sku: str | None,
    warehouse: str | None,
    after_id: int | None,
    limit: int,
    caller: Principal = SYSTEM,
) -> list[MovementView]:
    def work(uow: UnitOfWork) -> list[MovementView]:
        rows = uow.stock.movements(sku=sku, warehouse=warehouse, after_id=after_id, limit=limit)
        if not caller.is_tenant:
            return rows
        # A tenant sees how stock moved, not for whose orders nor which of our people moved it.
        owners = uow.orders.owners(sorted({r.order_id for r in rows if r.order_id is not None}))
        return [
            replace(
                r,
                order_id=r.order_id if r.order_id in owners and caller.sees(**owners[r.order_id]) else None,
                actor=r.actor if r.actor == caller.actor else "staff",
            )
            for r in rows
        ]

    return read(ctx, work)


def lock_waiting_orders(uow: UnitOfWork, product_id: int) -> frozenset[int]:
    """Locks the orders waiting for this product, in id order, before the stock row is touched: a
    receipt then takes its locks in the same order as every order change (order, then stock)."""
    waiting = sorted({w.order_id for w in uow.fulfilment.backordered_lines(product_id)})
    for order_id in waiting:
        uow.orders.state(order_id, lock=True)
    return frozenset(waiting)


def allocate_backorders(
    uow: UnitOfWork, product_id: int, warehouse_id: int, locked: frozenset[int], *, now: datetime, actor: str
) -> int:
    """Gives newly received units to backordered lines, oldest promise first. An order whose
    backorder is now fully covered loses its stock hold and, with no other hold, is approved.
    Only orders locked before the stock row take part; one that started waiting since then (its
    lock would come after the stock row's) is served by the next receipt."""
    reference = uow.warehouses.reference()
    warehouse = next(w for w in reference.warehouses if w.id == warehouse_id)
    allocated = 0
    for waiting in uow.fulfilment.backordered_lines(product_id):
        if waiting.order_id not in locked:
            continue
        order = load_order(uow, waiting.order_id, SYSTEM)
        available = uow.stock.available([product_id]).get((product_id, warehouse_id), 0)
        take = min(available, order.backordered(waiting.line_id))
        if available <= 0:
            break
        if take <= 0:
            continue
        if not uow.stock.reserve(product_id, warehouse_id, take):
            raise TransientConflict("stock moved while allocating backorders")
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
                    order.id,
                )
            ]
        )
        events = order.allocate_backorder(
            waiting.line_id,
            warehouse_id=warehouse_id,
            warehouse_code=warehouse.code,
            quantity=take,
            ship_date=earliest_ship_date(now, warehouse, reference.calendar),
            at=now,
        )
        save_order(uow, order, events, at=now, actor=actor, why="backorder allocated")
        allocated += take
    return allocated
