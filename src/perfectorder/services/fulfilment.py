"""Stages 4 to 6: pick lists and scans, packing with its check, shipping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.fulfilment import Criterion, Stage, packing_differences
from perfectorder.domain.order import Allocation, DomainEvent, Order
from perfectorder.domain.orders import EventType, OrderStatus
from perfectorder.domain.promise import backorder_ship_date, delivery_date, earliest_ship_date
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.delays import mark_at_risk
from perfectorder.services.fulfilment_ports import (
    AllocationRecord,
    IssueRecord,
    NewTask,
    TaskRecord,
)
from perfectorder.services.lifecycle import event, load_order, save_order
from perfectorder.services.ports import Movement, TransientConflict, UnitOfWork


@dataclass(frozen=True, slots=True)
class PackageSpec:
    items: tuple[tuple[str, int], ...]
    weight_kg: Decimal
    dims_cm: tuple[int, int, int]
    warehouse: str | None = None


@dataclass(frozen=True, slots=True)
class ScanResult:
    task: TaskRecord
    outcome: str  # ok | wrong_item | over_pick


def release_to_picking(ctx: ServiceContext, order_id: int, *, caller: Principal = SYSTEM) -> list[int]:
    """Puts the order's reserved units on pick lists, one per warehouse, tasks in bin order."""

    def work(uow: UnitOfWork) -> list[int]:
        order = load_order(uow, order_id, caller)
        now = ctx.clock.now()
        reserved = order.release_to_picking(at=now)
        uow.orders.save(order, at=now, by=caller.actor)
        lists = _pick_lists(
            uow, _records(order, reserved), kind="single", now=now, actor=caller.actor, mark=False
        )
        event(uow, order_id, EventType.RELEASED_TO_PICKING.value, now, caller.actor, pick_lists=lists)
        return lists

    return run_transaction(ctx, work)


def create_wave(
    ctx: ServiceContext, *, warehouse: str, ship_by: date, limit: int = 200, caller: Principal = SYSTEM
) -> list[int]:
    """Batches approved orders of one warehouse due to ship by `ship_by` (the carrier cut-off day)
    into one pick list; their units in other warehouses get their own lists there."""

    def work(uow: UnitOfWork) -> list[int]:
        wh = _warehouse(uow, warehouse)
        now = ctx.clock.now()
        wave: list[AllocationRecord] = []
        elsewhere: list[AllocationRecord] = []
        # Id order: two waves over the same orders lock them in the same order, never in a cycle.
        for order_id in sorted(uow.fulfilment.wave_candidates(wh, ship_by, limit)):
            order = load_order(uow, order_id, caller)
            # A partly shipped order whose backorder a receipt has filled goes round again too.
            waiting = order.status in (OrderStatus.APPROVED, OrderStatus.PARTIALLY_SHIPPED)
            if not waiting or not order.allocations_in("reserved"):
                continue  # moved on between the candidates' read and the lock
            reserved = _records(order, order.release_to_picking(at=now))
            uow.orders.save(order, at=now, by=caller.actor)
            wave += [a for a in reserved if a.warehouse_id == wh]
            elsewhere += [a for a in reserved if a.warehouse_id != wh]
        if not wave:
            raise Conflict("nothing_to_pick", f"no approved orders in {warehouse} are due by {ship_by}")
        lists = _pick_lists(uow, wave, kind="wave", now=now, actor=caller.actor, mark=False)
        if elsewhere:
            lists += _pick_lists(uow, elsewhere, kind="single", now=now, actor=caller.actor, mark=False)
        for order_id in sorted({a.order_id for a in wave}):
            event(uow, order_id, EventType.RELEASED_TO_PICKING.value, now, caller.actor, pick_lists=lists[:1])
        return lists

    return run_transaction(ctx, work)


def _records(order: Order, allocations: Sequence[Allocation]) -> list[AllocationRecord]:
    sku = {x.id: x.sku for x in order.lines}
    return [
        AllocationRecord(
            a.id,
            order.id,
            a.line_id,
            a.product_id,
            a.warehouse_id,
            sku[a.line_id],
            a.quantity,
            a.reserves_stock,
            a.status,
            a.planned_ship_date,
        )
        for a in allocations
    ]


def _warehouse(uow: UnitOfWork, code: str) -> int:
    for w in uow.warehouses.reference().warehouses:
        if w.code == code:
            return w.id
    raise NotFound("warehouse_not_found", f"no active warehouse has code '{code}'", field="warehouse")


