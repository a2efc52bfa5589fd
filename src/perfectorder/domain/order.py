"""The Order aggregate: one consistency boundary for an order's lines, allocations and holds.

A use case loads the order (the repository locks its row first), calls one method, saves it and
appends the events the method returned. Every rule about what may change lives in these methods,
so a new use case cannot forget a guard: it has no other way to change an order. Stock is a
different aggregate; the order only says which of its allocations give units back (`stock_moves`),
and the service applies them as guarded single statements naming those allocations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from perfectorder.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from perfectorder.domain.orders import RESERVED_ONLY, Action, EventType, HoldReason, OrderStatus, next_status
from perfectorder.domain.text import check_text
from perfectorder.domain.values import in_minor_units

# Allocations that still hold units for the order; the rest are history.
LIVE = frozenset({"reserved", "picking", "picked", "packed"})
# Allocations whose units are still counted in the stock row's `reserved` (not yet off the shelf).
HOLDING_RESERVATION = frozenset({"reserved", "picking"})
AFTER_SHIPPING = frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})
FINISHED = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})


@dataclass(slots=True)
class Line:
    id: int
    line_no: int
    product_id: int
    sku: str
    quantity: int
    backordered: int
    cancelled: int
    shipped: int
    unit_price: Decimal = Decimal(0)

    @property
    def due(self) -> Decimal:
        """What the customer pays for this line: every unit not cancelled."""
        return self.unit_price * (self.quantity - self.cancelled)

    @property
    def open_qty(self) -> int:
        """Units still to ship: ordered, minus cancelled, minus shipped."""
        return self.quantity - self.cancelled - self.shipped


@dataclass(slots=True)
class Allocation:
    id: int
    line_id: int
    product_id: int
    warehouse_id: int
    quantity: int
    reserves_stock: bool
    status: str
    planned_ship_date: date
    books_capacity: bool = True


@dataclass(frozen=True, slots=True)
class OpenHold:
    id: int
    reason: str
    note: str


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """A guarded change: the repository applies it only if the row is still as it was read."""

    allocation_id: int
    was_status: str
    was_quantity: int
    status: str
    quantity: int


@dataclass(frozen=True, slots=True)
class StockMove:
    """Units an allocation gives back: `release` a reservation, or `put_back` picked units."""

    kind: str
    allocation_id: int
    product_id: int
    warehouse_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class NewAllocationRequest:
    line_id: int
    product_id: int
    warehouse_id: int
    quantity: int
    planned_ship_date: date


@dataclass(frozen=True, slots=True)
class PaymentEntry:
    """One row of the payments ledger: `capture`, `invoice`, `settlement` or `refund`."""

    kind: str
    amount: Decimal
    reference: str = ""
    return_id: int | None = None


# How an order's money moves, by payment method: captured when the goods leave (or by hand),
# collected by the carrier at the door, or invoiced at shipment and settled later.
CAPTURED_METHODS = frozenset({"card", "wallet", "bank_transfer"})
INVOICE = "invoice"
CASH_ON_DELIVERY = "cash_on_delivery"


@dataclass(frozen=True, slots=True)
class NewHoldRequest:
    reason: str
    note: str


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: EventType
    data: dict[str, Any]


@dataclass(slots=True)
class Order:
    id: int
    status: OrderStatus
    channel: str
    customer_id: int
    promised_date: date
    rescheduled_date: date | None
    version: int
    lines: list[Line]
    allocations: list[Allocation]
    holds: list[OpenHold]
    currency: str = "EUR"
    payment_method: str | None = None
    payment_status: str | None = None
    paid: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    # What the methods changed, drained by the repository's save.
    header_changes: dict[str, Any] = field(default_factory=dict)
    line_changes: dict[int, dict[str, int]] = field(default_factory=dict)
    allocation_changes: list[AllocationChange] = field(default_factory=list)
    new_holds: list[NewHoldRequest] = field(default_factory=list)
    new_allocations: list[NewAllocationRequest] = field(default_factory=list)
    new_payments: list[PaymentEntry] = field(default_factory=list)
    released_holds: list[tuple[int, str]] = field(default_factory=list)
    stock_moves: list[StockMove] = field(default_factory=list)
    unbooked_days: list[tuple[int, date]] = field(default_factory=list)

    # -- reading ---------------------------------------------------------------------------

    @property
    def expected_date(self) -> date:
        return self.rescheduled_date or self.promised_date

    def line(self, line_no: int) -> Line:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise NotFound("line_not_found", f"order {self.id} has no line {line_no}", field="line_no")

    def allocations_in(self, *statuses: str) -> list[Allocation]:
        return [a for a in self.allocations if a.status in statuses]

    @property
    def changed(self) -> bool:
        return bool(
            self.header_changes
            or self.line_changes
            or self.allocation_changes
            or self.new_holds
            or self.released_holds
            or self.new_allocations
            or self.new_payments
        )

    # -- the operator's verbs before fulfilment --------------------------------------------

    def cancel(self, *, reason: str, at: datetime) -> list[DomainEvent]:
        """Cancels before shipping and gives back every unit not yet shipped."""
        reason = _required(reason, "say why the order is cancelled")
        was = self.status
        self._move(Action.CANCEL, at, cancelled_at=at)
        released = self._give_back(self.allocations_in(*LIVE))
        self._release_all_holds("order cancelled")
        return [
            DomainEvent(
                EventType.CANCELLED,
                {"reason": reason, "released_units": released, "from_status": was.value},
            )
        ]

    def cancel_line(self, line_no: int, quantity: int, *, reason: str, at: datetime) -> list[DomainEvent]:
        """Cancels units that have not left: backordered units first, then reserved ones (newest
        allocation first). Units already on a pick list must come off it first."""
        reason = _required(reason, "say why the line is cancelled")
        if quantity <= 0:
            raise InvalidInput("invalid_quantity", "cancel at least one unit", field="quantity")
        if self.status not in (*RESERVED_ONLY, OrderStatus.PARTIALLY_SHIPPED):
            raise InvalidTransition(self.status.value, "cancel_line")
        line = self.line(line_no)
        reserved = [a for a in self.allocations_in("reserved") if a.line_id == line.id]
        cancellable = line.backordered + sum(a.quantity for a in reserved)
        if quantity > cancellable:
            raise Conflict(
                "not_cancellable",
                f"only {cancellable} unit(s) of line {line_no} can still be cancelled",
                field="quantity",
                details={"cancellable": cancellable},
            )
        from_backorder = min(quantity, line.backordered)
        remaining = quantity - from_backorder
        for alloc in sorted(reserved, key=lambda a: -a.id):
            if remaining == 0:
                break
            take = min(remaining, alloc.quantity)
            self._release_part(alloc, take)
            remaining -= take
        self._change_line(
            line, backordered=line.backordered - from_backorder, cancelled=line.cancelled + quantity
        )
        events = [
            DomainEvent(
                EventType.LINE_CANCELLED, {"line_no": line_no, "quantity": quantity, "reason": reason}
            )
        ]
        if any(line.open_qty > 0 for line in self.lines):
            return events + self.release_stock_holds_if_covered(note="backorder cancelled", at=at)
        return events + self._settle_after_line_cancel(reason, at)

    def release_stock_holds_if_covered(self, *, note: str, at: datetime) -> list[DomainEvent]:
        """Once no line waits for stock, its stock holds have nothing left to wait for; with no
        other hold left, the order is approved."""
        if any(line.backordered for line in self.lines):
            return []
        return self.release_holds_of(HoldReason.STOCK, note=note, at=at)

    def hold(self, reason: HoldReason, *, note: str, at: datetime) -> list[DomainEvent]:
        next_status(self.status, Action.HOLD)
        check_text(note, "note", multiline=True)
        if self.status is not OrderStatus.ON_HOLD:
            self._move(Action.HOLD, at)
        self.new_holds.append(NewHoldRequest(reason.value, note.strip()))
        # The hold's id is only known once saved; the service completes the event with it.
        return [DomainEvent(EventType.HELD, {"reason": reason.value, "note": note})]

    def release_hold(self, hold_id: int, *, note: str, at: datetime) -> list[DomainEvent]:
        hold = next((h for h in self.holds if h.id == hold_id), None)
        if hold is None:
            raise NotFound("hold_not_found", f"order {self.id} has no open hold {hold_id}", field="hold_id")
        check_text(note, "note", multiline=True)
        return self._release([hold], note.strip(), at, automatic=False)

    def reschedule(
        self, new_date: date, *, reason: str, today: date, at: datetime, horizon_days: int = 365
    ) -> list[DomainEvent]:
        """Stores a new expected date beside the original promise, which never changes."""
        reason = _required(reason, "say why the date moves")
        if self.status in FINISHED:
            raise Conflict("invalid_transition", f"an order in status '{self.status}' cannot be rescheduled")
        if new_date < today:
            raise InvalidInput("date_in_past", "the new date has already passed", field="new_date")
        latest = today + timedelta(days=horizon_days)
        if new_date > latest:
            raise InvalidInput(
                "date_too_far",
                f"a date can be moved up to {horizon_days} days ahead (until {latest.isoformat()})",
                field="new_date",
                details={"latest": latest.isoformat()},
            )
        previous = self.expected_date
        self.rescheduled_date = new_date
        self._set(at, rescheduled_date=new_date, reschedule_reason=reason)
        data = {
            "from": previous.isoformat(),
            "to": new_date.isoformat(),
            "reason": reason,
            "original_promise": self.promised_date.isoformat(),
        }
        return [DomainEvent(EventType.RESCHEDULED, data)]

    def backordered(self, line_id: int) -> int:
        """Units of the line still waiting for stock (none once the order is finished)."""
        if self.status in FINISHED:
            return 0
        return next((x.backordered for x in self.lines if x.id == line_id), 0)

    def allocate_backorder(
        self,
        line_id: int,
        *,
        warehouse_id: int,
        warehouse_code: str,
        quantity: int,
        ship_date: date,
        at: datetime,
    ) -> list[DomainEvent]:
        """Gives `quantity` units the stock has just reserved for it to a backordered line."""
        line = next(x for x in self.lines if x.id == line_id)
        if not 0 < quantity <= self.backordered(line_id):
            raise Conflict(
                "not_backordered", f"line {line.line_no} waits for {self.backordered(line_id)} unit(s)"
            )
        self._change_line(line, backordered=line.backordered - quantity)
        self.new_allocations.append(
            NewAllocationRequest(line_id, line.product_id, warehouse_id, quantity, ship_date)
        )
        self._set(at)
        data = {"line_id": line_id, "quantity": quantity, "warehouse": warehouse_code}
        events = [DomainEvent(EventType.BACKORDER_ALLOCATED, data)]
        return events + self.release_stock_holds_if_covered(note="backorder covered by a receipt", at=at)

    def release_to_picking(self, *, at: datetime) -> list[Allocation]:
        """Moves the order to picking; returns the reserved allocations that go on pick lists."""
        reserved = self.allocations_in("reserved")
        if not reserved:
            raise Conflict("nothing_to_pick", f"order {self.id} has no reserved units waiting to be picked")
        self._move(Action.RELEASE_TO_PICKING, at)
        for alloc in reserved:
            self._change_allocation(alloc, status="picking")
        return reserved

    # -- the warehouse and the carrier ------------------------------------------------------

    def complete_pick(self, allocation_id: int, picked: int, *, at: datetime) -> list[DomainEvent]:
        """A pick task is done: its allocation now stands for the units really picked (none found
        leaves it short). Once nothing of the order is left on a pick list, the order is picked."""
        alloc = self._allocation(allocation_id)
        if alloc.status != "picking" or not 0 <= picked <= alloc.quantity:
            raise Conflict("task_closed", f"allocation {allocation_id} is {alloc.status}, not on a pick list")
        self._change_allocation(
            alloc, status="picked" if picked else "short", quantity=picked or alloc.quantity
        )
        if self.status is OrderStatus.PICKING and not self.allocations_in("picking"):
            self._move(Action.FINISH_PICKING, at)
            return [DomainEvent(EventType.PICKED, {})]
        self._set(at)
        return []

    def pack(self, *, at: datetime) -> dict[str, int]:
        """Everything picked goes into packages; returns the units picked per SKU, which the
        packing check compares with what was packed."""
        self._move(Action.PACK, at)
        sku = {x.id: x.sku for x in self.lines}
        expected: dict[str, int] = {}
        for alloc in self.allocations_in("picked"):
            expected[sku[alloc.line_id]] = expected.get(sku[alloc.line_id], 0) + alloc.quantity
            self._change_allocation(alloc, status="packed")
        return expected

    def ship_package(
        self, items: Sequence[tuple[str, int]], *, last_packed: bool, first: bool, at: datetime
    ) -> bool:
        """One package leaves. Its units count as shipped on their lines (never beyond what is
        still wanted); with no packed package left, the packed allocations have left too. Returns
        True when nothing of the order is left to ship."""
        if self.status not in (OrderStatus.PACKED, OrderStatus.PARTIALLY_SHIPPED):
            raise Conflict("not_ready_to_ship", f"order {self.id} is {self.status.value}, not packed")
        by_sku = {x.sku: x for x in self.lines}
        for sku, quantity in items:
            line = by_sku.get(sku)
            if line is not None:
                self._change_line(line, shipped=min(line.quantity - line.cancelled, line.shipped + quantity))
        if last_packed:
            for alloc in self.allocations_in("packed"):
                self._change_allocation(alloc, status="shipped")
        everything = last_packed and all(x.open_qty <= 0 for x in self.lines)
        self._move(
            Action.SHIP_ALL if everything else Action.SHIP_PART, at, **({"shipped_at": at} if first else {})
        )
        return everything

    def deliver(self, delivered_at: datetime, *, at: datetime) -> list[DomainEvent]:
        """Every parcel has arrived; cash on delivery is collected at the door."""
        self._move(Action.DELIVER, at, delivered_at=delivered_at)
        return [
            DomainEvent(EventType.DELIVERED, {"delivered_at": delivered_at.isoformat()})
        ] + self.collect_on_delivery()

    def _allocation(self, allocation_id: int) -> Allocation:
        for alloc in self.allocations:
            if alloc.id == allocation_id:
                return alloc
        raise NotFound("allocation_not_found", f"order {self.id} has no allocation {allocation_id}")

    # -- money -------------------------------------------------------------------------------

    @property
    def due(self) -> Decimal:
        """What the customer owes for the order as it stands: every unit not cancelled."""
        if self.status is OrderStatus.CANCELLED:
            return Decimal(0)
        return sum((line.due for line in self.lines), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        """What is still to be paid: due, less what was paid and what was refunded or credited."""
        return max(self.due - self.paid - self.refunded, Decimal(0))

    def bill_shipment(self, value: Decimal, *, capture: bool) -> list[DomainEvent]:
        """The goods worth `value` have left: an invoice is issued for them, or an authorized card
        payment is captured for them (when `capture`, the store's setting); cash waits for the door."""
        if self.payment_method == INVOICE:
            amount = min(value, self.due - self.invoiced)
            if amount <= 0:
                return []
            self.invoiced += amount
            self._pay(PaymentEntry("invoice", amount), status="invoiced" if self.outstanding else "paid")
            return [DomainEvent(EventType.INVOICED, self._money(amount))]
        if (
            capture
            and self.payment_method in CAPTURED_METHODS
            and self.payment_status in ("authorized", "captured")
        ):
            return self._capture(min(value, self.due - self.paid - self.refunded), "captured at shipment")
        return []

    def collect_on_delivery(self) -> list[DomainEvent]:
        """The carrier took the cash at the door."""
        if self.payment_method != CASH_ON_DELIVERY:
            return []
        return self._capture(self.outstanding, "cash collected on delivery")

    def capture_payment(self, amount: Decimal | None, *, reference: str = "") -> list[DomainEvent]:
        """A capture by hand (when the store does not capture at shipment), up to what is due."""
        if self.payment_method not in CAPTURED_METHODS or self.payment_status not in (
            "authorized",
            "captured",
        ):
            raise Conflict(
                "not_capturable",
                f"order {self.id} has no authorized card, wallet or transfer payment to capture",
            )
        amount = self._within(amount, self.outstanding, "capture")
        return self._capture(amount, reference or "captured by hand")

    def settle(self, amount: Decimal | None, *, reference: str) -> list[DomainEvent]:
        """The customer paid (part of) an invoice; defaults to everything still outstanding."""
        if self.payment_method != INVOICE:
            raise Conflict("not_invoiced", f"order {self.id} is not paid by invoice; nothing to settle")
        amount = self._within(amount, self.outstanding, "settle")
        self.paid += amount
        self._pay(
            PaymentEntry("settlement", amount, reference.strip()),
            status="paid" if not self.outstanding else None,
        )
        return [DomainEvent(EventType.SETTLED, {**self._money(amount), "reference": reference.strip()})]

    def refund(self, amount: Decimal, *, return_id: int) -> list[DomainEvent]:
        """Money back for a return: a refund of what was paid, or a credit note on the invoice."""
        if amount <= 0:
            return []
        self._check_scale(amount, "refund")
        ceiling = max(self.paid, self.invoiced, self.due) - self.refunded
        if amount > ceiling:
            raise InvalidInput(
                "refund_above_paid",
                f"at most {ceiling} {self.currency} can still be refunded on order {self.id}",
                field="refund",
                details={"refundable": str(ceiling)},
            )
        self.refunded += amount
        self._pay(PaymentEntry("refund", amount, return_id=return_id))
        return [DomainEvent(EventType.REFUNDED, {**self._money(amount), "return_id": return_id})]

    def _capture(self, amount: Decimal, reference: str) -> list[DomainEvent]:
        if amount <= 0:
            return []
        self.paid += amount
        self._pay(PaymentEntry("capture", amount, reference), status="captured")
        return [DomainEvent(EventType.CAPTURED, {**self._money(amount), "method": self.payment_method})]

    def _within(self, amount: Decimal | None, ceiling: Decimal, verb: str) -> Decimal:
        if ceiling <= 0:
            raise Conflict("nothing_outstanding", f"order {self.id} has nothing left to {verb}")
        if amount is None:
            return ceiling
        self._check_scale(amount, "amount")
        if amount <= 0 or amount > ceiling:
            raise InvalidInput(
                "invalid_amount",
                f"{verb} between 0 and {ceiling} {self.currency} on order {self.id}",
                field="amount",
                details={"outstanding": str(ceiling)},
            )
        return amount

    def _check_scale(self, amount: Decimal, field: str) -> None:
        # Money moves in the currency's own units: a settlement of 0.005 EUR cannot happen.
        if in_minor_units(amount, self.currency) != amount:
            raise InvalidInput(
                "too_many_decimals",
                f"{amount} has more decimals than {self.currency} has; round it to the currency",
                field=field,
            )

    def _pay(self, entry: PaymentEntry, *, status: str | None = None) -> None:
        self.new_payments.append(entry)
        if status is not None:
            self.payment_status = status
        changes: dict[str, Any] = {"paid_amount": self.paid, "invoiced_amount": self.invoiced}
        changes["refunded_amount"] = self.refunded
        if status is not None:
            changes["payment_status"] = status
        self.header_changes.update(changes)

    def _money(self, amount: Decimal) -> dict[str, Any]:
        return {"amount": str(amount), "currency": self.currency}

    def release_holds_of(self, reason: HoldReason, *, note: str, at: datetime) -> list[DomainEvent]:
        """Releases every open hold of one reason; with none other left, the order is approved."""
        return self._release([h for h in self.holds if h.reason == reason], note, at, automatic=True)

    def _release(
        self, holds: list[OpenHold], note: str, at: datetime, *, automatic: bool
    ) -> list[DomainEvent]:
        """Releases these open holds; the last one gone approves an order that was on hold."""
        events = []
        for hold in holds:
            self.holds.remove(hold)
            self.released_holds.append((hold.id, note))
            data = {"hold_id": hold.id, "reason": hold.reason, "note": note}
            events.append(DomainEvent(EventType.HOLD_RELEASED, data))
        if holds and not self.holds and self.status is OrderStatus.ON_HOLD:
            self._move(Action.RELEASE_HOLD, at, approved_at=at)
            events.append(DomainEvent(EventType.APPROVED, {"automatic": automatic}))
        return events

    # -- the mechanics every verb shares ---------------------------------------------------

    def _move(self, action: Action, at: datetime, **columns: Any) -> None:
        """The one way the status changes: through the transition table."""
        self.status = next_status(self.status, action)
        self._set(at, status=self.status.value, **columns)

    def _set(self, at: datetime, **columns: Any) -> None:
        self.header_changes.update(columns, updated_at=at)

    def _change_line(self, line: Line, **values: int) -> None:
        for name, value in values.items():
            setattr(line, name, value)
        column = {"backordered": "backordered_qty", "cancelled": "cancelled_qty", "shipped": "shipped_qty"}
        self.line_changes.setdefault(line.id, {}).update({column[k]: v for k, v in values.items()})

    def _change_allocation(
        self, alloc: Allocation, *, status: str | None = None, quantity: int | None = None
    ) -> None:
        change = AllocationChange(
            alloc.id, alloc.status, alloc.quantity, status or alloc.status, quantity or alloc.quantity
        )
        self.allocation_changes.append(change)
        alloc.status, alloc.quantity = change.status, change.quantity

    def _give_back(self, allocations: list[Allocation]) -> int:
        """Every unit not yet shipped goes back: reservations are released, picked units return to
        the shelf; the shipping day each reserved allocation booked is freed."""
        units = 0
        freed_days = sorted(
            {
                (a.warehouse_id, a.planned_ship_date)
                for a in allocations
                if a.status == "reserved" and a.books_capacity
            }
        )
        for alloc in sorted(allocations, key=lambda a: (a.product_id, a.warehouse_id, a.id)):
            if alloc.reserves_stock:
                kind = "release" if alloc.status in HOLDING_RESERVATION else "put_back"
                self.stock_moves.append(
                    StockMove(kind, alloc.id, alloc.product_id, alloc.warehouse_id, alloc.quantity)
                )
                units += alloc.quantity
            self._change_allocation(alloc, status="released")
        self.unbooked_days.extend(freed_days)
        return units

    def _release_part(self, alloc: Allocation, quantity: int) -> None:
        if alloc.reserves_stock:
            self.stock_moves.append(
                StockMove("release", alloc.id, alloc.product_id, alloc.warehouse_id, quantity)
            )
        if quantity == alloc.quantity:
            self._change_allocation(alloc, status="released")
        else:
            self._change_allocation(alloc, quantity=alloc.quantity - quantity)

    def _release_all_holds(self, note: str) -> None:
        self.released_holds.extend((h.id, note) for h in self.holds)
        self.holds.clear()

    def _settle_after_line_cancel(self, reason: str, at: datetime) -> list[DomainEvent]:
        if any(line.open_qty > 0 for line in self.lines):
            return []
        if self.status is OrderStatus.PARTIALLY_SHIPPED:
            self._move(Action.CANCEL_REMAINDER, at)
            return []
        if all(line.cancelled == line.quantity for line in self.lines):
            was = self.status
            self._move(Action.CANCEL, at, cancelled_at=at)
            self._release_all_holds("every line cancelled")
            data = {"reason": reason, "released_units": 0, "from_status": was.value}
            return [DomainEvent(EventType.CANCELLED, data)]
        return []


def _required(text: str, message: str) -> str:
    check_text(text, "reason")
    if not text.strip():
        raise InvalidInput("reason_required", message, field="reason")
    return text.strip()
