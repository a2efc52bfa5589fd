"""An in-memory unit of work: the use cases run against it in unit tests, without a database.

It keeps the promises the real one keeps where the use cases rely on them: nothing is visible
until commit (a refused use case leaves the store as it was), an order is saved only over the
version it was loaded at, allocations change only from what they were, stock moves are guarded,
a status moves only from the status it was read in, and what must be unique (an order's channel
reference, a customer's email, a tracking number, a carrier's event id) is refused a second time.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.domain.catalog import Product, ShippingService, Warehouse
from perfectorder.domain.order import Allocation, Line, OpenHold, Order
from perfectorder.domain.orders import OrderStatus
from perfectorder.domain.promise import WorkCalendar
from perfectorder.domain.values import Address, FulfilmentMode, Money
from perfectorder.domain.verification import KnownCustomer
from perfectorder.services.context import ServiceContext
from perfectorder.services.fulfilment_ports import (
    AllocationRecord,
    BackorderedLine,
    ClaimRecord,
    FeedbackRecord,
    LineRecord,
    NewTask,
    PackageRecord,
    ReturnLineRecord,
    ReturnRecord,
    ShipmentRecord,
    TaskRecord,
)
from perfectorder.services.ports import (
    CustomerRecord,
    CustomerSpec,
    Movement,
    NewAllocation,
    NewEvent,
    NewHold,
    NewLine,
    NewOrder,
    OrderState,
    ReferenceData,
    TransientConflict,
)
from perfectorder.services.views import (
    ADDRESS_FIELDS,
    AllocationView,
    CustomerView,
    HoldView,
    LineView,
    OrderView,
    PaymentRecord,
    ProductView,
    StockView,
    order_view,
)

WAREHOUSE_CODES = {1: "BER", 2: "MAD"}
HOME = Address("Ines Moreau", "Rue Oberkampf 12", "Paris", "75011", "FR", timezone="Europe/Paris")
# Line columns as the repositories name them, and as the aggregate does.
LINE_COLUMNS = {"backordered_qty": "backordered", "cancelled_qty": "cancelled", "shipped_qty": "shipped"}


def default_warehouses() -> list[Warehouse]:
    """Berlin ships first and books a daily shipping capacity; Madrid has no limit."""
    return [
        Warehouse(1, "BER", "Europe/Berlin", 1, time(14, 0), 1, 40),
        Warehouse(2, "MAD", "Europe/Madrid", 1, time(14, 0), 2, None),
    ]


@dataclass
class Store:
    """Everything the fake database holds."""

    orders: dict[int, Order] = field(default_factory=dict)
    # The order's columns the aggregate does not carry (external_ref, shipping service, at-risk ...).
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[int, int], list[int]] = field(
        default_factory=dict
    )  # (product, warehouse) -> [on hand, reserved]
    ledger: list[Movement] = field(default_factory=list)
    events: list[tuple[int, NewEvent]] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    tasks: dict[int, TaskRecord] = field(default_factory=dict)
    pick_lists: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> warehouse_id, kind, status
    booked: dict[tuple[int, date], int] = field(default_factory=dict)
    payments: list[tuple[int, PaymentRecord]] = field(default_factory=list)
    credit_limits: dict[int, Decimal] = field(default_factory=dict)
    customers: dict[int, KnownCustomer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    warehouses: list[Warehouse] = field(default_factory=default_warehouses)
    scans: list[tuple[int, str, int, str]] = field(default_factory=list)
    issues: list[tuple[int, Any]] = field(default_factory=list)
    packages: dict[int, PackageRecord] = field(default_factory=dict)
    shipments: dict[int, ShipmentRecord] = field(default_factory=dict)
    carrier_events: set[tuple[str, str]] = field(default_factory=set)
    claims: list[tuple[int, ClaimRecord]] = field(default_factory=list)
    lost_demand: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    incoming: dict[int, list[tuple[date, int]]] = field(default_factory=dict)  # product -> PO supply
    feedback: dict[int, FeedbackRecord] = field(default_factory=dict)
    returns: dict[int, ReturnRecord] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1000))

    def event_types(self, order_id: int) -> list[str]:
        return [e.type for oid, e in self.events if oid == order_id]

    def events_of(self, order_id: int, type_: str) -> list[NewEvent]:
        return [e for oid, e in self.events if oid == order_id and e.type == type_]

    def product(self, product_id: int) -> Product | None:
        return next((p for p in self.products.values() if p.id == product_id), None)


class FakeOrders:
    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, order_id: int) -> Order | None:
        found = self._store.orders.get(order_id)
        return copy.deepcopy(found) if found is not None else None

    def state(self, order_id: int, *, lock: bool = False) -> OrderState | None:
        o = self._store.orders.get(order_id)
        if o is None:
            return None
        header = self._store.headers.get(order_id, {})
        return OrderState(
            o.id,
            o.status.value,
            o.channel,
            o.customer_id,
            o.promised_date,
            o.rescheduled_date,
            header.get("told_date"),
            header.get("told_at"),
        )

    def save(self, order: Order, *, at: datetime, by: str) -> list[int]:
        if not order.changed:
            return []
        stored = self._store.orders[order.id]
        if stored.version != order.version:
            raise TransientConflict(f"order {order.id} changed concurrently")
        was = {a.id: (a.status, a.quantity) for a in stored.allocations}
        for change in order.allocation_changes:
            if was.get(change.allocation_id) != (change.was_status, change.was_quantity):
                raise TransientConflict(f"allocation {change.allocation_id} changed concurrently")
        open_holds = {h.id for h in stored.holds}
        if any(hold_id not in open_holds for hold_id, _ in order.released_holds):
            raise TransientConflict("hold released concurrently")
        hold_ids = [next(self._store.ids) for _ in order.new_holds]
        order.holds.extend(
            OpenHold(i, x.reason, x.note) for i, x in zip(hold_ids, order.new_holds, strict=True)
        )
        order.allocations.extend(
            Allocation(
                next(self._store.ids),
                x.line_id,
                x.product_id,
                x.warehouse_id,
                x.quantity,
                True,
                "reserved",
                x.planned_ship_date,
                False,  # a backorder allocation books no shipping slot
            )
            for x in order.new_allocations
        )
        self._store.payments += [
            (
                order.id,
                PaymentRecord(
                    next(self._store.ids),
                    order.id,
                    order.customer_id,
                    x.kind,
                    x.amount,
                    order.currency,
                    order.payment_method,
                    x.reference,
                    x.return_id,
                    at,
                    by,
                ),
            )
            for x in order.new_payments
        ]
        self._store.headers.setdefault(order.id, {}).update(order.header_changes)
        order.version += 1
        for pending in (
            order.header_changes,
            order.line_changes,
            order.allocation_changes,
            order.new_holds,
            order.released_holds,
            order.new_allocations,
            order.new_payments,
        ):
            pending.clear()
        self._store.orders[order.id] = copy.deepcopy(order)
        return hold_ids

    def add(self, new: NewOrder) -> int | None:
        if any(
            (h.get("channel"), h.get("external_ref")) == (new.channel, new.external_ref)
            for h in self._store.headers.values()
        ):
            return None
        order_id = next(self._store.ids)
        self._store.orders[order_id] = Order(
            id=order_id,
            status=OrderStatus(new.status),
            channel=new.channel,
            customer_id=new.customer_id,
            promised_date=new.promised_date,
            rescheduled_date=None,
            version=0,
            lines=[],
            allocations=[],
            holds=[],
            currency=new.currency,
            payment_method=new.payment_method,
            payment_status=new.payment_status,
        )
        self._store.headers[order_id] = {**new.columns(), "at_risk_since": None}
        return order_id

    def add_lines(self, order_id: int, lines: Sequence[NewLine]) -> list[int]:
        added = [
            Line(
                next(self._store.ids),
                x.line_no,
                x.product_id,
                x.sku,
                x.quantity,
                x.backordered_qty,
                0,
                0,
                x.unit_price,
            )
            for x in lines
        ]
        self._store.orders[order_id].lines += added
        return [x.id for x in added]

    def add_allocations(self, order_id: int, allocations: Sequence[NewAllocation]) -> None:
        self._store.orders[order_id].allocations += [
            Allocation(
                next(self._store.ids),
                x.order_line_id,
                x.product_id,
                x.warehouse_id,
                x.quantity,
                x.reserves_stock,
                "reserved",
                x.planned_ship_date,
                x.books_capacity,
            )
            for x in allocations
        ]

    def add_holds(self, order_id: int, holds: Sequence[NewHold]) -> list[int]:
        added = [OpenHold(next(self._store.ids), x.reason, x.note) for x in holds]
        self._store.orders[order_id].holds += added
        return [h.id for h in added]

    def add_events(self, order_id: int, events: Sequence[NewEvent]) -> None:
        self._store.events += [(order_id, e) for e in events]

    def transition(self, order_id: int, *, expected: str, target: str, changes: Mapping[str, Any]) -> bool:
        """Compare-and-set on the status, as the real UPDATE ... WHERE status = expected."""
        stored = self._store.orders.get(order_id)
        if stored is None or stored.status.value != expected:
            return False
        stored.status = OrderStatus(target)
        stored.version += 1
        if "rescheduled_date" in changes:
            stored.rescheduled_date = changes["rescheduled_date"]
        self._store.headers.setdefault(order_id, {}).update(changes)
        return True

    def mark_at_risk(self, order_id: int, *, at: datetime, reason: str) -> bool:
        header = self._store.headers.setdefault(order_id, {})
        if order_id not in self._store.orders or header.get("at_risk_since") is not None:
            return False
        header.update(at_risk_since=at, at_risk_reason=reason)
        return True

    def unshipped_past_ship_date(self, today: date, statuses: Sequence[str]) -> list[tuple[int, str]]:
        found = []
        for order_id, o in sorted(self._store.orders.items()):
            header = self._store.headers.get(order_id, {})
            ship_date = header.get("promised_ship_date")
            expected = o.rescheduled_date or o.promised_date
            late = header.get("at_risk_since") is None or expected <= today
            if ship_date is not None and ship_date < today and o.status.value in statuses and late:
                found.append((order_id, header.get("shipping_service", "standard")))
        return found[:1000]

    def overdue_in_transit(self, today: date, statuses: Sequence[str]) -> list[int]:
        return [
            order_id
            for order_id, o in sorted(self._store.orders.items())
            if o.status.value in statuses and (o.rescheduled_date or o.promised_date) <= today
        ]

    def told(self, order_id: int, *, expected: date, at: datetime) -> None:
        self._store.headers.setdefault(order_id, {}).update(told_date=expected, told_at=at)

    def untold_slips(self, *, told_before: datetime, statuses: Sequence[str]) -> list[int]:
        found = []
        for order_id, o in sorted(self._store.orders.items()):
            header = self._store.headers.get(order_id, {})
            told_at = header.get("told_at")
            told = header.get("told_date") or o.promised_date
            if (
                o.status.value in statuses
                and o.rescheduled_date is not None
                and o.rescheduled_date > told
                and (told_at is None or told_at < told_before)
            ):
                found.append(order_id)
        return found

    def get(self, order_id: int) -> OrderView | None:
        o = self._store.orders.get(order_id)
        return fake_view(o, self._store.headers.get(order_id)) if o is not None else None


class FakeStock:
    def __init__(self, store: Store) -> None:
        self._store = store

    def reserve(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        row = self._store.stock.get((product_id, warehouse_id))
        if row is None or row[0] - row[1] < quantity:
            return False
        row[1] += quantity
        return True

    def release(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        row = self._store.stock.get((product_id, warehouse_id))
        if row is None or row[1] < quantity:
            return False
        row[1] -= quantity
        return True

    def take_reserved(self, product_id: int, warehouse_id: int, quantity: int) -> bool:
        row = self._store.stock.get((product_id, warehouse_id))
        if row is None or row[1] < quantity or row[0] < quantity:
            return False
        row[0] -= quantity
        row[1] -= quantity
        return True

    def receive(self, product_id: int, warehouse_id: int, quantity: int) -> None:
        self._store.stock.setdefault((product_id, warehouse_id), [0, 0])[0] += quantity

    def adjust(self, product_id: int, warehouse_id: int, delta: int) -> bool:
        """On hand moves by `delta` only while it still covers what is reserved."""
        row = self._store.stock.get((product_id, warehouse_id))
        if row is None or row[0] + delta < row[1]:
            return False
        row[0] += delta
        return True

    def level(self, product_id: int, warehouse_id: int) -> StockView | None:
        row = self._store.stock.get((product_id, warehouse_id))
        product = self._store.product(product_id)
        if row is None or product is None:
            return None
        return StockView(product.sku, WAREHOUSE_CODES[warehouse_id], row[0], row[1], bin_of(product_id))

    def available(self, product_ids: Sequence[int]) -> dict[tuple[int, int], int]:
        return {k: v[0] - v[1] for k, v in self._store.stock.items() if k[0] in product_ids}

    def record(self, movements: Sequence[Movement]) -> None:
        self._store.ledger += movements

    def book_capacity(self, warehouse_id: int, day: date, capacity: int) -> bool:
        key = (warehouse_id, day)
        if self._store.booked.get(key, 0) >= capacity:
            return False
        self._store.booked[key] = self._store.booked.get(key, 0) + 1
        return True

    def unbook_capacity(self, warehouse_id: int, day: date, quantity: int) -> None:
        key = (warehouse_id, day)
        self._store.booked[key] = max(self._store.booked.get(key, 0) - quantity, 0)


def bin_of(product_id: int) -> str:
    return f"A-{product_id % 100:02d}"


class FakeFulfilment:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- allocations and lines, written as rows beside the aggregate (no version change) --

    def allocations(self, order_id: int) -> list[AllocationRecord]:
        o = self._store.orders[order_id]
        sku = {x.id: x.sku for x in o.lines}
        return [
            AllocationRecord(
                a.id,
                order_id,
                a.line_id,
                a.product_id,
                a.warehouse_id,
                sku[a.line_id],
                a.quantity,
                a.reserves_stock,
                a.status,
                a.planned_ship_date,
            )
            for a in sorted(o.allocations, key=lambda a: a.id)
        ]

    def set_allocation_status(self, allocation_ids: Sequence[int], status: str) -> None:
        for o in self._store.orders.values():
            for a in o.allocations:
                if a.id in allocation_ids:
                    a.status = status

    def add_allocation(
        self,
        *,
        order_id: int,
        order_line_id: int,
        product_id: int,
        warehouse_id: int,
        quantity: int,
        planned_ship_date: date,
    ) -> int:
        allocation_id = next(self._store.ids)
        self._store.orders[order_id].allocations.append(
            Allocation(
                allocation_id,
                order_line_id,
                product_id,
                warehouse_id,
                quantity,
                True,
                "reserved",
                planned_ship_date,
                False,  # re-sourced: books no shipping slot
            )
        )
        return allocation_id

    def lines(self, order_id: int) -> list[LineRecord]:
        return [
            LineRecord(
                x.id,
                order_id,
                x.line_no,
                x.product_id,
                x.sku,
                x.quantity,
                x.unit_price,
                x.backordered,
                x.cancelled,
                x.shipped,
            )
            for x in sorted(self._store.orders[order_id].lines, key=lambda x: x.line_no)
        ]

    def update_line(self, line_id: int, changes: Mapping[str, Any]) -> None:
        line = next(x for o in self._store.orders.values() for x in o.lines if x.id == line_id)
        for column, value in changes.items():
            setattr(line, LINE_COLUMNS[column], value)

    def backordered_lines(self, product_id: int) -> list[BackorderedLine]:
        waiting = [
            (o.promised_date, o.id, x.id, BackorderedLine(x.id, o.id, o.status.value, x.backordered))
            for o in self._store.orders.values()
            if o.status is not OrderStatus.CANCELLED
            for x in o.lines
            if x.product_id == product_id and x.backordered > 0
        ]
        return [w[-1] for w in sorted(waiting, key=lambda w: w[:3])]

    # -- pick lists ------------------------------------------------------------------------

    def wave_candidates(self, warehouse_id: int, ship_by: date, limit: int) -> list[int]:
        due = [
            o
            for o in self._store.orders.values()
            if o.status.value in ("approved", "partially_shipped")
            and any(
                a.warehouse_id == warehouse_id and a.status == "reserved" and a.planned_ship_date <= ship_by
                for a in o.allocations
            )
        ]
        return [o.id for o in sorted(due, key=lambda o: (o.promised_date, o.id))][:limit]

    def bins(self, warehouse_id: int, product_ids: Sequence[int]) -> dict[int, str]:
        return {p: bin_of(p) for p in product_ids}

    def add_pick_list(self, warehouse_id: int, kind: str, at: datetime, by: str) -> int:
        pick_list_id = next(self._store.ids)
        self._store.pick_lists[pick_list_id] = {"warehouse_id": warehouse_id, "kind": kind, "status": "open"}
        return pick_list_id

    def add_tasks(self, pick_list_id: int, tasks: Sequence[NewTask]) -> None:
        for x in tasks:
            order = self._store.orders[x.order_id]
            alloc = next(a for a in order.allocations if a.id == x.allocation_id)
            task_id = next(self._store.ids)
            self._store.tasks[task_id] = TaskRecord(
                task_id,
                pick_list_id,
                x.order_id,
                x.allocation_id,
                x.product_id,
                alloc.warehouse_id,
                x.sku,
                x.bin_location,
                x.quantity,
                0,
                "open",
            )

    def tasks(self, *, pick_list_id: int | None = None, order_id: int | None = None) -> list[TaskRecord]:
        return [
            x
            for x in self._store.tasks.values()
            if (pick_list_id is None or x.pick_list_id == pick_list_id)
            and (order_id is None or x.order_id == order_id)
        ]

    def update_task(self, task_id: int, *, picked_qty: int, status: str) -> None:
        self._store.tasks[task_id] = replace(self._store.tasks[task_id], picked_qty=picked_qty, status=status)

    def close_pick_list_if_done(self, pick_list_id: int, at: datetime) -> None:
        if all(x.status != "open" for x in self.tasks(pick_list_id=pick_list_id)):
            self._store.pick_lists[pick_list_id]["status"] = "done"

    def task(self, task_id: int) -> TaskRecord | None:
        return self._store.tasks.get(task_id)

    def add_scan(
        self, task: TaskRecord, scanned: str, quantity: int, outcome: str, at: datetime, actor: str
    ) -> None:
        self._store.scans.append((task.id, scanned, quantity, outcome))
        if outcome not in ("ok", "short"):
            self._store.tasks[task.id] = replace(task, refused_scans=task.refused_scans + 1)

    def add_issue(self, order_id: int, issue: Any) -> None:
        self._store.issues.append((order_id, issue))

    # -- packages, shipments, the carrier ----------------------------------------------------

    def add_package(
        self,
        *,
        order_id: int,
        warehouse_id: int,
        weight_kg: Decimal,
        dims: tuple[int, int, int],
        items: Sequence[tuple[str, int]],
        at: datetime,
        by: str,
    ) -> int:
        package_id = next(self._store.ids)
        self._store.packages[package_id] = PackageRecord(
            package_id, order_id, warehouse_id, weight_kg, *dims, "packed", at, tuple(items)
        )
        return package_id

    def packages(self, order_id: int) -> list[PackageRecord]:
        return [p for p in self._store.packages.values() if p.order_id == order_id]

    def shipments(self, order_id: int) -> list[ShipmentRecord]:
        return [x for x in self._store.shipments.values() if x.order_id == order_id]

    def add_shipment(
        self, package: PackageRecord, *, carrier: str, service: str, tracking_number: str, at: datetime
    ) -> int | None:
        if self.shipment_by_tracking(tracking_number) is not None:
            return None
        shipment_id = next(self._store.ids)
        self._store.shipments[shipment_id] = ShipmentRecord(
            shipment_id,
            package.order_id,
            package.id,
            package.warehouse_id,
            carrier,
            service,
            tracking_number,
            "shipped",
            at,
            None,
        )
        self._store.packages[package.id] = replace(package, status="shipped")
        return shipment_id

    def shipment_by_tracking(self, tracking_number: str) -> ShipmentRecord | None:
        return next((x for x in self._store.shipments.values() if x.tracking_number == tracking_number), None)

    def set_shipment_status(self, shipment_id: int, status: str, delivered_at: datetime | None) -> None:
        shipment = self._store.shipments[shipment_id]
        self._store.shipments[shipment_id] = replace(
            shipment, status=status, delivered_at=delivered_at or shipment.delivered_at
        )

    def add_carrier_event(
        self,
        *,
        carrier: str,
        event_id: str,
        shipment_id: int,
        type: str,
        occurred_at: datetime,
        detail: str,
        received_at: datetime,
        estimated_delivery: date | None = None,
    ) -> bool:
        if (carrier, event_id) in self._store.carrier_events:
            return False
        self._store.carrier_events.add((carrier, event_id))
        return True

    def add_claim(self, *, order_id: int, shipment_id: int, kind: str, at: datetime, note: str) -> int:
        claim_id = next(self._store.ids)
        self._store.claims.append((order_id, ClaimRecord(claim_id, shipment_id, kind, "open", at)))
        return claim_id

    # -- after delivery: feedback and returns -------------------------------------------------

    def feedback(self, order_id: int) -> FeedbackRecord | None:
        return self._store.feedback.get(order_id)

    def save_feedback(self, record: FeedbackRecord, *, new: bool) -> None:
        if new:
            assert record.order_id not in self._store.feedback, "one feedback per order"
            self._store.feedback[record.order_id] = record
        else:
            created = self._store.feedback[record.order_id].created_at
            self._store.feedback[record.order_id] = replace(record, created_at=created)

    def add_return(
        self,
        *,
        order_id: int,
        reason: str,
        criterion: str | None,
        stage: str | None,
        note: str,
        at: datetime,
        lines: Sequence[tuple[int, str, int]],
    ) -> int:
        return_id = next(self._store.ids)
        self._store.returns[return_id] = ReturnRecord(
            return_id,
            order_id,
            reason,
            criterion,
            stage,
            "authorized",
            note,
            at,
            None,
            None,
            None,
            tuple(ReturnLineRecord(next(self._store.ids), li, sku, q, 0, 0) for li, sku, q in lines),
        )
        return return_id

    def return_(self, return_id: int) -> ReturnRecord | None:
        return self._store.returns.get(return_id)

    def returns(self, order_id: int) -> list[ReturnRecord]:
        return [r for r in self._store.returns.values() if r.order_id == order_id]

    def returned_qty(self, order_line_id: int) -> int:
        return sum(
            x.quantity
            for r in self._store.returns.values()
            for x in r.lines
            if x.order_line_id == order_line_id
        )

    def receive_return_line(self, line_id: int, *, restocked: int, scrapped: int) -> None:
        for return_id, r in self._store.returns.items():
            if any(x.id == line_id for x in r.lines):
                lines = tuple(
                    replace(x, restocked_qty=restocked, scrapped_qty=scrapped) if x.id == line_id else x
                    for x in r.lines
                )
                self._store.returns[return_id] = replace(r, lines=lines)

    def close_return(
        self, return_id: int, *, at: datetime, refund: Decimal, exchange_order_id: int | None
    ) -> None:
        self._store.returns[return_id] = replace(
            self._store.returns[return_id],
            status="received",
            received_at=at,
            refund_amount=refund,
            exchange_order_id=exchange_order_id,
        )


class FakeProducts:
    def __init__(self, store: Store) -> None:
        self._store = store

    def for_order(self, skus: Sequence[str]) -> dict[str, Product]:
        return {s: self._store.products[s] for s in skus if s in self._store.products}

    def get(self, sku: str) -> ProductView | None:
        p = self._store.products.get(sku)
        if p is None:
            return None
        return ProductView(
            p.id,
            p.sku,
            p.name,
            "",
            p.price.amount,
            p.price.currency,
            Decimal("0.5"),
            None,
            p.active,
            p.fulfilment.value,
            p.production_days,
            p.lead_time_days,
        )


class FakeCustomers:
    def __init__(self, store: Store) -> None:
        self._store = store

    def for_order(self, *, customer_id: int | None, email: str | None) -> CustomerRecord | None:
        if customer_id is not None:
            known = self._store.customers.get(customer_id)
        elif email is not None:
            known = next((c for c in self._store.customers.values() if c.email == email), None)
        else:
            return None
        if known is None:
            return None
        return CustomerRecord(known, self._store.credit_limits.get(known.id, Decimal(0)))

    def add(self, spec: CustomerSpec, created_at: datetime) -> int | None:
        if any(c.email == spec.email for c in self._store.customers.values()):
            return None  # the email is unique
        customer_id = next(self._store.ids)
        self._store.customers[customer_id] = KnownCustomer(customer_id, spec.email, spec.name, None)
        self._store.credit_limits[customer_id] = spec.credit_limit
        return customer_id

    def add_address(self, customer_id: int, address: Address, *, default: bool) -> None:
        if default:
            known = self._store.customers[customer_id]
            self._store.customers[customer_id] = replace(known, default_address=address)

    def ordered_through(self, customer_id: int, channel: str) -> bool:
        return any(o.customer_id == customer_id and o.channel == channel for o in self._store.orders.values())

    def lock(self, customer_id: int) -> None:
        pass  # one writer at a time here

    def get(self, customer_id: int) -> CustomerView | None:
        known = self._store.customers.get(customer_id)
        if known is None and customer_id not in self._store.credit_limits:
            return None
        limit = self._store.credit_limits.get(customer_id, Decimal(0))
        created = datetime(2025, 1, 1, tzinfo=UTC)
        email = known.email if known else f"buyer{customer_id}@example.com"
        return CustomerView(customer_id, email, "Buyer", "", "b2b", limit, 30, created)

    def credit_held_orders(self, customer_id: int) -> list[int]:
        return sorted(
            o.id
            for o in self._store.orders.values()
            if o.customer_id == customer_id and any(h.reason == "credit" for h in o.holds)
        )

    def open_balance(self, customer_id: int) -> Decimal:
        return sum(
            (
                o.outstanding
                for o in self._store.orders.values()
                if o.customer_id == customer_id
                and o.payment_method == "invoice"
                and not any(h.reason == "credit" for h in o.holds)
            ),
            Decimal(0),
        )


class FakePayments:
    def __init__(self, store: Store) -> None:
        self._store = store

    def for_order(self, order_id: int) -> list[PaymentRecord]:
        return [x for oid, x in self._store.payments if oid == order_id]


SHIPPING_SERVICES = {
    "standard": ShippingService("standard", "DHL", 2),
    "express": ShippingService("express", "UPS", 1),
}


class FakeWarehouses:
    def __init__(self, store: Store) -> None:
        self._store = store

    def reference(self) -> ReferenceData:
        return ReferenceData(tuple(self._store.warehouses), SHIPPING_SERVICES, WorkCalendar(frozenset()))


class FakeVerdicts:
    def enqueue(self, order_ids: Sequence[int], *, at: datetime) -> None:
        pass  # the verdict queue only matters to reports, which unit tests do not read


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue(self, messages: Sequence[Any]) -> None:
        self._store.messages += messages


class FakeLostDemand:
    """Refused lines as recorded: (channel, reference) -> its lines, the latest attempt's."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, channel: str, external_ref: str, lines: Sequence[Any], *, at: datetime) -> None:
        self._store.lost_demand[(channel, external_ref)] = list(lines)

    def summed(self, start: datetime, end: datetime) -> list[Any]:
        raise NotImplementedError("report on lost demand in the integration tests")

    def lines_ordered(self, start: datetime, end: datetime) -> int:
        raise NotImplementedError("report on lost demand in the integration tests")