def _pick_lists(
    uow: UnitOfWork,
    allocations: Sequence[AllocationRecord],
    *,
    kind: str,
    now: datetime,
    actor: str,
    mark: bool = True,
) -> list[int]:
    """Pick lists for these allocations; `mark` moves them to 'picking' (not needed when the Order
    aggregate already did, in the save before)."""
    by_warehouse: dict[int, list[AllocationRecord]] = defaultdict(list)
    for a in allocations:
        by_warehouse[a.warehouse_id].append(a)
    lists = []
    for warehouse_id, group in sorted(by_warehouse.items()):
        bins = uow.fulfilment.bins(warehouse_id, sorted({a.product_id for a in group}))
        tasks = sorted(
            (
                NewTask(a.order_id, a.id, a.product_id, a.sku, bins.get(a.product_id, ""), a.quantity)
                for a in group
            ),
            key=lambda task: (task.bin_location, task.sku, task.order_id),
        )
        pick_list_id = uow.fulfilment.add_pick_list(warehouse_id, kind, now, actor)
        uow.fulfilment.add_tasks(pick_list_id, tasks)
        if mark:
            uow.fulfilment.set_allocation_status([a.id for a in group], "picking")
        lists.append(pick_list_id)
    return lists


def scan(
    ctx: ServiceContext, task_id: int, *, code: str, quantity: int = 1, caller: Principal = SYSTEM
) -> ScanResult:
    """Confirms a pick by scanning. A wrong item or an over-pick is refused AND recorded."""

    def work(uow: UnitOfWork) -> ScanResult:
        task = _open_task(uow, task_id)
        now = ctx.clock.now()
        if code.strip() != task.sku:
            return _refuse_scan(
                uow, task, code, quantity, "wrong_item", f"scanned {code} for {task.sku}", now, caller.actor
            )
        if quantity < 1 or task.picked_qty + quantity > task.quantity:
            return _refuse_scan(
                uow,
                task,
                code,
                quantity,
                "over_pick",
                f"{task.picked_qty + quantity} x {task.sku} for a task of {task.quantity}",
                now,
                caller.actor,
            )
        uow.fulfilment.add_scan(task, code, quantity, "ok", now, caller.actor)
        picked = task.picked_qty + quantity
        if picked < task.quantity:
            uow.fulfilment.update_task(task.id, picked_qty=picked, status="open")
        else:
            _complete_task(uow, task, picked, "done", now, caller.actor)
        return ScanResult(task, "ok")

    result = run_transaction(ctx, work)
    if result.outcome != "ok":
        # Refused after committing: the error is on the record, as the brief asks.
        raise Conflict(
            result.outcome,
            f"scan refused ({result.outcome.replace('_', ' ')}); it has been recorded",
            details={"task_id": task_id, "expected_sku": result.task.sku},
        )
    return result


def _open_task(uow: UnitOfWork, task_id: int) -> TaskRecord:
    task = uow.fulfilment.task(task_id)
    if task is not None:
        # The order first, then the task read again: a cancel may have closed it meanwhile.
        uow.orders.state(task.order_id, lock=True)
        task = uow.fulfilment.task(task_id)
    if task is None:
        raise NotFound("task_not_found", f"no pick task has id {task_id}", field="task_id")
    if task.status != "open":
        raise Conflict("task_closed", f"pick task {task_id} is already {task.status}")
    return task


def _refuse_scan(
    uow: UnitOfWork,
    task: TaskRecord,
    code: str,
    quantity: int,
    outcome: str,
    detail: str,
    now: datetime,
    actor: str,
) -> ScanResult:
    uow.fulfilment.add_scan(task, code, quantity, outcome, now, actor)
    uow.fulfilment.add_issue(
        task.order_id, IssueRecord(Criterion.ACCURATE, Stage.PICKING, "picking_error", detail, now)
    )
    event(
        uow,
        task.order_id,
        EventType.PICKING_ERROR.value,
        now,
        actor,
        task_id=task.id,
        outcome=outcome,
        detail=detail,
    )
    return ScanResult(task, outcome)


def _complete_task(
    uow: UnitOfWork, task: TaskRecord, picked: int, status: str, now: datetime, actor: str
) -> None:
    # Loaded here, not at the start: a short pick may have re-sourced into new allocations since.
    order = load_order(uow, task.order_id, SYSTEM)
    reserves_stock = next(a.reserves_stock for a in order.allocations if a.id == task.allocation_id)
    if picked and reserves_stock:
        if not uow.stock.take_reserved(task.product_id, task.warehouse_id, picked):
            raise TransientConflict("stock row moved under a pick")
        uow.stock.record(
            [
                Movement(
                    task.product_id,
                    task.warehouse_id,
                    "pick",
                    -picked,
                    -picked,
                    f"pick task {task.id}",
                    actor,
                    now,
                    task.order_id,
                )
            ]
        )
    uow.fulfilment.update_task(task.id, picked_qty=picked, status=status)
    uow.fulfilment.close_pick_list_if_done(task.pick_list_id, now)
    events = order.complete_pick(task.allocation_id, picked, at=now)
    save_order(uow, order, events, at=now, actor=actor, why="picked")


