"""Timeline events and the messages they cause, written together in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from perfectorder.domain.notifications import emails_for
from perfectorder.services.outbox_ports import NewMessage
from perfectorder.services.ports import NewEvent, UnitOfWork


def add_events(uow: UnitOfWork, order_id: int, events: Sequence[NewEvent]) -> None:
    """Appends to the order's timeline and queues the customer emails and the event for webhook
    subscribers (and the optional broker relay). Nothing is sent from inside the transaction."""
    if not events:
        return
    uow.orders.add_events(order_id, events)
    # The worker's next refresh stores the order's new verdict; reports read only what it stored.
    uow.verdicts.enqueue([order_id], at=events[0].occurred_at)
    messages = []
    for e in events:
        data = {"order_id": order_id, "event": e.type, "occurred_at": e.occurred_at.isoformat(), **e.data}
        messages.append(NewMessage(str(uuid.uuid4()), "event", e.type, order_id, data, e.occurred_at))
        messages += [
            NewMessage(str(uuid.uuid4()), "email", kind.value, order_id, data, e.occurred_at)
            for kind in emails_for(e.type, dict(e.data))
        ]
    uow.outbox.enqueue(messages)
