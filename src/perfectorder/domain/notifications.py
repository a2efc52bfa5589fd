"""What the customer must be told, when, and whether the order was well communicated.

The policy maps timeline events to customer emails; every event also goes to webhook subscribers.
The verdict is a pure function of the order's path and the messages that reached the customer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta


class EmailKind(enum.StrEnum):
    CONFIRMATION = "confirmation"
    HELD = "held"
    SHIPPED = "shipped"
    DELAYED = "delayed"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RETURN_RECEIVED = "return_received"
    REFUND_ISSUED = "refund_issued"


def emails_for(event_type: str, data: dict[str, object]) -> list[EmailKind]:
    """The customer emails one timeline event causes."""
    simple = {
        "order.placed": EmailKind.CONFIRMATION,
        "order.shipped": EmailKind.SHIPPED,
        "order.partially_shipped": EmailKind.SHIPPED,
        "order.delayed": EmailKind.DELAYED,
        "order.delivered": EmailKind.DELIVERED,
        "order.return_received": EmailKind.RETURN_RECEIVED,
    }
    kinds = [simple[event_type]] if event_type in simple else []
    # Only holds the customer can act on are worth an email; risk and stock checks are ours to do.
    if event_type == "order.held" and data.get("reason") in ("payment", "credit"):
        kinds.append(EmailKind.HELD)
    if event_type == "shipment.carrier_event" and data.get("type") == "out_for_delivery":
        kinds.append(EmailKind.OUT_FOR_DELIVERY)
    if event_type == "order.return_received" and str(data.get("refund", "0")) not in ("0", "0.00", "0.0000"):
        kinds.append(EmailKind.REFUND_ISSUED)
    return kinds


# How soon each required message must reach the customer after the step that causes it.
DEADLINES = {
    EmailKind.CONFIRMATION: timedelta(minutes=15),
    EmailKind.SHIPPED: timedelta(hours=4),
}


@dataclass(frozen=True, slots=True)
class SentMessage:
    kind: EmailKind
    queued_at: datetime
    delivered_at: datetime | None


MESSAGE_MISSING = "message_missing"
MESSAGE_LATE = "message_late"


@dataclass(frozen=True, slots=True)
class CommunicationVerdict:
    communicated: bool
    failures: tuple[tuple[str, str], ...]  # (code, reason): message_missing or message_late

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for _, reason in self.failures)


def communication_verdict(
    *,
    placed_at: datetime,
    shipped_at: datetime | None,
    promised_date: date,
    delivered_on: date | None,
    messages: Iterable[SentMessage],
) -> CommunicationVerdict:
    """Confirmation within minutes, shipped notice within hours of shipping, and, if the order
    arrived after its promise, a delay notice delivered before the promise passed. A message that
    did reach the customer, only after its deadline (a mail outage), was late, not missing."""
    delivered = [m for m in messages if m.delivered_at is not None]
    failures = []
    confirmation = _judge(
        delivered, EmailKind.CONFIRMATION, placed_at + DEADLINES[EmailKind.CONFIRMATION], "order confirmation"
    )
    if confirmation is not None:
        failures.append(confirmation)
    if shipped_at is not None:
        shipped = _judge(
            delivered, EmailKind.SHIPPED, shipped_at + DEADLINES[EmailKind.SHIPPED], "shipped notice"
        )
        if shipped is not None:
            failures.append(shipped)
    if delivered_on is not None and delivered_on > promised_date:
        promise_end = datetime.combine(
            promised_date + timedelta(days=1), datetime.min.time(), tzinfo=placed_at.tzinfo
        )
        delay = _judge(delivered, EmailKind.DELAYED, promise_end, "delay notice")
        if delay is not None:
            failures.append(delay)
    return CommunicationVerdict(not failures, tuple(failures))


_MISSING_REASONS = {
    EmailKind.CONFIRMATION: "no order confirmation reached the customer within 15 minutes",
    EmailKind.SHIPPED: "no shipped notice reached the customer within 4 hours of shipping",
    EmailKind.DELAYED: (
        "the order was late and no delay notice reached the customer before the promise passed"
    ),
}


def _judge(
    delivered: list[SentMessage], kind: EmailKind, deadline: datetime, name: str
) -> tuple[str, str] | None:
    arrivals = [m.delivered_at for m in delivered if m.kind is kind and m.delivered_at is not None]
    if any(at <= deadline for at in arrivals):
        return None
    if not arrivals:
        return MESSAGE_MISSING, _MISSING_REASONS[kind]
    late = min(arrivals) - deadline
    return MESSAGE_LATE, f"the {name} reached the customer {_span(late)} after its deadline"


def _span(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} minute(s)"
    return f"{minutes // 60} hour(s)"