def short_pick(ctx: ServiceContext, task_id: int, *, found: int, caller: Principal = SYSTEM) -> TaskRecord:
    """Fewer units at the bin than the system thought: books the gap, then re-sources it from another
    warehouse, or backorders it, and flags the order."""

    def work(uow: UnitOfWork) -> TaskRecord:
        task = _open_task(uow, task_id)
        if not task.picked_qty <= found < task.quantity:
            raise InvalidInput(
                "invalid_quantity",
                f"found is between {task.picked_qty} and {task.quantity - 1}",
                field="found",
            )
        now, actor = ctx.clock.now(), caller.actor
        missing = task.quantity - found
        uow.fulfilment.add_scan(task, task.sku, missing, "short", now, actor)
        order = load_order(uow, task.order_id, SYSTEM)
        # A made-to-order unit reserved nothing on the shelf, so there is nothing to write off.
        if next(a.reserves_stock for a in order.allocations if a.id == task.allocation_id):
            _write_off(uow, task, missing, now, actor)
        uow.fulfilment.add_issue(
            task.order_id,
            IssueRecord(
                Criterion.COMPLETE,
                Stage.PICKING,
                "short_pick",
                f"{missing} x {task.sku} missing at pick",
                now,
            ),
        )
        resourced, backordered = _resource(uow, task, missing, now, actor)
        event(
            uow,
            task.order_id,
            EventType.SHORT_PICKED.value,
            now,
            actor,
            task_id=task.id,
            sku=task.sku,
            missing=missing,
            resourced=resourced,
            backordered=backordered,
        )
        _complete_task(uow, task, found, "short", now, actor)
        return task

    return run_transaction(ctx, work)


def _write_off(uow: UnitOfWork, task: TaskRecord, missing: int, now: datetime, actor: str) -> None:
    if not uow.stock.take_reserved(task.product_id, task.warehouse_id, missing):
        raise TransientConflict("stock row moved under a short pick")
    uow.stock.record(
        [
            Movement(
                task.product_id,
                task.warehouse_id,
                "adjustment",
                -missing,
                -missing,
                f"short pick: {missing} not at bin {task.bin_location or '?'}",
                actor,
                now,
                task.order_id,
            )
        ]
    )


def _resource(
    uow: UnitOfWork, task: TaskRecord, missing: int, now: datetime, actor: str
) -> tuple[list[dict[str, object]], int]:
    reference = uow.warehouses.reference()
    available = uow.stock.available([task.product_id])
    line_id = next(
        a.order_line_id for a in uow.fulfilment.allocations(task.order_id) if a.id == task.allocation_id
    )
    resourced: list[dict[str, object]] = []
    for warehouse in sorted(reference.warehouses, key=lambda w: (w.priority, w.id)):
        if missing == 0 or warehouse.id == task.warehouse_id:
            continue
        take = min(missing, available.get((task.product_id, warehouse.id), 0))
        if take <= 0:
            continue
        if not uow.stock.reserve(task.product_id, warehouse.id, take):
            # Taken by someone else since it was read: run again rather than backorder needlessly.
            raise TransientConflict("stock moved while re-sourcing a short pick")
        allocation_id = uow.fulfilment.add_allocation(
            order_id=task.order_id,
            order_line_id=line_id,
            product_id=task.product_id,
            warehouse_id=warehouse.id,
            quantity=take,
            planned_ship_date=earliest_ship_date(now, warehouse, reference.calendar),
        )
        uow.stock.record(
            [
                Movement(
                    task.product_id,
                    warehouse.id,
                    "reservation",
                    0,
                    take,
                    f"re-sourced after short pick in task {task.id}",
                    actor,
                    now,
                    task.order_id,
                )
            ]
        )
        new = [a for a in uow.fulfilment.allocations(task.order_id) if a.id == allocation_id]
        _pick_lists(uow, new, kind="single", now=now, actor=actor)
        resourced.append({"warehouse": warehouse.code, "quantity": take})
        missing -= take
    if missing:
        line = next(x for x in uow.fulfilment.lines(task.order_id) if x.id == line_id)
        uow.fulfilment.update_line(line_id, {"backordered_qty": line.backordered_qty + missing})
        restock = backorder_ship_date(now, _lead_time(uow, task.sku), reference.calendar)
        mark_at_risk(
            uow,
            task.order_id,
            reason=f"{missing} x {task.sku} missing at pick, backordered",
            new_date=delivery_date(restock, 2, reference.calendar),
            now=now,
            actor=actor,
        )
    return resourced, missing


