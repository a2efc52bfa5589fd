"""Suppliers and purchase orders: the rules of a PO's life and of receiving against it. Pure.

A PO keeps the date first promised for it (`original_promised_date`) for as long as it lives;
confirmations and changes move only the current `promised_date`, so a supplier's slips stay visible,
as with the dates promised to customers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from perfectorder.domain.errors import Conflict, InvalidInput
from perfectorder.domain.promise import WorkCalendar


class POStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CONFIRMED = "confirmed"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


S = POStatus
TRANSITIONS: dict[POStatus, frozenset[POStatus]] = {
    S.DRAFT: frozenset({S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.CONFIRMED, S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}),
    # Cancelling a partly received PO closes what is still to come; what came stays received.
    S.PARTIALLY_RECEIVED: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}),
    # A received PO still takes units up to its over-receipt allowance: one delivery may be booked
    # in several receipts, and the last may come after the ordered quantity is complete.
    S.RECEIVED: frozenset({S.RECEIVED}),
    S.CANCELLED: frozenset(),
}
# Goods can arrive before the supplier confirmed: a PO that was sent is open to receipts.
RECEIVABLE = frozenset({S.SENT, S.CONFIRMED, S.PARTIALLY_RECEIVED, S.RECEIVED})
# Dates can still move while goods are awaited.
DATED = frozenset({S.DRAFT, S.SENT, S.CONFIRMED, S.PARTIALLY_RECEIVED})


class RejectionReason(enum.StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    SHORT_SHELF_LIFE = "short_shelf_life"
    OTHER = "other"


ISO_WEEKDAYS = "1234567"


def parse_working_days(text: str) -> frozenset[int]:
    """ISO weekday digits, Monday 1: "12345" is Monday to Friday."""
    days = text.strip()
    if not days or any(c not in ISO_WEEKDAYS for c in days) or len(set(days)) != len(days):
        raise InvalidInput(
            "invalid_working_days",
            "working days are ISO weekday digits, Monday 1 to Sunday 7, each once, e.g. 12345",
            field="working_days",
        )
    return frozenset(int(c) for c in days)


def supplier_calendar(working_days: str) -> WorkCalendar:
    worked = parse_working_days(working_days)
    return WorkCalendar(weekend=frozenset(d - 1 for d in range(1, 8) if d not in worked))


def expected_date(ordered_on: date, *, lead_time_days: int, working_days: str) -> date:
    """The day the goods should arrive when the supplier takes its usual lead time in its own
    working days."""
    return supplier_calendar(working_days).add_working_days(ordered_on, lead_time_days)


def receipt_limit(ordered: int, over_receipt_percent: Decimal) -> int:
    """The most a line may accept: the ordered quantity plus the allowance, in whole units."""
    allowed = Decimal(ordered) * (1 + over_receipt_percent / 100)
    return int(allowed.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class POEvent:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class POLine:
    id: int
    sku: str
    quantity: int
    received_qty: int = 0
    rejected_qty: int = 0

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.received_qty, 0)


@dataclass(slots=True)
class PurchaseOrder:
    """The header the supplier's answers change; receipts change lines through a guarded update."""

    id: int
    number: str
    status: POStatus
    original_promised_date: date
    promised_date: date
    version: int
    warehouse_id: int = 0  # where the goods are delivered
    lines: tuple[POLine, ...] = ()
    sent_at: datetime | None = None
    confirmed_at: datetime | None = None

    def _move(self, to: POStatus, verb: str) -> None:
        if to not in TRANSITIONS[self.status]:
            raise Conflict(
                "po_state_conflict",
                f"purchase order {self.number} is {self.status.value} and cannot be {verb}",
                details={"status": self.status.value},
            )
        self.status = to

    def send(self, at: datetime) -> list[POEvent]:
        self._move(S.SENT, "sent")
        self.sent_at = at
        return [POEvent("po.sent", {"promised_date": self.promised_date.isoformat()})]

    def confirm(self, promised: date, at: datetime) -> list[POEvent]:
        """The supplier's acknowledgement, with the date it commits to (which may differ)."""
        if self.status is not S.SENT:
            raise Conflict(
                "po_state_conflict",
                f"purchase order {self.number} is {self.status.value}; only a sent PO is confirmed",
                details={"status": self.status.value},
            )
        previous = self.promised_date
        self._move(S.CONFIRMED, "confirmed")
        self.confirmed_at = at
        self.promised_date = promised
        return [POEvent("po.confirmed", {"promised_date": promised.isoformat(), "was": previous.isoformat()})]

    def change_date(self, promised: date, reason: str) -> list[POEvent]:
        if self.status not in DATED:
            raise Conflict(
                "po_state_conflict",
                f"purchase order {self.number} is {self.status.value}; its date no longer moves",
                details={"status": self.status.value},
            )
        if not reason.strip():
            raise InvalidInput("reason_required", "say why the date changes", field="reason")
        if promised == self.promised_date:
            raise InvalidInput(
                "date_unchanged",
                f"the PO is already promised for {promised.isoformat()}",
                field="promised_date",
            )
        old, self.promised_date = self.promised_date, promised
        return [
            POEvent(
                "po.date_changed",
                {"old": old.isoformat(), "new": promised.isoformat(), "reason": reason.strip()},
            )
        ]

    def cancel(self, reason: str) -> list[POEvent]:
        self._move(S.CANCELLED, "cancelled")
        return [POEvent("po.cancelled", {"reason": reason.strip()})]

    def line_for(self, sku: str) -> POLine:
        line = next((x for x in self.lines if x.sku == sku), None)
        if line is None:
            raise InvalidInput(
                "sku_not_on_po", f"purchase order {self.number} has no line for SKU '{sku}'", field="sku"
            )
        return line

    def check_receivable(self) -> None:
        if self.status not in RECEIVABLE:
            raise Conflict(
                "po_not_receivable",
                f"purchase order {self.number} is {self.status.value}; receive against a sent or "
                "confirmed PO",
                details={"status": self.status.value},
            )


def status_after_receipt(lines: tuple[POLine, ...]) -> POStatus:
    """Received once every line has all it ordered; rejected units do not count."""
    return S.RECEIVED if all(x.received_qty >= x.quantity for x in lines) else S.PARTIALLY_RECEIVED


def check_receipt(accepted: int, rejected: int, reason: str | None) -> RejectionReason | None:
    """A receipt accepts units, rejects units with a reason, or both; never nothing."""
    if accepted < 0 or rejected < 0:
        raise InvalidInput("invalid_quantity", "units are counted from 0", field="accepted")
    if accepted + rejected == 0:
        raise InvalidInput(
            "empty_receipt", "receive at least one unit, accepted or rejected", field="accepted"
        )
    if rejected == 0:
        return None
    try:
        return RejectionReason(reason or "")
    except ValueError:
        raise InvalidInput(
            "invalid_rejection_reason",
            "rejected units need a reason: " + ", ".join(r.value for r in RejectionReason),
            field="reason",
        ) from None


def over_receipt(line: POLine, accepted: int, limit: int) -> Conflict:
    can = max(limit - line.received_qty, 0)
    return Conflict(
        "over_receipt",
        f"{line.sku}: ordered {line.quantity}, received {line.received_qty}, at most {limit} may be "
        f"accepted; {can} more can be received",
        field="accepted",
        details={
            "sku": line.sku,
            "ordered": line.quantity,
            "received": line.received_qty,
            "limit": limit,
            "receivable": can,
            "requested": accepted,
        },
    )