class FakeReplenishment:
    """Open purchase order supply per product, as a test sets it up: no supply unless given."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def incoming(self, product_id: int) -> tuple[list[tuple[date, int]], int]:
        supply = self._store.incoming.get(product_id, [])
        owed = sum(
            line.backordered
            for order in self._store.orders.values()
            for line in order.lines
            if line.product_id == product_id and order.status.value not in ("delivered", "cancelled")
        )
        return list(supply), owed


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._before: Store | None = None

    def __enter__(self) -> FakeUnitOfWork:
        # A copy to go back to: what a rolled-back transaction leaves is what was there before.
        self._before = copy.deepcopy(self._store)
        self.orders = FakeOrders(self._store)
        self.stock = FakeStock(self._store)
        self.fulfilment = FakeFulfilment(self._store)
        self.verdicts = FakeVerdicts()
        self.products = FakeProducts(self._store)
        self.customers = FakeCustomers(self._store)
        self.warehouses = FakeWarehouses(self._store)
        self.payments = FakePayments(self._store)
        self.outbox = FakeOutbox(self._store)
        self.lost_demand = FakeLostDemand(self._store)
        self.replenishment = FakeReplenishment(self._store)
        return self

    def commit(self) -> None:
        self._before = None

    def __exit__(self, *exc: object) -> None:
        if self._before is not None:
            self._store.__dict__.update(self._before.__dict__)


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.store = Store()

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


def fake_services(now: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) -> tuple[ServiceContext, Store]:
    """A Tuesday morning, before every warehouse's cut-off."""
    factory = FakeUnitOfWorkFactory()
    return ServiceContext(uow=factory, clock=SimulatedClock(now)), factory.store  # type: ignore[arg-type]