def _lead_time(uow: UnitOfWork, sku: str) -> int:
    product = uow.products.get(sku)
    return product.lead_time_days if product is not None else 14


def pack(
    ctx: ServiceContext, order_id: int, packages: Sequence[PackageSpec], *, caller: Principal = SYSTEM
) -> list[int]:
    """Packs what was picked. The packing check compares packed items with the picked ones; a
    difference goes on the record as an accuracy error of the packing stage."""
    if not packages or any(not p.items for p in packages):
        raise InvalidInput("empty_package", "every package needs at least one item", field="packages")

    def work(uow: UnitOfWork) -> list[int]:
        order = load_order(uow, order_id, caller)
        now, actor = ctx.clock.now(), caller.actor
        picked_in = {a.warehouse_id for a in order.allocations_in("picked")}
        # First the order's own rule (is it picked?), so packing too early says so.
        expected = order.pack(at=now)
        warehouses = {w.code: w.id for w in uow.warehouses.reference().warehouses}
        default = next(iter(picked_in)) if len(picked_in) == 1 else None
        ids = []
        for spec in packages:
            warehouse_id = warehouses.get(spec.warehouse or "") or default
            if warehouse_id is None:
                raise InvalidInput(
                    "warehouse_required", "say which warehouse packs this package", field="packages.warehouse"
                )
            ids.append(
                uow.fulfilment.add_package(
                    order_id=order_id,
                    warehouse_id=warehouse_id,
                    weight_kg=spec.weight_kg,
                    dims=spec.dims_cm,
                    items=spec.items,
                    at=now,
                    by=actor,
                )
            )
        events = []
        differences = packing_differences(expected, [item for p in packages for item in p.items])
        if differences:
            detail = "; ".join(f"{d.sku}: picked {d.expected}, packed {d.packed}" for d in differences)
            uow.fulfilment.add_issue(
                order_id, IssueRecord(Criterion.ACCURATE, Stage.PACKING, "packing_mismatch", detail, now)
            )
            events.append(DomainEvent(EventType.PACKING_MISMATCH, {"differences": detail}))
        events.append(DomainEvent(EventType.PACKED, {"packages": ids}))
        save_order(uow, order, events, at=now, actor=actor, why="packed")
        return ids

    return run_transaction(ctx, work)


def ship(
    ctx: ServiceContext,
    order_id: int,
    package_id: int,
    *,
    carrier: str,
    service: str,
    tracking_number: str,
    caller: Principal = SYSTEM,
) -> int:
    """Hands one package to the carrier. The order is shipped when nothing is left to ship."""
    if not tracking_number.strip() or not carrier.strip():
        raise InvalidInput(
            "tracking_required", "give the carrier and its tracking number", field="tracking_number"
        )

    def work(uow: UnitOfWork) -> int:
        order = load_order(uow, order_id, caller)
        packages = uow.fulfilment.packages(order_id)
        package = next((p for p in packages if p.id == package_id), None)
        if package is None:
            raise NotFound(
                "package_not_found", f"order {order_id} has no package {package_id}", field="package_id"
            )
        if package.status != "packed":
            raise Conflict("not_ready_to_ship", f"package {package_id} is {package.status}")
        now, actor = ctx.clock.now(), caller.actor
        first = not uow.fulfilment.shipments(order_id)
        still_packed = [p for p in packages if p.status == "packed" and p.id != package_id]
        everything = order.ship_package(package.items, last_packed=not still_packed, first=first, at=now)
        shipment_id = uow.fulfilment.add_shipment(
            package,
            carrier=carrier.strip(),
            service=service.strip(),
            tracking_number=tracking_number.strip(),
            at=now,
        )
        if shipment_id is None:
            raise Conflict(
                "duplicate_tracking",
                f"tracking number {tracking_number} is already in use",
                field="tracking_number",
            )
        shipped = {
            "shipment_id": shipment_id,
            "package_id": package_id,
            "carrier": carrier,
            "service": service,
            "tracking_number": tracking_number,
        }
        events = [DomainEvent(EventType.SHIPPED if everything else EventType.PARTIALLY_SHIPPED, shipped)]
        # The parcel's value is invoiced, or captured from the authorized payment, as it leaves.
        price = {x.sku: x.unit_price for x in order.lines}
        value = sum((price.get(sku, Decimal(0)) * quantity for sku, quantity in package.items), Decimal(0))
        events += order.bill_shipment(value, capture=ctx.capture_at_shipment)
        save_order(uow, order, events, at=now, actor=actor, why="shipped")
        return shipment_id

    return run_transaction(ctx, work)
