"""Proactive delay notices: when the promise can no longer be kept, say so before it passes, and
say so again each time the expected date slips further.

Triggers: a carrier delay or a later estimated delivery from the carrier, a short pick that had to
be backordered, and a late release (the order has not shipped by the day it had to, and another day
unshipped moves it again). The order is marked at risk, its expected date moves beside the
original promise, and the customer is told the new date: each time it moves past the date they
were last told, at most once a day per order; a slip on a day they were already told is told by
the next scan (`tell_untold_slips`, run by the worker) with the date as it then stands.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from perfectorder.domain.access import SYSTEM
from perfectorder.domain.orders import EventType
from perfectorder.domain.promise import delivery_date
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.lifecycle import event, order_state, update_order
from perfectorder.services.ports import OrderState, UnitOfWork

OPEN_BEFORE_SHIPPING = ("approved", "on_hold", "picking", "picked", "packed")
IN_TRANSIT = ("partially_shipped", "shipped")
# A parcel expected today and not delivered by this hour (UTC) will not come today: the customer
# hears the next date that evening, before the one they were told has passed.
EVENING_HOUR = 20
NOT_YET_DELIVERED = (*OPEN_BEFORE_SHIPPING, "received", "partially_shipped", "shipped")


def mark_at_risk(
    uow: UnitOfWork,
    order_id: int,
    *,
    reason: str,
    new_date: date,
    now: datetime,
    actor: str,
    only_if_later: bool = False,
) -> bool:
    """Marks the order at risk (once), moves its expected date when `new_date` is later, and tells
    the customer when this is the first warning or the date slipped past the one last told. With
    `only_if_later` (a carrier's estimate) an estimate within the expected date is no risk at all.
    True when a notice was queued."""
    state = order_state(uow, order_id, SYSTEM)
    # A delay reported after delivery (or for a cancelled order) has nothing left to put at risk.
    if state.status in ("delivered", "cancelled"):
        return False
    expected = state.rescheduled_date or state.promised_date
    if only_if_later and new_date <= expected:
        return False
    first = uow.orders.mark_at_risk(order_id, at=now, reason=reason)
    if new_date > expected:
        update_order(
            uow, state, {"rescheduled_date": new_date, "reschedule_reason": reason, "updated_at": now}
        )
        expected = new_date
    told = state.told_date or state.promised_date
    if not first and expected <= told:
        return False  # nothing new to tell
    return _tell(uow, state, expected, reason, now, actor)


def _tell(uow: UnitOfWork, state: OrderState, expected: date, reason: str, now: datetime, actor: str) -> bool:
    if state.told_at is not None and state.told_at.astimezone(UTC).date() == now.astimezone(UTC).date():
        return False  # one notice a day: the next scan tells the date as it then stands
    event(
        uow,
        state.id,
        EventType.DELAYED.value,
        now,
        actor,
        reason=reason,
        new_date=expected.isoformat(),
        original_promise=state.promised_date.isoformat(),
    )
    uow.orders.told(state.id, expected=expected, at=now)
    return True


def scan_overdue_deliveries(ctx: ServiceContext) -> int:
    """Parcels on their way past the day they were expected (or still out on its evening): the
    expected date moves to the next working day and the customer is told, once a day, until they
    arrive. Run by the worker and the simulator with the late-release scan."""
    now = ctx.clock.now().astimezone(UTC)
    today = now.date()

    def work(uow: UnitOfWork) -> int:
        calendar = uow.warehouses.reference().calendar
        told = 0
        for order_id in uow.orders.overdue_in_transit(today, IN_TRANSIT):
            state = order_state(uow, order_id, SYSTEM)
            expected = state.rescheduled_date or state.promised_date
            if (
                state.status not in IN_TRANSIT
                or expected > today
                or (expected == today and now.hour < EVENING_HOUR)
            ):
                continue
            told += mark_at_risk(
                uow,
                order_id,
                reason="not delivered by the day it was expected",
                new_date=calendar.next_working_day(today),
                now=now,
                actor="system:delay-scan",
            )
        return told

    return run_transaction(ctx, work)


def tell_untold_slips(ctx: ServiceContext) -> int:
    """Tells customers whose expected date slipped after they were already told that day; run by
    the worker (and the simulator) at least daily."""
    now = ctx.clock.now()
    today = datetime.combine(now.astimezone(UTC).date(), time(), UTC)

    def work(uow: UnitOfWork) -> int:
        told = 0
        for order_id in uow.orders.untold_slips(told_before=today, statuses=NOT_YET_DELIVERED):
            state = order_state(uow, order_id, SYSTEM)  # locked: read again
            expected = state.rescheduled_date or state.promised_date
            if state.status in NOT_YET_DELIVERED and expected > (state.told_date or state.promised_date):
                reason = "the expected delivery moved again"
                told += _tell(uow, state, expected, reason, now, "system:delay-scan")
        return told

    return run_transaction(ctx, work)


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
