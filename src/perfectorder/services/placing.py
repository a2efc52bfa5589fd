"""Placing an order: verify, source, reserve, promise, approve or hold, record. One transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Permission, Principal, Role
from perfectorder.domain.approval import CreditPosition, decide_holds
from perfectorder.domain.catalog import Warehouse
from perfectorder.domain.errors import Conflict, Forbidden, InsufficientStock
from perfectorder.domain.orders import EventType, Hold, OrderStatus, PlaceOrder
from perfectorder.domain.promise import (
    MAX_CAPACITY_LOOKAHEAD_DAYS,
    OnTimeTerms,
    WorkCalendar,
    backorder_ship_date,
    delivery_date,
    earliest_ship_date,
    final_promise,
    restock_from_purchase_orders,
)
from perfectorder.domain.sourcing import Allocation, SourcingPlan, plan_sourcing
from perfectorder.domain.transit import CONFIGURED, Lane, LearningTerms, TransitChoice, choose_transit, region
from perfectorder.domain.values import BackorderPolicy, FulfilmentMode, PaymentMethod
from perfectorder.domain.verification import KnownCustomer, VerifiedOrder, check_order_text, verify_order
from perfectorder.services import lost_demand
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.notify import add_events
from perfectorder.services.ports import (
    CustomerRecord,
    CustomerSpec,
    Movement,
    NewAllocation,
    NewEvent,
    NewHold,
    NewLine,
    NewOrder,
    ReferenceData,
    TransientConflict,
    UnitOfWork,
)
from perfectorder.services.views import (
    AllocationView,
    HoldView,
    LineView,
    OrderView,
    order_view,
)


@dataclass(frozen=True, slots=True)
class Promise:
    ship_dates: dict[int, date]  # warehouse_id -> booked ship date
    promised_date: date
    transit: TransitChoice  # the transit of the latest arrival, the one the promise rests on

    @property
    def first_ship_date(self) -> date:
        return min(self.ship_dates.values()) if self.ship_dates else self.promised_date


def place_order(ctx: ServiceContext, cmd: PlaceOrder, *, caller: Principal = SYSTEM) -> OrderView:
    if not caller.can(Permission.ORDERS_PLACE):
        raise Forbidden("forbidden", f"role '{caller.role.value}' may not place orders")
    if caller.role is Role.CHANNEL and cmd.channel.value != caller.channel:
        raise Forbidden(
            "channel_not_allowed",
            f"this key places orders for channel '{caller.channel}' only",
            field="channel",
        )
    # Before any look-up: PostgreSQL refuses a NUL in a query parameter with an error, not a miss.
    check_order_text(cmd)
    try:
        return run_transaction(ctx, lambda uow: _place(uow, ctx, cmd, caller=caller))
    except InsufficientStock as refused:
        # After the refusal rolled back: the demand is counted, and nothing else was written.
        lost_demand.record(ctx, cmd.channel.value, cmd.external_ref, refused.lost)
        raise


def _place(uow: UnitOfWork, ctx: ServiceContext, cmd: PlaceOrder, *, caller: Principal) -> OrderView:
    now, actor = ctx.clock.now(), caller.actor
    reference = uow.warehouses.reference()
    customer = _walled(uow, _find_customer(uow, cmd), cmd, caller)
    # Never look up more SKUs than an order may have: the limit is checked by verification.
    skus = [line.sku for line in cmd.lines[: ctx.limits.max_lines]]
    products = uow.products.for_order(skus) if skus else {}
    verified = verify_order(
        cmd,
        products=products,
        customer=customer.known if customer else None,
        shipping_services=reference.services.keys(),
        limits=ctx.limits,
        today=now.date(),
    )
    # Credit before stock: locks go customer, then orders, then stock rows, in every use case.
    credit = _credit(uow, cmd, customer)
    plan = _source_and_reserve(uow, verified, reference, cmd.backorder_policy)
    promise = _promise(uow, cmd, verified, plan, reference, now, ctx.transit)
    holds = decide_holds(
        total=verified.total,
        payment=cmd.payment,
        credit=credit,
        risk=ctx.risk,
        backordered_units=sum(plan.backorders.values()),
    )
    customer_id = customer.known.id if customer else _new_customer(uow, cmd, verified, now)
    codes = {w.id: w.code for w in reference.warehouses}
    # The terms the promise is held to are fixed now, as the promise is: the customer's own, else
    # the channel's. A later change of either never rejudges orders already placed.
    terms = (customer.terms if customer else None) or ctx.limits.on_time_terms.get(
        cmd.channel.value, OnTimeTerms()
    )
    return _record(uow, cmd, verified, plan, promise, holds, customer_id, now, actor, codes, terms)


def _find_customer(uow: UnitOfWork, cmd: PlaceOrder) -> CustomerRecord | None:
    given = cmd.customer
    if given is None:
        return None
    email = (given.email or "").strip().lower() or None
    if given.id is None and email is None:
        return None
    return uow.customers.for_order(customer_id=given.id, email=email if given.id is None else None)


def _walled(
    uow: UnitOfWork, found: CustomerRecord | None, cmd: PlaceOrder, caller: Principal
) -> CustomerRecord | None:
    """What a tenant's key may use of a customer it named. Staff keys use everything. A channel
    names by id only the customers who ordered through it (anyone else is unknown, exactly like an
    id that does not exist). By e-mail it may attach an order to an existing customer, but takes
    nothing stored with them: no address, no credit line, and nothing of theirs is echoed."""
    if found is None or caller.role is not Role.CHANNEL or caller.channel is None:
        return found
    if uow.customers.ordered_through(found.known.id, caller.channel):
        return found
    if cmd.customer is not None and cmd.customer.id is not None:
        return None
    stranger = KnownCustomer(found.known.id, found.known.email, found.known.name, default_address=None)
    return CustomerRecord(stranger, credit_limit=Decimal(0))


def _new_customer(uow: UnitOfWork, cmd: PlaceOrder, verified: VerifiedOrder, now: datetime) -> int:
    assert cmd.customer is not None and cmd.customer.email and cmd.customer.name  # verified
    spec = CustomerSpec(
        email=cmd.customer.email.strip().lower(),
        name=cmd.customer.name.strip(),
        phone=(cmd.customer.phone or "").strip(),
    )
    customer_id = uow.customers.add(spec, now)
    if customer_id is None:
        # Someone registered the same email a moment ago: run again and find them.
        raise TransientConflict("customer created concurrently")
    uow.customers.add_address(customer_id, verified.address, default=True)
    return customer_id


def _credit(uow: UnitOfWork, cmd: PlaceOrder, customer: CustomerRecord | None) -> CreditPosition | None:
    if cmd.payment is None or cmd.payment.method is not PaymentMethod.INVOICE or customer is None:
        return None
    # Two invoice orders of one customer at once must not both fit under the same credit line.
    uow.customers.lock(customer.known.id)
    return CreditPosition(customer.credit_limit, uow.customers.open_balance(customer.known.id))


def _source_and_reserve(
    uow: UnitOfWork, verified: VerifiedOrder, reference: ReferenceData, policy: BackorderPolicy
) -> SourcingPlan:
    stocked = sorted(
        {ln.product.id for ln in verified.lines if ln.product.fulfilment is FulfilmentMode.MADE_TO_STOCK}
    )
    available = uow.stock.available(stocked) if stocked else {}
    plan = plan_sourcing(
        verified.lines, reference.warehouses, available, allow_backorder=policy is BackorderPolicy.ALLOW
    )
    # Rows are taken in key order, so two orders touching the same SKUs can never deadlock.
    for alloc in sorted(plan.allocations, key=lambda a: (a.product_id, a.warehouse_id)):
        if alloc.reserves_stock and not uow.stock.reserve(
            alloc.product_id, alloc.warehouse_id, alloc.quantity
        ):
            raise TransientConflict("stock moved between reading and reserving")
    return plan


def _promise(
    uow: UnitOfWork,
    cmd: PlaceOrder,
    verified: VerifiedOrder,
    plan: SourcingPlan,
    reference: ReferenceData,
    now: datetime,
    terms: LearningTerms,
) -> Promise:
    calendar = reference.calendar
    configured = reference.services[cmd.shipping_service].transit_days
    destination = region(verified.address.country, verified.address.postal_code, terms.postal_prefix)

    def transit(warehouse_id: int) -> TransitChoice:
        lane = Lane(cmd.shipping_service, warehouse_id, destination)
        return choose_transit(lane, configured, reference.lanes, terms.quantile)

    by_line = {ln.line_no: ln for ln in verified.lines}
    warehouses = {w.id: w for w in reference.warehouses}
    ship_dates: dict[int, date] = {}
    for warehouse_id in plan.warehouse_ids:
        production = max(
            (
                by_line[a.line_no].product.production_days
                for a in plan.allocations
                if a.warehouse_id == warehouse_id and not a.reserves_stock
            ),
            default=0,
        )
        earliest = earliest_ship_date(now, warehouses[warehouse_id], calendar, production_days=production)
        ship_dates[warehouse_id] = _book_capacity(uow, warehouses[warehouse_id], earliest, calendar)
    arrivals = [
        (delivery_date(day, (choice := transit(w)).days, calendar), choice) for w, day in ship_dates.items()
    ]
    # A backorder ships from wherever stock arrives: the busiest lane's transit is not known, so
    # the service's slowest learned lane to this region, or its configured days, is counted.
    fallback = TransitChoice(configured, CONFIGURED)
    if plan.backorders:
        lanes = (transit(w.id) for w in reference.warehouses)
        restock_transit = max(lanes, key=lambda c: c.days, default=fallback)
    for line_no, units in plan.backorders.items():
        product = by_line[line_no].product
        # The earliest open purchase order with units not yet owed to earlier backorders; without
        # one, the catalog's lead time. The day after it arrives the units can ship.
        supply, owed = uow.replenishment.incoming(product.id)
        arrives = restock_from_purchase_orders(supply, owed, units)
        if arrives is not None:
            restock = calendar.add_working_days(max(arrives, now.date()), 1)
        else:
            restock = backorder_ship_date(now, product.lead_time_days, calendar)
        arrivals.append((delivery_date(restock, restock_transit.days, calendar), restock_transit))
    latest = max(arrivals, key=lambda a: a[0])[1] if arrivals else fallback
    promised = final_promise((day for day, _ in arrivals), cmd.requested_delivery_date)
    return Promise(ship_dates, promised, latest)


def _book_capacity(uow: UnitOfWork, warehouse: Warehouse, earliest: date, calendar: WorkCalendar) -> date:
    """Takes one slot of the warehouse's daily shipping capacity, on the first day that has one."""
    if warehouse.daily_capacity is None:
        return earliest
    day = earliest
    for _ in range(MAX_CAPACITY_LOOKAHEAD_DAYS):
        if uow.stock.book_capacity(warehouse.id, day, warehouse.daily_capacity):
            return day
        day = calendar.next_working_day(day)
    raise Conflict(
        "no_shipping_capacity",
        f"warehouse {warehouse.code} has no shipping capacity in the next {MAX_CAPACITY_LOOKAHEAD_DAYS} days",
    )


