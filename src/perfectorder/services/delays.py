"""Proactive delay notices: when the promise can no longer be kept, say so before it passes.

Triggers: a carrier delay, a short pick that had to be backordered, and a late release (the order
has not shipped by the day it had to). The order is marked at risk once, with a reason and a new
expected date beside the original promise, and the customer gets a delay notice.
"""

from __future__ import annotations

from datetime import date, datetime

from perfectorder.domain.access import SYSTEM
from perfectorder.domain.orders import EventType
from perfectorder.domain.promise import delivery_date
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.lifecycle import event, order_state, update_order
from perfectorder.services.ports import UnitOfWork

OPEN_BEFORE_SHIPPING = ("approved", "on_hold", "picking", "picked", "packed")


def mark_at_risk(
    uow: UnitOfWork, order_id: int, *, reason: str, new_date: date, now: datetime, actor: str
) -> bool:
    """True when this call marked the order (a second trigger for the same order does nothing)."""
    state = order_state(uow, order_id, SYSTEM)
    # A delay reported after delivery (or for a cancelled order) has nothing left to put at risk.
    if state.status in ("delivered", "cancelled"):
        return False
    if not uow.orders.mark_at_risk(order_id, at=now, reason=reason):
        return False
    if new_date > (state.rescheduled_date or state.promised_date):
        update_order(
            uow, state, {"rescheduled_date": new_date, "reschedule_reason": reason, "updated_at": now}
        )
    event(
        uow,
        order_id,
        EventType.DELAYED.value,
        now,
        actor,
        reason=reason,
        new_date=new_date.isoformat(),
        original_promise=state.promised_date.isoformat(),
    )
    return True


def scan_late_releases(ctx: ServiceContext) -> int:
    """Marks orders that have not shipped by their planned ship date; run by the worker."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> int:
        reference = uow.warehouses.reference()
        marked = 0
        for order_id, service in uow.orders.unshipped_past_ship_date(now.date(), OPEN_BEFORE_SHIPPING):
            # The candidates were read before the lock: one may have shipped or been cancelled since.
            if order_state(uow, order_id, SYSTEM).status not in OPEN_BEFORE_SHIPPING:
                continue
            transit = reference.services[service].transit_days if service in reference.services else 2
            new_date = delivery_date(
                reference.calendar.next_working_day(now.date()), transit, reference.calendar
            )
            if mark_at_risk(
                uow,
                order_id,
                reason="not shipped on the planned day",
                new_date=new_date,
                now=now,
                actor="system:delay-scan",
            ):
                marked += 1
        return marked

    return run_transaction(ctx, work)
