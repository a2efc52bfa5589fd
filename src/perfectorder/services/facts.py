"""The facts of one order that the Perfect Order evaluation reads: promise, delivery, quantities,
and every issue with its criterion and stage."""

from __future__ import annotations

from dataclasses import dataclass

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import NotFound
from perfectorder.services.context import ServiceContext, read
from perfectorder.services.fulfilment_ports import (
    ClaimRecord,
    FeedbackRecord,
    IssueRecord,
    LineRecord,
    PackageRecord,
    ReturnRecord,
    ShipmentRecord,
    TaskRecord,
)
from perfectorder.services.ports import UnitOfWork
from perfectorder.services.views import OrderView


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order: OrderView
    lines: tuple[LineRecord, ...]
    pick_tasks: tuple[TaskRecord, ...]
    packages: tuple[PackageRecord, ...]
    shipments: tuple[ShipmentRecord, ...]
    issues: tuple[IssueRecord, ...]
    claims: tuple[ClaimRecord, ...]
    returns: tuple[ReturnRecord, ...]
    feedback: FeedbackRecord | None


def order_facts(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> OrderFacts:
    def work(uow: UnitOfWork) -> OrderFacts:
        order = uow.orders.get(order_id)
        if order is None or not caller.sees(channel=order.channel, customer_id=order.customer_id):
            raise NotFound("order_not_found", f"no order has id {order_id}", field="order_id")
        f = uow.fulfilment
        return OrderFacts(
            order=order,
            lines=tuple(f.lines(order_id)),
            pick_tasks=tuple(f.tasks(order_id=order_id)),
            packages=tuple(f.packages(order_id)),
            shipments=tuple(f.shipments(order_id)),
            issues=tuple(f.issues(order_id)),
            claims=tuple(f.claims(order_id)),
            returns=tuple(f.returns(order_id)),
            feedback=f.feedback(order_id),
        )

    return read(ctx, work)


def pick_list(ctx: ServiceContext, pick_list_id: int) -> list[TaskRecord]:
    tasks = read(ctx, lambda uow: uow.fulfilment.tasks(pick_list_id=pick_list_id))
    if not tasks:
        raise NotFound("pick_list_not_found", f"no pick list has id {pick_list_id}", field="pick_list_id")
    return tasks
