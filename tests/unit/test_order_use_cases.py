"""The order use cases on the in-memory unit of work: load, decide, save, events, in one go."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from perfectorder.domain.access import Principal, Role
from perfectorder.domain.errors import Conflict, NotFound
from perfectorder.domain.orders import HoldReason, OrderStatus
from perfectorder.services import fulfilment, orders
from tests.fakes import fake_services, put_order


def test_cancelling_an_order_releases_its_reservation_and_records_why():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    view = orders.cancel_order(ctx, 7, reason="customer phoned")
    assert view.status == "cancelled"
    assert store.stock[(501, 1)] == [13, 0]
    assert [(m.movement, m.reserved_delta, m.order_id) for m in store.ledger] == [("release", -3, 7)]
    assert store.event_types(7) == ["order.cancelled"]
    assert [(m.kind, m.topic) for m in store.messages] == [("event", "order.cancelled")]


def test_a_refused_cancel_leaves_nothing_behind():
    ctx, store = fake_services()
    put_order(store, status=OrderStatus.CANCELLED)
    with pytest.raises(Conflict):
        orders.cancel_order(ctx, 7, reason="twice")
    assert store.events == [] and store.ledger == []


def test_another_channels_order_is_not_found_when_cancelling():
    ctx, store = fake_services()
    put_order(store, channel="marketplace")
    with pytest.raises(NotFound):
        orders.cancel_order(
            ctx, 7, reason="not mine", caller=Principal("web-shop", Role.CHANNEL, channel="web")
        )
    assert store.orders[7].status is OrderStatus.APPROVED


def test_cancelling_one_unit_of_a_line_releases_one_unit():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3), (502, 1)])
    view = orders.cancel_line(ctx, 7, 1, quantity=1, reason="one too many")
    assert view.lines[0].cancelled_qty == 1 and view.lines[0].allocations[0].quantity == 2
    assert store.stock[(501, 1)] == [13, 2]
    assert store.orders[7].version == 1


def test_two_line_cancels_in_a_row_each_see_the_other():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    orders.cancel_line(ctx, 7, 1, quantity=2, reason="two fewer")
    with pytest.raises(Conflict) as refused:
        orders.cancel_line(ctx, 7, 1, quantity=2, reason="two more")
    assert refused.value.details == {"cancellable": 1}
    assert store.stock[(501, 1)] == [13, 1]


def test_holding_and_releasing_an_order():
    ctx, store = fake_services()
    put_order(store)
    held = orders.hold_order(ctx, 7, reason=HoldReason.CREDIT, note="over limit")
    assert held.status == "on_hold"
    [hold] = held.holds
    released = orders.release_hold(ctx, 7, hold.id, note="paid")
    assert released.status == "approved" and released.holds == ()
    held_event = next(e for _, e in store.events if e.type == "order.held")
    assert held_event.data["hold_id"] == hold.id


def test_rescheduling_moves_the_expected_date_not_the_promise():
    ctx, store = fake_services()
    put_order(store)
    view = orders.reschedule_order(ctx, 7, new_date=date(2026, 12, 2), reason="carrier strike")
    assert (view.promised_date, view.rescheduled_date) == (date(2026, 11, 27), date(2026, 12, 2))


def test_releasing_to_picking_puts_each_reserved_unit_on_a_pick_list():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3), (502, 2)])
    [pick_list] = fulfilment.release_to_picking(ctx, 7)
    assert sorted(x.quantity for x in store.tasks.values() if x.pick_list_id == pick_list) == [2, 3]
    assert store.orders[7].status is OrderStatus.PICKING
    assert {a.status for a in store.orders[7].allocations} == {"picking"}


def test_cancelling_a_picking_order_closes_its_tasks_and_releases_the_units():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    fulfilment.release_to_picking(ctx, 7)
    orders.cancel_order(ctx, 7, reason="fraud confirmed")
    assert {x.status for x in store.tasks.values()} == {"cancelled"}
    assert store.stock[(501, 1)] == [13, 0]


def _picked(ctx, store) -> None:
    fulfilment.release_to_picking(ctx, 7)
    for task in list(store.tasks.values()):
        fulfilment.scan(ctx, task.id, code=task.sku, quantity=task.quantity)


def test_scanning_the_last_task_takes_the_units_off_the_shelf_and_the_order_is_picked():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    fulfilment.scan(ctx, task.id, code=task.sku, quantity=2)
    assert store.orders[7].status is OrderStatus.PICKING and store.stock[(501, 1)] == [13, 3]
    fulfilment.scan(ctx, task.id, code=task.sku, quantity=1)
    assert store.orders[7].status is OrderStatus.PICKED and store.stock[(501, 1)] == [10, 0]
    assert store.event_types(7)[-1] == "order.picked"


def test_a_wrong_scan_is_refused_and_recorded():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    with pytest.raises(Conflict) as refused:
        fulfilment.scan(ctx, task.id, code="SKU-999", quantity=1)
    assert refused.value.code == "wrong_item"
    assert store.scans[-1][3] == "wrong_item" and store.event_types(7)[-1] == "order.picking_error"


def test_packing_too_early_says_the_order_is_not_picked():
    ctx, store = fake_services()
    put_order(store)
    with pytest.raises(Conflict) as refused:
        fulfilment.pack(ctx, 7, [fulfilment.PackageSpec((("SKU-501", 3),), Decimal("1"), (20, 20, 20))])
    assert refused.value.code == "invalid_transition" and store.packages == {}


def test_packing_and_shipping_capture_the_card_payment_for_what_left():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)], price="12.00")
    _picked(ctx, store)
    [package] = fulfilment.pack(
        ctx, 7, [fulfilment.PackageSpec((("SKU-501", 2),), Decimal("1"), (20, 20, 20))]
    )
    assert store.issues[0][1].code == "packing_mismatch"  # three picked, two packed
    fulfilment.ship(ctx, 7, package, carrier="DHL", service="standard", tracking_number="JJD-1")
    order = store.orders[7]
    assert order.status is OrderStatus.PARTIALLY_SHIPPED and order.lines[0].shipped == 2
    assert order.paid == Decimal("24.00") and [x.kind for _, x in store.payments] == ["capture"]
    with pytest.raises(Conflict) as refused:
        fulfilment.ship(ctx, 7, package, carrier="DHL", service="standard", tracking_number="JJD-2")
    assert refused.value.code == "not_ready_to_ship"
