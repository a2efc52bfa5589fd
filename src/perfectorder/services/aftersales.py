"""Stage 8: customer feedback, returns with a reason that names the failed stage, exchanges,
reshipments of lost parcels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.fulfilment import PARCEL_LOSSES, RETURN_REASONS
from perfectorder.domain.orders import (
    AddressInput,
    CustomerInput,
    EventType,
    LineInput,
    OrderStatus,
    PaymentInput,
    PlaceOrder,
)
from perfectorder.domain.values import Channel, PaymentMethod, PaymentStatus
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.fulfilment_ports import FeedbackRecord, IssueRecord, ReturnRecord
from perfectorder.services.lifecycle import event, load_order, order_state, save_order, visible_order
from perfectorder.services.ports import Movement, UnitOfWork

FEEDBACK_WINDOW = timedelta(days=30)
AFTER_SHIPPING = frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


@dataclass(frozen=True, slots=True)
class FeedbackInput:
    rating: int
    arrived_complete: bool | None = None
    undamaged: bool | None = None
    as_described: bool | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    sku: str
    restock: int
    scrap: int


def give_feedback(
    ctx: ServiceContext, order_id: int, given: FeedbackInput, *, caller: Principal = SYSTEM
) -> FeedbackRecord:
    """One feedback per order, editable for FEEDBACK_WINDOW after it was first given."""
    if not 1 <= given.rating <= 5:
        raise InvalidInput("invalid_rating", "rate from 1 to 5", field="rating")

    def work(uow: UnitOfWork) -> FeedbackRecord:
        state = order_state(uow, order_id, caller)
        if state.status not in AFTER_SHIPPING:
            raise Conflict(
                "not_shipped", f"order {order_id} has not shipped yet; feedback comes after delivery"
            )
        now = ctx.clock.now()
        existing = uow.fulfilment.feedback(order_id)
        if existing is not None and now - existing.created_at > FEEDBACK_WINDOW:
            raise Conflict("feedback_window_closed", "feedback can be changed for 30 days after it was given")
        record = FeedbackRecord(
            order_id,
            given.rating,
            given.arrived_complete,
            given.undamaged,
            given.as_described,
            given.comment.strip(),
            existing.created_at if existing else now,
            now,
        )
        uow.fulfilment.save_feedback(record, new=existing is None)
        event(
            uow,
            order_id,
            EventType.FEEDBACK.value,
            now,
            caller.actor,
            rating=given.rating,
            arrived_complete=given.arrived_complete,
            undamaged=given.undamaged,
            as_described=given.as_described,
            edited=existing is not None,
        )
        return record

    return run_transaction(ctx, work)


def open_return(
    ctx: ServiceContext,
    order_id: int,
    *,
    reason: str,
    lines: Sequence[tuple[str, int]],
    note: str = "",
    caller: Principal = SYSTEM,
) -> ReturnRecord:
    """A return authorisation. Its reason maps to the Perfect Order criterion and stage that failed."""
    taxonomy = RETURN_REASONS.get(reason)
    if taxonomy is None:
        raise InvalidInput("unknown_reason", f"use one of {sorted(RETURN_REASONS)}", field="reason")
    if not lines:
        raise InvalidInput("no_lines", "say which items come back", field="lines")

    def work(uow: UnitOfWork) -> ReturnRecord:
        state = order_state(uow, order_id, caller)
        if state.status not in AFTER_SHIPPING:
            raise Conflict("not_shipped", f"order {order_id} has not shipped; cancel it instead")
        by_sku = {x.sku: x for x in uow.fulfilment.lines(order_id)}
        chosen = []
        for index, (sku, quantity) in enumerate(lines):
            line = by_sku.get(sku)
            if line is None:
                raise InvalidInput(
                    "unknown_sku", f"order {order_id} has no line for {sku}", field=f"lines[{index}].sku"
                )
            returnable = line.shipped_qty - uow.fulfilment.returned_qty(line.id)
            if not 0 < quantity <= returnable:
                raise InvalidInput(
                    "invalid_quantity",
                    f"{returnable} x {sku} can still be returned",
                    field=f"lines[{index}].quantity",
                )
            chosen.append((line.id, sku, quantity))
        now = ctx.clock.now()
        criterion = taxonomy.criterion.value if taxonomy.criterion else None
        stage = taxonomy.stage.value if taxonomy.stage else None
        return_id = uow.fulfilment.add_return(
            order_id=order_id,
            reason=reason,
            criterion=criterion,
            stage=stage,
            note=note,
            at=now,
            lines=chosen,
        )
        if criterion and stage:
            uow.fulfilment.add_issue(
                order_id,
                IssueRecord(
                    criterion, stage, f"return_{reason}", f"return {return_id}: {taxonomy.label}", now
                ),
            )
        event(
            uow,
            order_id,
            EventType.RETURN_AUTHORIZED.value,
            now,
            caller.actor,
            return_id=return_id,
            reason=reason,
            criterion=criterion,
            stage=stage,
            lines=[{"sku": s, "quantity": q} for _, s, q in chosen],
        )
        found = uow.fulfilment.return_(return_id)
        assert found is not None
        return found

    return run_transaction(ctx, work)


def receive_return(
    ctx: ServiceContext,
    return_id: int,
    *,
    lines: Sequence[ReceivedLine],
    refund: Decimal | None = None,
    exchange: bool = False,
    caller: Principal = SYSTEM,
) -> ReturnRecord:
    """Inspects what came back: restocked units go back on hand, scrapped ones are written off;
    the refund defaults to what the returned units cost; an exchange ships as a new, linked order."""

    def work(uow: UnitOfWork) -> ReturnRecord:
        record = uow.fulfilment.return_(return_id)
        if record is not None:
            # The order first, then the return read again: a concurrent receipt may have closed it.
            uow.orders.state(record.order_id, lock=True)
            record = uow.fulfilment.return_(return_id)
        if record is None or not _visible(uow, record.order_id, caller):
            raise NotFound("return_not_found", f"no return has id {return_id}", field="return_id")
        if record.status != "authorized":
            raise Conflict("return_closed", f"return {return_id} was already received")
        given = {x.sku: x for x in lines}
        order_lines = {x.id: x for x in uow.fulfilment.lines(record.order_id)}
        now, actor = ctx.clock.now(), caller.actor
        warehouse_id = _returns_warehouse(uow, record.order_id)
        total = Decimal(0)
        for line in record.lines:
            got = given.get(line.sku)
            if got is None or got.restock + got.scrap != line.quantity or min(got.restock, got.scrap) < 0:
                raise InvalidInput(
                    "inspection_mismatch",
                    f"restock + scrap must equal {line.quantity} x {line.sku}",
                    field="lines",
                )
            product_id = order_lines[line.order_line_id].product_id
            if got.restock:
                uow.stock.receive(product_id, warehouse_id, got.restock)
            uow.stock.record(
                [
                    Movement(
                        product_id,
                        warehouse_id,
                        "return",
                        got.restock,
                        0,
                        f"return {return_id}: {got.restock} restocked, {got.scrap} scrapped",
                        actor,
                        now,
                        record.order_id,
                    )
                ]
            )
            uow.fulfilment.receive_return_line(line.id, restocked=got.restock, scrapped=got.scrap)
            total += order_lines[line.order_line_id].unit_price * line.quantity
        exchange_id = _exchange(ctx, uow, record) if exchange else None
        amount = total if refund is None else refund
        if amount < 0:
            raise InvalidInput("invalid_amount", "a refund cannot be negative", field="refund")
        if exchange and refund is None:
            amount = Decimal(0)
        uow.fulfilment.close_return(return_id, at=now, refund=amount, exchange_order_id=exchange_id)
        order = load_order(uow, record.order_id, caller)
        save_order(uow, order, order.refund(amount, return_id=return_id), at=now, actor=actor, why="refund")
        event(
            uow,
            record.order_id,
            EventType.RETURN_RECEIVED.value,
            now,
            actor,
            return_id=return_id,
            refund=str(amount),
            exchange_order_id=exchange_id,
        )
        closed = uow.fulfilment.return_(return_id)
        assert closed is not None
        return closed

    return run_transaction(ctx, work)


def _visible(uow: UnitOfWork, order_id: int, caller: Principal) -> bool:
    try:
        visible_order(uow, order_id, caller)
    except NotFound:
        return False
    return True


def _returns_warehouse(uow: UnitOfWork, order_id: int) -> int:
    shipments = uow.fulfilment.shipments(order_id)
    if shipments:
        return shipments[0].warehouse_id
    return min(uow.warehouses.reference().warehouses, key=lambda w: (w.priority, w.id)).id


def _exchange(ctx: ServiceContext, uow: UnitOfWork, record: ReturnRecord) -> int:
    return _replacement(
        ctx,
        uow,
        record.order_id,
        tuple((x.sku, x.quantity) for x in record.lines),
        ref=f"EXCHANGE-{record.id}",
        why=f"exchange for return {record.id} of order {record.order_id}",
    )


def _replacement(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order_id: int,
    items: Sequence[tuple[str, int]],
    *,
    ref: str,
    why: str,
) -> int:
    """A free order shipping `items` again to the original's customer and address."""
    from perfectorder.services.placing import place_order

    order = uow.orders.get(order_id)
    assert order is not None
    address = order.shipping_address
    command = PlaceOrder(
        channel=Channel.CUSTOMER_SERVICE,
        external_ref=ref,
        currency=order.currency,
        lines=tuple(LineInput(sku, quantity, Decimal(0)) for sku, quantity in items),
        customer=CustomerInput(id=order.customer_id),
        shipping_address=AddressInput(**{f: getattr(address, f) for f in AddressInput.__slots__}),
        payment=PaymentInput(PaymentMethod.CARD, PaymentStatus.CAPTURED, Decimal(0), why[:100]),
        note=why,
    )
    return place_order(ctx, command).id