def _record(
    uow: UnitOfWork,
    cmd: PlaceOrder,
    verified: VerifiedOrder,
    plan: SourcingPlan,
    promise: Promise,
    holds: Sequence[Hold],
    customer_id: int,
    now: datetime,
    actor: str,
    reference_codes: dict[int, str],
    terms: OnTimeTerms,
) -> OrderView:
    status = OrderStatus.ON_HOLD if holds else OrderStatus.APPROVED
    payment = cmd.payment
    new = NewOrder(
        channel=cmd.channel.value,
        external_ref=cmd.external_ref.strip(),
        customer_id=customer_id,
        status=status.value,
        currency=cmd.currency,
        total=verified.total.amount,
        address=verified.address,
        shipping_service=cmd.shipping_service,
        backorder_policy=cmd.backorder_policy.value,
        requested_delivery_date=cmd.requested_delivery_date,
        promised_ship_date=promise.first_ship_date,
        promised_date=promise.promised_date,
        transit_days=promise.transit.days,
        transit_basis=promise.transit.basis,
        payment_method=payment.method.value if payment else None,
        payment_status=payment.status.value if payment else None,
        payment_authorized=payment.authorized_amount if payment else None,
        payment_reference=payment.reference if payment else None,
        note=cmd.note,
        placed_at=now,
        approved_at=None if holds else now,
        on_time_basis=terms.basis,
        grace_minutes=terms.grace_minutes,
    )
    order_id = uow.orders.add(new)
    if order_id is None:
        raise Conflict(
            "duplicate_order",
            f"channel {cmd.channel.value} already has an order {cmd.external_ref}; fetch it instead",
            field="external_ref",
        )
    line_ids = uow.orders.add_lines(
        order_id,
        [
            NewLine(
                ln.line_no,
                ln.product.id,
                ln.product.sku,
                ln.quantity,
                ln.unit_price.amount,
                plan.backorders.get(ln.line_no, 0),
            )
            for ln in verified.lines
        ],
    )
    id_of_line = {ln.line_no: line_id for ln, line_id in zip(verified.lines, line_ids, strict=True)}
    _record_allocations(uow, order_id, plan.allocations, id_of_line, promise, now, actor)
    hold_ids = uow.orders.add_holds(order_id, [NewHold(h.reason.value, h.note, now, actor) for h in holds])
    add_events(uow, order_id, _placement_events(cmd, verified, plan, promise, holds, hold_ids, now, actor))
    # Built from what was just written rather than read back: a capture stays within its statement budget.
    holds_written = tuple(
        HoldView(hold_id, h.reason.value, h.note, now, actor, None, None, None)
        for h, hold_id in zip(holds, hold_ids, strict=True)
    )
    lines = _line_views(verified, plan, promise, reference_codes)
    return order_view({**new.columns(), "id": order_id}, lines, holds_written)


