"""Money after the order: captures, invoices settled, refunds, and the credit a settlement frees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import NotFound
from perfectorder.domain.orders import HoldReason
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.lifecycle import load_order, save_order, visible_order
from perfectorder.services.ports import UnitOfWork
from perfectorder.services.views import PaymentRecord


@dataclass(frozen=True, slots=True)
class Settlement:
    order_id: int
    amount: Decimal
    currency: str
    outstanding: Decimal
    # Orders of the same customer whose credit hold this settlement cleared.
    released_orders: tuple[int, ...]


def settle_invoice(
    ctx: ServiceContext,
    order_id: int,
    *,
    amount: Decimal | None,
    reference: str,
    caller: Principal = SYSTEM,
) -> Settlement:
    """Records a payment against an invoice order, then releases the customer's orders that were
    held for credit and now fit under the limit, oldest first."""

    def work(uow: UnitOfWork) -> Settlement:
        customer_id = visible_order(uow, order_id, caller).customer_id
        # Customer, then orders in id order: the order every use case takes its locks in.
        uow.customers.lock(customer_id)
        held = uow.customers.credit_held_orders(customer_id)
        for locking in sorted({order_id, *held}):
            uow.orders.state(locking, lock=True)
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.settle(amount, reference=reference)
        settled = Decimal(events[0].data["amount"])
        save_order(uow, order, events, at=now, actor=caller.actor, why="invoice settled")
        released = release_credit_holds(
            uow, customer_id, held, at=now, actor=caller.actor, why=f"order {order_id} settled"
        )
        return Settlement(order_id, settled, order.currency, order.outstanding, tuple(released))

    return run_transaction(ctx, work)


def release_credit_holds(
    uow: UnitOfWork, customer_id: int, held: list[int], *, at: datetime, actor: str, why: str
) -> list[int]:
    """Takes the customer's credit-held orders (`held`, oldest first) while each fits under the
    credit line. The caller read them under the customer's lock, so no other credit decision runs
    meanwhile."""
    customer = uow.customers.get(customer_id)
    if customer is None:
        return []
    in_use = uow.customers.open_balance(customer_id)
    released = []
    for held_id in held:
        order = uow.orders.load(held_id)
        if order is None or in_use + order.outstanding > customer.credit_limit:
            break  # oldest first: a later, smaller order does not jump the queue
        events = order.release_holds_of(HoldReason.CREDIT, note=f"credit available again: {why}", at=at)
        save_order(uow, order, events, at=at, actor=actor, why="credit hold released")
        in_use += order.outstanding
        released.append(held_id)
    return released


def capture_payment(
    ctx: ServiceContext,
    order_id: int,
    *,
    amount: Decimal | None,
    reference: str = "",
    caller: Principal = SYSTEM,
) -> PaymentRecord:
    """A capture by hand, for stores that do not capture at shipment."""

    def work(uow: UnitOfWork) -> PaymentRecord:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        events = order.capture_payment(amount, reference=reference)
        save_order(uow, order, events, at=now, actor=caller.actor, why="payment captured")
        return uow.payments.for_order(order_id)[-1]

    return run_transaction(ctx, work)


def order_payments(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> list[PaymentRecord]:
    def work(uow: UnitOfWork) -> list[PaymentRecord]:
        visible_order(uow, order_id, caller)
        return uow.payments.for_order(order_id)

    return read(ctx, work)


def customer_payments(ctx: ServiceContext, customer_id: int, *, limit: int = 200) -> list[PaymentRecord]:
    def work(uow: UnitOfWork) -> list[PaymentRecord]:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer_not_found", f"no customer has id {customer_id}", field="customer_id")
        return uow.payments.for_customer(customer_id, limit=limit)

    return read(ctx, work)