def reship_lost_parcel(
    ctx: ServiceContext, order_id: int, claim_id: int, *, caller: Principal = SYSTEM
) -> int:
    """Ships what a lost parcel held again, as a new order linked to the claim; returns its id.
    The original order keeps its verdict (not complete, not on time: the parcel never arrived)."""

    def work(uow: UnitOfWork) -> int:
        order_state(uow, order_id, caller)
        claim = next((c for c in uow.fulfilment.claims(order_id) if c.id == claim_id), None)
        if claim is None:
            raise NotFound("claim_not_found", f"order {order_id} has no claim {claim_id}", field="claim_id")
        if claim.kind not in PARCEL_LOSSES:
            raise Conflict(
                "claim_not_lost",
                f"claim {claim_id} is for a {claim.kind} parcel, not a lost or destroyed one; "
                "a damaged parcel that arrived is handled as a return",
            )
        if claim.replacement_order_id is not None:
            raise Conflict(
                "already_reshipped", f"claim {claim_id} was reshipped as order {claim.replacement_order_id}"
            )
        shipment = next(s for s in uow.fulfilment.shipments(order_id) if s.id == claim.shipment_id)
        package = next(p for p in uow.fulfilment.packages(order_id) if p.id == shipment.package_id)
        replacement = _replacement(
            ctx,
            uow,
            order_id,
            package.items,
            ref=f"RESHIP-{claim_id}",
            why=f"reshipment of lost parcel {shipment.tracking_number} of order {order_id}",
        )
        if not uow.fulfilment.link_replacement(claim_id, replacement):
            raise Conflict("already_reshipped", f"claim {claim_id} was reshipped meanwhile")
        # Both verdicts are queued in this transaction (the placement's and this event's), so the
        # refresh that judges them reads the link.
        event(
            uow,
            order_id,
            EventType.RESHIPPED.value,
            ctx.clock.now(),
            caller.actor,
            claim_id=claim_id,
            replacement_order_id=replacement,
        )
        return replacement

    return run_transaction(ctx, work)


def get_return(ctx: ServiceContext, return_id: int, *, caller: Principal = SYSTEM) -> ReturnRecord:
    def work(uow: UnitOfWork) -> ReturnRecord:
        record = uow.fulfilment.return_(return_id)
        if record is None or not _visible(uow, record.order_id, caller):
            raise NotFound("return_not_found", f"no return has id {return_id}", field="return_id")
        return record

    return read(ctx, work)
