"""An in-memory unit of work: the use cases run against it in unit tests, without a database.

It keeps the promises the real one keeps where the use cases rely on them: nothing is visible
until commit (a refused use case leaves the store as it was), an order is saved only over the
version it was loaded at, allocations change only from what they were, and stock moves are guarded.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.domain.order import Allocation, Line, OpenHold, Order
from perfectorder.domain.orders import OrderStatus
from perfectorder.services.context import ServiceContext
from perfectorder.services.fulfilment_ports import NewTask, TaskRecord
from perfectorder.services.ports import Movement, NewEvent, OrderState, TransientConflict
from perfectorder.services.views import (
    AddressView,
    AllocationView,
    CustomerView,
    HoldView,
    LineView,
    OrderView,
    PaymentView,
)

WAREHOUSE_CODES = {1: "BER", 2: "MAD"}


@dataclass
class Store:
    """Everything the fake database holds."""

    orders: dict[int, Order] = field(default_factory=dict)
    stock: dict[tuple[int, int], list[int]] = field(
        default_factory=dict
    )  # (product, warehouse) -> [on hand, reserved]
    ledger: list[Movement] = field(default_factory=list)
    events: list[tuple[int, NewEvent]] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    tasks: dict[int, TaskRecord] = field(default_factory=dict)
    pick_lists: dict[int, str] = field(default_factory=dict)
    booked: dict[tuple[int, date], int] = field(default_factory=dict)
    payments: list[tuple[int, Any]] = field(default_factory=list)
    credit_limits: dict[int, Decimal] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1000))

    def event_types(self, order_id: int) -> list[str]:
        return [e.type for oid, e in self.events if oid == order_id]


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
        return OrderState(o.id, o.status.value, o.channel, o.customer_id, o.promised_date, o.rescheduled_date)

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
            )
            for x in order.new_allocations
        )
        self._store.payments += [(order.id, x) for x in order.new_payments]
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

    def add_events(self, order_id: int, events: Sequence[NewEvent]) -> None:
        self._store.events += [(order_id, e) for e in events]

    def get(self, order_id: int) -> OrderView | None:
        o = self._store.orders.get(order_id)
        return order_view(o) if o is not None else None


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

    def receive(self, product_id: int, warehouse_id: int, quantity: int) -> None:
        self._store.stock.setdefault((product_id, warehouse_id), [0, 0])[0] += quantity

    def available(self, product_ids: Sequence[int]) -> dict[tuple[int, int], int]:
        return {k: v[0] - v[1] for k, v in self._store.stock.items() if k[0] in product_ids}

    def record(self, movements: Sequence[Movement]) -> None:
        self._store.ledger += movements

    def unbook_capacity(self, warehouse_id: int, day: date, quantity: int) -> None:
        key = (warehouse_id, day)
        self._store.booked[key] = max(self._store.booked.get(key, 0) - quantity, 0)


class FakeFulfilment:
    def __init__(self, store: Store) -> None:
        self._store = store

    def bins(self, warehouse_id: int, product_ids: Sequence[int]) -> dict[int, str]:
        return {p: f"A-{p % 100:02d}" for p in product_ids}

    def add_pick_list(self, warehouse_id: int, kind: str, at: datetime, by: str) -> int:
        pick_list_id = next(self._store.ids)
        self._store.pick_lists[pick_list_id] = "open"
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
            self._store.pick_lists[pick_list_id] = "done"


class FakeCustomers:
    def __init__(self, store: Store) -> None:
        self._store = store

    def lock(self, customer_id: int) -> None:
        pass  # one writer at a time here

    def get(self, customer_id: int) -> CustomerView | None:
        limit = self._store.credit_limits.get(customer_id)
        if limit is None:
            return None
        created = datetime(2025, 1, 1, tzinfo=UTC)
        return CustomerView(
            customer_id, f"buyer{customer_id}@example.com", "Buyer", "", "b2b", limit, 30, created
        )

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

    def for_order(self, order_id: int) -> list[Any]:
        return [x for oid, x in self._store.payments if oid == order_id]


class FakeVerdicts:
    def enqueue(self, order_ids: Sequence[int], *, at: datetime) -> None:
        pass  # the verdict queue only matters to reports, which unit tests do not read


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue(self, messages: Sequence[Any]) -> None:
        self._store.messages += messages


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
        self.customers = FakeCustomers(self._store)
        self.payments = FakePayments(self._store)
        self.outbox = FakeOutbox(self._store)
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
    factory = FakeUnitOfWorkFactory()
    return ServiceContext(uow=factory, clock=SimulatedClock(now)), factory.store  # type: ignore[arg-type]


def order_view(o: Order) -> OrderView:
    """What the API would show of a fake order; only the fields the aggregate knows are real."""
    lines = tuple(
        LineView(
            x.line_no,
            x.sku,
            x.quantity,
            Decimal("10.00"),
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
    address = AddressView(
        "Ines Moreau", "Rue Oberkampf 12", "", "Paris", "", "75011", "FR", "", "Europe/Paris"
    )
    return OrderView(
        id=o.id,
        channel=o.channel,
        external_ref=f"FAKE-{o.id}",
        customer_id=o.customer_id,
        status=o.status.value,
        currency="EUR",
        total=sum((line.amount for line in lines), Decimal(0)),
        shipping_address=address,
        shipping_service="standard",
        backorder_policy="allow",
        requested_delivery_date=None,
        promised_ship_date=o.promised_date,
        promised_date=o.promised_date,
        rescheduled_date=o.rescheduled_date,
        reschedule_reason=None,
        payment=PaymentView("card", "authorized", None, None),
        note="",
        placed_at=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        approved_at=None,
        cancelled_at=None,
        lines=lines,
        holds=holds,
    )


def put_order(
    store: Store,
    *,
    order_id: int = 7,
    status: OrderStatus = OrderStatus.APPROVED,
    lines: Sequence[tuple[int, int]] = ((501, 3),),
    reserved: bool = True,
    channel: str = "web",
    customer_id: int = 1,
    payment_method: str = "card",
    price: str = "10.00",
) -> Order:
    """An order already placed: one line per (product, quantity), each reserved in warehouse 1
    (and the stock row reserving it), unless `reserved` is False (then backordered)."""
    order_lines, allocations = [], []
    for line_no, (product_id, quantity) in enumerate(lines, start=1):
        line_id = order_id * 100 + line_no
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
                    next(store.ids), line_id, product_id, 1, quantity, True, "reserved", date(2026, 11, 25)
                )
            )
            row = store.stock.setdefault((product_id, 1), [0, 0])
            row[0] += quantity + 10
            row[1] += quantity
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
        payment_status="pending" if payment_method == "invoice" else "authorized",
    )
    store.orders[order_id] = order
    return order
