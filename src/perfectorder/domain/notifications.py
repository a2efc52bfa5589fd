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
    ADDRESS_CHANGED = "address_changed"


def emails_for(event_type: str, data: dict[str, object]) -> list[EmailKind]:
    """The customer emails one timeline event causes."""
    simple = {
        "order.placed": EmailKind.CONFIRMATION,
        "order.shipped": EmailKind.SHIPPED,
        "order.partially_shipped": EmailKind.SHIPPED,
        "order.delayed": EmailKind.DELAYED,
        "order.delivered": EmailKind.DELIVERED,
        "order.return_received": EmailKind.RETURN_RECEIVED,
        "order.address_changed": EmailKind.ADDRESS_CHANGED,
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
    new_date: date | None = None  # a delay notice's expected date, as told


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
        delay = _judge(delivered, EmailKind.DELAYED, _day_end(promised_date, placed_at), "delay notice")
        if delay is not None:
            failures.append(delay)
        else:
            failures.extend(_untold_slips(delivered, delivered_on, placed_at))
    return CommunicationVerdict(not failures, tuple(failures))


def _day_end(day: date, like: datetime) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=like.tzinfo)


def _untold_slips(
    delivered: list[SentMessage], delivered_on: date, placed_at: datetime
) -> list[tuple[str, str]]:
    """Every date the customer was told in a delay notice that then passed before delivery needs a
    newer date told before it passed: a second slip told to nobody fails like the first would."""
    notices = [m for m in delivered if m.kind is EmailKind.DELAYED and m.new_date is not None]
    for told in sorted({m.new_date for m in notices if m.new_date is not None}):
        if delivered_on <= told:
            continue
        deadline = _day_end(told, placed_at)
        later = [
            m.delivered_at for m in notices if m.new_date is not None and m.new_date > told and m.delivered_at
        ]
        if any(at <= deadline for at in later):
            continue
        said = f"the order slipped past {told}, the date last told, and "
        if later:
            return [
                (
                    MESSAGE_LATE,
                    said + f"the next date reached the customer {_span(min(later) - deadline)} late",
                )
            ]
        return [(MESSAGE_MISSING, said + "no new date was told")]
    return []


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