def fake_view(o: Order, header: Mapping[str, Any] | None = None) -> OrderView:
    """What the API would show of a fake order, through the same mapper as the real repository:
    the aggregate's fields, over the header columns it was stored with, over fixed defaults."""
    lines = tuple(
        LineView(
            x.line_no,
            x.sku,
            x.quantity,
            x.unit_price,
            x.backordered,
            x.cancelled,
            tuple(
                AllocationView(
                    WAREHOUSE_CODES[a.warehouse_id],
                    a.quantity,
                    a.reserves_stock,
                    a.status,
                    a.planned_ship_date,
                )
                for a in o.allocations
                if a.line_id == x.id
            ),
        )
        for x in o.lines
    )
    holds = tuple(
        HoldView(h.id, h.reason, h.note, datetime.min.replace(tzinfo=UTC), "", None, None, None)
        for h in o.holds
    )
    defaults = {
        "external_ref": f"FAKE-{o.id}",
        "total": sum((line.amount for line in lines), Decimal(0)),
        **{f"ship_{f}": getattr(HOME, f) for f in ADDRESS_FIELDS},
        "shipping_service": "standard",
        "backorder_policy": "allow",
        "requested_delivery_date": None,
        "promised_ship_date": o.promised_date,
        "payment_authorized": None,
        "payment_reference": None,
        "note": "",
        "placed_at": datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        "approved_at": None,
    }
    known = {
        "id": o.id,
        "channel": o.channel,
        "customer_id": o.customer_id,
        "status": o.status.value,
        "currency": o.currency,
        "promised_date": o.promised_date,
        "rescheduled_date": o.rescheduled_date,
        "payment_method": o.payment_method,
        "payment_status": o.payment_status,
        "paid_amount": o.paid,
        "invoiced_amount": o.invoiced,
        "refunded_amount": o.refunded,
    }
    return order_view({**defaults, **(header or {}), **known}, lines, holds)


