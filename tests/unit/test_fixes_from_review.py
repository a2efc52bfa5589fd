"""What an outside review of the order use cases found, each pinned by a test on the fake store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.fulfilment import CarrierEventType
from perfectorder.domain.orders import OrderStatus
from perfectorder.services import fulfilment, inventory, orders, payments, tracking
from tests.fakes import fake_services, put_order
from tests.unit.test_more_use_cases import dhl, shipped


def test_a_settlement_in_fractions_of_a_cent_is_refused():
    ctx, store = fake_services()
    put_order(store, payment_method="invoice", price="12.90", lines=[(501, 1)])
    with pytest.raises(InvalidInput) as refused:
        payments.settle_invoice(ctx, 7, amount=Decimal("0.005"), reference="SUBCENT")
    assert refused.value.code == "too_many_decimals" and store.payments == []


def test_a_partly_shipped_order_whose_backorder_was_filled_goes_into_the_next_wave():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)], status=OrderStatus.PARTIALLY_SHIPPED)
    [wave] = fulfilment.create_wave(ctx, warehouse="BER", ship_by=date(2026, 11, 25))
    assert store.orders[7].status is OrderStatus.PICKING
    assert [x.order_id for x in store.tasks.values() if x.pick_list_id == wave] == [7]


def test_a_delay_reported_after_delivery_does_not_warn_the_customer():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)])
    [number] = shipped(ctx, store)
    tracking.record_carrier_events(ctx, [dhl("d1", number, CarrierEventType.DELIVERED, 15)])
    tracking.record_carrier_events(
        ctx, [dhl("d2", number, CarrierEventType.DELAYED, 18, "late scan", day=26)]
    )
    assert store.orders[7].status is OrderStatus.DELIVERED and store.orders[7].rescheduled_date is None
    assert store.events_of(7, "order.delayed") == []


def test_cancelling_the_backordered_rest_of_a_delivered_parcel_delivers_the_order_and_collects_the_cash():
    ctx, store = fake_services()
    put_order(
        store,
        lines=[(501, 2), (502, 1)],
        price="10.00",
        payment_method="cash_on_delivery",
        payment_status="pending",
    )
    # The wick (line 2) was found missing at pick and waits for stock; the lanterns left and arrived.
    fulfilment.release_to_picking(ctx, 7)
    for task in list(store.tasks.values()):
        found = task.quantity if task.sku == "SKU-501" else 0
        if found == task.quantity:
            fulfilment.scan(ctx, task.id, code=task.sku, quantity=found)
        else:
            fulfilment.short_pick(ctx, task.id, found=0)
    [package] = fulfilment.pack(
        ctx, 7, [fulfilment.PackageSpec((("SKU-501", 2),), Decimal("1"), (20, 20, 20))]
    )
    fulfilment.ship(ctx, 7, package, carrier="DHL", service="standard", tracking_number="JJD-7-1")
    tracking.record_carrier_events(ctx, [dhl("p1", "JJD-7-1", CarrierEventType.DELIVERED, 15)])
    assert store.orders[7].status is OrderStatus.PARTIALLY_SHIPPED
    orders.cancel_line(ctx, 7, 2, quantity=1, reason="customer no longer wants the wick")
    order = store.orders[7]
    assert order.status is OrderStatus.DELIVERED
    assert [(x.kind, x.amount) for _, x in store.payments] == [("capture", Decimal("20.00"))]


def test_a_short_pick_of_a_made_to_order_unit_takes_nothing_from_the_shelf():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)])
    store.orders[7].allocations[0].reserves_stock = False
    store.stock[(501, 1)] = [4, 4]  # another order's reservation, not this one's
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    fulfilment.short_pick(ctx, task.id, found=1)
    assert store.stock[(501, 1)][0] == 4  # nothing written off for a unit that was never on the shelf


def test_cancelling_an_order_served_from_a_receipt_gives_back_no_shipping_slot_it_never_booked():
    ctx, store = fake_services()
    put_order(store, order_id=7, lines=[(501, 1)], reserved=False)  # waits for stock, booked nothing
    inventory.receive_stock(ctx, sku="SKU-501", warehouse="BER", quantity=1)
    [allocation] = store.orders[7].allocations
    day = (allocation.warehouse_id, allocation.planned_ship_date)
    store.booked[day] = 1  # another order's slot on the day this one would ship
    orders.cancel_order(ctx, 7, reason="found it elsewhere")
    assert store.booked[day] == 1