def _line_views(
    verified: VerifiedOrder, plan: SourcingPlan, promise: Promise, codes: dict[int, str]
) -> tuple[LineView, ...]:
    return tuple(
        LineView(
            line_no=ln.line_no,
            sku=ln.product.sku,
            quantity=ln.quantity,
            unit_price=ln.unit_price.amount,
            backordered_qty=plan.backorders.get(ln.line_no, 0),
            cancelled_qty=0,
            allocations=tuple(
                AllocationView(
                    codes[a.warehouse_id],
                    a.quantity,
                    a.reserves_stock,
                    "reserved",
                    promise.ship_dates[a.warehouse_id],
                )
                for a in plan.allocations
                if a.line_no == ln.line_no
            ),
        )
        for ln in verified.lines
    )


def _record_allocations(
    uow: UnitOfWork,
    order_id: int,
    allocations: Sequence[Allocation],
    id_of_line: dict[int, int],
    promise: Promise,
    now: datetime,
    actor: str,
) -> None:
    uow.orders.add_allocations(
        order_id,
        [
            NewAllocation(
                id_of_line[a.line_no],
                a.product_id,
                a.warehouse_id,
                a.quantity,
                a.reserves_stock,
                promise.ship_dates[a.warehouse_id],
            )
            for a in allocations
        ],
    )
    uow.stock.record(
        [
            Movement(
                a.product_id,
                a.warehouse_id,
                "reservation",
                0,
                a.quantity,
                "reserved for order",
                actor,
                now,
                order_id,
            )
            for a in allocations
            if a.reserves_stock
        ]
    )


