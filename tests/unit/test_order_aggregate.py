"""The Order aggregate on its own: every rule, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from perfectorder.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from perfectorder.domain.order import Allocation, Line, OpenHold, Order
from perfectorder.domain.orders import EventType, HoldReason, OrderStatus

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SHIP_DAY = date(2026, 11, 25)


def an_order(
    status: OrderStatus = OrderStatus.APPROVED,
    *,
    quantity: int = 3,
    backordered: int = 0,
    allocations: list[tuple[int, str]] | None = None,
    holds: list[OpenHold] | None = None,
) -> Order:
    """One line of lanterns; `allocations` as (quantity, status) pairs, ids from 11."""
    chunks = allocations if allocations is not None else [(quantity - backordered, "reserved")]
    return Order(
        id=7,
        status=status,
        channel="web",
        customer_id=1,
        promised_date=date(2026, 11, 27),
        rescheduled_date=None,
        version=4,
        lines=[Line(101, 1, 501, "LANTERN-BRASS", quantity, backordered, 0, 0)],
        allocations=[
            Allocation(11 + i, 101, 501, 1, qty, True, st, SHIP_DAY)
            for i, (qty, st) in enumerate(chunks)
            if qty
        ],
        holds=holds or [],
    )


def test_cancelling_gives_back_every_unit_and_frees_the_shipping_day():
    order = an_order(allocations=[(2, "reserved"), (1, "picked")])
    [event] = order.cancel(reason="customer phoned", at=NOW)
    assert order.status is OrderStatus.CANCELLED
    assert event.type is EventType.CANCELLED and event.data["released_units"] == 3
    assert [(m.kind, m.allocation_id, m.quantity) for m in order.stock_moves] == [
        ("release", 11, 2),
        ("put_back", 12, 1),
    ]
    assert {(c.allocation_id, c.was_status, c.status) for c in order.allocation_changes} == {
        (11, "reserved", "released"),
        (12, "picked", "released"),
    }
    assert order.unbooked_days == [(1, SHIP_DAY)]
    assert order.header_changes["cancelled_at"] == NOW


def test_a_cancelled_order_cannot_be_cancelled_again():
    order = an_order(OrderStatus.CANCELLED, allocations=[])
    with pytest.raises(InvalidTransition):
        order.cancel(reason="twice", at=NOW)


def test_a_cancel_needs_a_reason():
    with pytest.raises(InvalidInput) as refused:
        an_order().cancel(reason="  ", at=NOW)
    assert refused.value.code == "reason_required"


def test_cancelling_part_of_a_line_takes_backordered_units_first():
    order = an_order(OrderStatus.ON_HOLD, quantity=5, backordered=2, holds=[OpenHold(3, "stock", "")])
    events = order.cancel_line(1, 2, reason="no longer needed", at=NOW)
    assert order.lines[0].backordered == 0 and order.lines[0].cancelled == 2
    assert order.stock_moves == []
    # Nothing waits for stock any more, so the stock hold goes and the order is approved.
    assert [e.type for e in events] == [EventType.LINE_CANCELLED, EventType.HOLD_RELEASED, EventType.APPROVED]
    assert order.status is OrderStatus.APPROVED


def test_cancelling_one_reserved_unit_shrinks_the_allocation_and_releases_just_that_unit():
    order = an_order()
    order.cancel_line(1, 1, reason="one too many", at=NOW)
    [change] = order.allocation_changes
    assert (change.was_quantity, change.quantity, change.status) == (3, 2, "reserved")
    [move] = order.stock_moves
    assert (move.kind, move.allocation_id, move.quantity) == ("release", 11, 1)


def test_cancelling_every_unit_of_every_line_cancels_the_order():
    order = an_order()
    events = order.cancel_line(1, 3, reason="all gone", at=NOW)
    assert order.status is OrderStatus.CANCELLED
    assert [e.type for e in events] == [EventType.LINE_CANCELLED, EventType.CANCELLED]


def test_units_on_a_pick_list_cannot_be_cancelled_line_by_line():
    order = an_order(OrderStatus.PICKING, allocations=[(3, "picking")])
    with pytest.raises(InvalidTransition):
        order.cancel_line(1, 1, reason="too late", at=NOW)


def test_a_line_cancel_beyond_what_is_cancellable_says_how_many_can_go():
    with pytest.raises(Conflict) as refused:
        an_order().cancel_line(1, 4, reason="four", at=NOW)
    assert refused.value.code == "not_cancellable" and refused.value.details == {"cancellable": 3}


def test_an_unknown_line_is_not_found():
    with pytest.raises(NotFound):
        an_order().cancel_line(9, 1, reason="which", at=NOW)


def test_a_hold_moves_the_order_on_hold_and_the_last_release_approves_it():
    order = an_order()
    [held] = order.hold(HoldReason.RISK, note="odd address", at=NOW)
    assert order.status is OrderStatus.ON_HOLD and held.type is EventType.HELD
    order.holds.append(OpenHold(41, "risk", "odd address"))  # as the save would
    order.new_holds.clear()
    events = order.release_hold(41, note="checked", at=NOW)
    assert [e.type for e in events] == [EventType.HOLD_RELEASED, EventType.APPROVED]
    assert order.status is OrderStatus.APPROVED


def test_an_order_on_a_pick_list_cannot_be_held():
    with pytest.raises(InvalidTransition):
        an_order(OrderStatus.PICKING, allocations=[(3, "picking")]).hold(HoldReason.MANUAL, note="", at=NOW)


def test_releasing_a_hold_that_is_not_open_is_not_found():
    with pytest.raises(NotFound):
        an_order().release_hold(99, note="", at=NOW)


def test_rescheduling_keeps_the_original_promise():
    order = an_order()
    [event] = order.reschedule(date(2026, 12, 3), reason="carrier strike", today=NOW.date(), at=NOW)
    assert order.promised_date == date(2026, 11, 27) and order.expected_date == date(2026, 12, 3)
    assert event.data["original_promise"] == "2026-11-27"


def test_a_date_in_the_past_is_refused():
    with pytest.raises(InvalidInput):
        an_order().reschedule(date(2026, 11, 1), reason="oops", today=NOW.date(), at=NOW)


def test_releasing_to_picking_moves_each_reserved_allocation_onto_the_pick_list():
    order = an_order()
    [alloc] = order.release_to_picking(at=NOW)
    assert order.status is OrderStatus.PICKING and alloc.status == "picking"


def test_nothing_reserved_means_nothing_to_pick():
    with pytest.raises(Conflict) as refused:
        an_order(allocations=[]).release_to_picking(at=NOW)
    assert refused.value.code == "nothing_to_pick"


def test_a_backorder_allocation_never_exceeds_what_the_line_waits_for():
    order = an_order(OrderStatus.ON_HOLD, quantity=5, backordered=2, holds=[OpenHold(3, "stock", "")])
    with pytest.raises(Conflict):
        order.allocate_backorder(
            101, warehouse_id=1, warehouse_code="BER", quantity=3, ship_date=SHIP_DAY, at=NOW
        )
    events = order.allocate_backorder(
        101, warehouse_id=1, warehouse_code="BER", quantity=2, ship_date=SHIP_DAY, at=NOW
    )
    assert [e.type for e in events] == [
        EventType.BACKORDER_ALLOCATED,
        EventType.HOLD_RELEASED,
        EventType.APPROVED,
    ]
    assert order.lines[0].backordered == 0 and order.new_allocations[0].quantity == 2


def test_a_cancelled_order_waits_for_no_backorder():
    order = an_order(OrderStatus.CANCELLED, quantity=5, backordered=2)
    assert order.backordered(101) == 0


def test_the_last_pick_moves_the_order_to_picked_and_a_short_one_keeps_what_was_found():
    order = an_order(OrderStatus.PICKING, allocations=[(2, "picking"), (1, "picking")])
    assert order.complete_pick(11, 2, at=NOW) == []
    assert order.status is OrderStatus.PICKING
    [picked] = order.complete_pick(12, 0, at=NOW)
    assert picked.type is EventType.PICKED and order.status is OrderStatus.PICKED
    assert [(a.status, a.quantity) for a in order.allocations] == [("picked", 2), ("short", 1)]
    with pytest.raises(Conflict) as refused:
        order.complete_pick(11, 2, at=NOW)
    assert refused.value.code == "task_closed"


def test_packing_needs_a_picked_order_and_says_what_was_picked():
    with pytest.raises(InvalidTransition):
        an_order().pack(at=NOW)
    order = an_order(OrderStatus.PICKED, allocations=[(2, "picked"), (1, "picked")])
    assert order.pack(at=NOW) == {"LANTERN-BRASS": 3}
    assert {a.status for a in order.allocations} == {"packed"}


def test_shipping_counts_units_on_their_lines_and_ships_the_order_with_its_last_parcel():
    order = an_order(OrderStatus.PACKED, allocations=[(3, "packed")])
    assert order.ship_package([("LANTERN-BRASS", 2)], last_packed=False, first=True, at=NOW) is False
    assert order.status is OrderStatus.PARTIALLY_SHIPPED and order.header_changes["shipped_at"] == NOW
    assert order.ship_package([("LANTERN-BRASS", 5)], last_packed=True, first=False, at=NOW) is True
    assert order.lines[0].shipped == 3 and order.status is OrderStatus.SHIPPED
    assert {a.status for a in order.allocations} == {"shipped"}


def test_an_order_not_packed_cannot_ship():
    with pytest.raises(Conflict) as refused:
        an_order().ship_package([("LANTERN-BRASS", 1)], last_packed=True, first=True, at=NOW)
    assert refused.value.code == "not_ready_to_ship"


def test_delivery_collects_cash_at_the_door():
    order = an_order(OrderStatus.SHIPPED, allocations=[(3, "shipped")])
    order.payment_method, order.lines[0].unit_price = "cash_on_delivery", Decimal("12.50")
    events = order.deliver(NOW, at=NOW)
    assert [e.type for e in events] == [EventType.DELIVERED, EventType.CAPTURED]
    assert order.paid == Decimal("37.50") and order.status is OrderStatus.DELIVERED