def put_product(
    store: Store,
    product_id: int,
    *,
    sku: str | None = None,
    name: str = "Brass lantern",
    price: str = "10.00",
    lead_time_days: int = 14,
    made_to_order: bool = False,
    production_days: int = 0,
) -> Product:
    """A product in the catalogue, priced in EUR (SKU-<id> unless named)."""
    product = Product(
        product_id,
        sku or f"SKU-{product_id}",
        name,
        Money(Decimal(price), "EUR"),
        True,
        FulfilmentMode.MADE_TO_ORDER if made_to_order else FulfilmentMode.MADE_TO_STOCK,
        production_days,
        lead_time_days,
    )
    store.products[product.sku] = product
    return product


def put_customer(
    store: Store,
    customer_id: int = 1,
    *,
    email: str | None = None,
    name: str = "Ines Moreau",
    credit_limit: str | None = None,
) -> KnownCustomer:
    """A registered customer with Ines's address on file (and a credit line, if given)."""
    known = KnownCustomer(customer_id, email or f"buyer{customer_id}@example.com", name, HOME)
    store.customers[customer_id] = known
    if credit_limit is not None:
        store.credit_limits[customer_id] = Decimal(credit_limit)
    return known


def put_order(
    store: Store,
    *,
    order_id: int = 7,
    status: OrderStatus = OrderStatus.APPROVED,
    lines: Sequence[tuple[int, ...]] = ((501, 3),),
    reserved: bool = True,
    channel: str = "web",
    customer_id: int = 1,
    payment_method: str = "card",
    payment_status: str | None = None,
    price: str = "10.00",
    ship_date: date = date(2026, 11, 25),
) -> Order:
    """An order already placed: one line per (product, quantity[, warehouse]), each reserved in
    that warehouse (1 unless given) to ship on `ship_date`, with the stock row reserving it and
    ten more units on the shelf; unless `reserved` is False (then backordered). Its products and
    customer are registered if they are not yet."""
    order_lines, allocations = [], []
    for line_no, (product_id, quantity, *where) in enumerate(lines, start=1):
        warehouse_id = where[0] if where else 1
        line_id = order_id * 100 + line_no
        if f"SKU-{product_id}" not in store.products:
            put_product(store, product_id, price=price)
        order_lines.append(
            Line(
                line_id,
                line_no,
                product_id,
                f"SKU-{product_id}",
                quantity,
                0 if reserved else quantity,
                0,
                0,
                Decimal(price),
            )
        )
        if reserved:
            allocations.append(
                Allocation(
                    next(store.ids), line_id, product_id, warehouse_id, quantity, True, "reserved", ship_date
                )
            )
            row = store.stock.setdefault((product_id, warehouse_id), [0, 0])
            row[0] += quantity + 10
            row[1] += quantity
    if customer_id not in store.customers:
        put_customer(store, customer_id)
    order = Order(
        id=order_id,
        status=status,
        channel=channel,
        customer_id=customer_id,
        promised_date=date(2026, 11, 27),
        rescheduled_date=None,
        version=0,
        lines=order_lines,
        allocations=allocations,
        holds=[],
        payment_method=payment_method,
        payment_status=payment_status or ("pending" if payment_method == "invoice" else "authorized"),
    )
    store.orders[order_id] = order
    store.headers[order_id] = {
        "channel": channel,
        "external_ref": f"FAKE-{order_id}",
        "shipping_service": "standard",
        "promised_ship_date": ship_date,
        "at_risk_since": None,
    }
    return order