def _placement_events(
    cmd: PlaceOrder,
    verified: VerifiedOrder,
    plan: SourcingPlan,
    promise: Promise,
    holds: Sequence[Hold],
    hold_ids: Sequence[int],
    now: datetime,
    actor: str,
) -> list[NewEvent]:
    total = {"amount": str(verified.total.amount), "currency": verified.total.currency}
    events = [
        NewEvent(
            EventType.PLACED.value,
            now,
            actor,
            {
                "channel": cmd.channel.value,
                "external_ref": cmd.external_ref,
                "total": total,
                "lines": len(verified.lines),
            },
        ),
        NewEvent(EventType.VERIFIED.value, now, actor, {}),
        NewEvent(
            EventType.RESERVED.value,
            now,
            actor,
            {
                "allocations": [
                    {
                        "line_no": a.line_no,
                        "warehouse_id": a.warehouse_id,
                        "quantity": a.quantity,
                        "from_stock": a.reserves_stock,
                    }
                    for a in plan.allocations
                ]
            },
        ),
    ]
    if plan.backorders:
        events.append(
            NewEvent(
                EventType.BACKORDERED.value,
                now,
                actor,
                {"lines": {str(k): v for k, v in plan.backorders.items()}},
            )
        )
    events.append(
        NewEvent(
            EventType.PROMISED.value,
            now,
            actor,
            {
                "promised_date": promise.promised_date.isoformat(),
                "ship_date": promise.first_ship_date.isoformat(),
            },
        )
    )
    for hold, hold_id in zip(holds, hold_ids, strict=True):
        events.append(
            NewEvent(
                EventType.HELD.value,
                now,
                actor,
                {"hold_id": hold_id, "reason": hold.reason.value, "note": hold.note},
            )
        )
    if not holds:
        events.append(NewEvent(EventType.APPROVED.value, now, actor, {"automatic": True}))
    return events
