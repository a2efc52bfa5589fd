"""The rest of the use cases on the in-memory unit of work: placing, waves and short picks, the
carrier, feedback and returns, stock receipts and adjustments, payments by hand, late releases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from perfectorder.domain.access import Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.fulfilment import CarrierEventType
from perfectorder.domain.order import OpenHold
from perfectorder.domain.orders import (
    AddressInput,
    CustomerInput,
    LineInput,
    OrderStatus,
    PaymentInput,
    PlaceOrder,
)
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod, PaymentStatus
from perfectorder.services import aftersales, delays, fulfilment, inventory, payments, placing, tracking
from perfectorder.services.aftersales import FeedbackInput, ReceivedLine
from perfectorder.services.tracking import CarrierEventInput
from tests.fakes import fake_services, put_customer, put_order, put_product

TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# --- placing ---------------------------------------------------------------------------------


def lantern_shop(store, *, lanterns_in_berlin: int = 4, lanterns_in_madrid: int = 0) -> None:
    put_product(store, 501, sku="LANTERN-BRASS", name="Brass lantern", price="42.50")
    put_product(store, 502, sku="WICK-COTTON", name="Cotton wick, pack of 10", price="2.00")
    store.stock[(501, 1)] = [lanterns_in_berlin, 0]
    store.stock[(501, 2)] = [lanterns_in_madrid, 0]
    store.stock[(502, 1)] = [20, 0]


def ines_orders(**changes) -> PlaceOrder:
    """Two brass lanterns and five packs of wicks for Ines, paid by card: 95.00 EUR."""
    command = PlaceOrder(
        channel=Channel.WEB,
        external_ref="WEB-2026-0417",
        currency="EUR",
        lines=(LineInput("LANTERN-BRASS", 2), LineInput("WICK-COTTON", 5)),
        customer=CustomerInput(email="Ines.Moreau@Example.com", name="Ines Moreau"),
        shipping_address=AddressInput(
            name="Ines Moreau",
            line1="Rue Oberkampf 12",
            city="Paris",
            postal_code="75011",
            country="FR",
            timezone="Europe/Paris",
        ),
        payment=PaymentInput(PaymentMethod.CARD, PaymentStatus.AUTHORIZED, Decimal("95.00"), "PSP-4411"),
    )
    return replace(command, **changes)


def test_placing_an_order_reserves_its_stock_books_the_shipping_day_and_approves_it():
    ctx, store = fake_services()
    lantern_shop(store)
    view = placing.place_order(ctx, ines_orders())
    assert (view.status, view.total, view.promised_ship_date, view.promised_date) == (
        "approved",
        Decimal("95.00"),
        date(2026, 11, 25),
        date(2026, 11, 27),
    )
    assert [(x.sku, [(a.warehouse, a.quantity) for a in x.allocations]) for x in view.lines] == [
        ("LANTERN-BRASS", [("BER", 2)]),
        ("WICK-COTTON", [("BER", 5)]),
    ]
    assert store.stock[(501, 1)] == [4, 2] and store.stock[(502, 1)] == [20, 5]
    assert [(m.movement, m.product_id, m.reserved_delta) for m in store.ledger] == [
        ("reservation", 501, 2),
        ("reservation", 502, 5),
    ]
    assert store.booked == {(1, date(2026, 11, 25)): 1}
    # Ines was new: she is registered with her email as the lookup key and her address on file.
    [ines] = store.customers.values()
    assert (ines.email, ines.default_address.city) == ("ines.moreau@example.com", "Paris")
    assert store.orders[view.id].customer_id == ines.id
    assert store.event_types(view.id) == [
        "order.placed",
        "order.verified",
        "order.stock_reserved",
        "order.promised",
        "order.approved",
    ]


def test_an_order_refused_for_insufficient_stock_leaves_nothing_behind():
    ctx, store = fake_services()
    lantern_shop(store, lanterns_in_berlin=1)
    with pytest.raises(Conflict) as refused:
        placing.place_order(ctx, ines_orders())
    assert refused.value.code == "insufficient_stock"
    assert refused.value.details["available"] == 1 and refused.value.field == "lines[0].quantity"
    assert store.stock[(501, 1)] == [1, 0] and store.stock[(502, 1)] == [20, 0]
    assert store.orders == {} and store.customers == {} and store.events == [] and store.booked == {}
    # Only the demand it could not serve is written, after the refusal rolled back.
    [(key, lost)] = store.lost_demand.items()
    assert key[1] == ines_orders().external_ref and [(x.sku, x.requested, x.available) for x in lost] == [
        ("LANTERN-BRASS", 2, 1)
    ]


def test_a_duplicate_reference_is_refused_after_reserving_and_the_reservation_is_rolled_back():
    ctx, store = fake_services()
    lantern_shop(store)
    first = placing.place_order(ctx, ines_orders())
    with pytest.raises(Conflict) as refused:
        placing.place_order(ctx, ines_orders(lines=(LineInput("LANTERN-BRASS", 1),)))
    assert refused.value.code == "duplicate_order"
    # The second attempt had reserved a lantern and booked a slot before it found the duplicate.
    assert store.stock[(501, 1)] == [4, 2] and store.booked == {(1, date(2026, 11, 25)): 1}
    assert list(store.orders) == [first.id] and len(store.customers) == 1


def test_when_berlin_is_short_madrid_ships_the_whole_order():
    ctx, store = fake_services()
    lantern_shop(store, lanterns_in_berlin=1, lanterns_in_madrid=6)
    store.stock[(502, 2)] = [8, 0]
    view = placing.place_order(ctx, ines_orders())
    assert {a.warehouse for x in view.lines for a in x.allocations} == {"MAD"}
    assert store.stock[(501, 2)] == [6, 2] and store.stock[(501, 1)] == [1, 0]
    assert store.booked == {}  # Madrid has no daily capacity to book


def test_a_full_shipping_day_moves_the_order_to_the_next_day_and_the_promise_with_it():
    ctx, store = fake_services()
    lantern_shop(store)
    store.booked[(1, date(2026, 11, 25))] = 40  # Berlin's capacity for Wednesday is gone
    view = placing.place_order(ctx, ines_orders())
    assert (view.promised_ship_date, view.promised_date) == (date(2026, 11, 26), date(2026, 11, 30))
    assert store.booked[(1, date(2026, 11, 26))] == 1


def test_an_order_allowed_to_wait_for_stock_is_held_for_it_with_what_it_waits_for():
    ctx, store = fake_services()
    lantern_shop(store, lanterns_in_berlin=1)
    put_customer(store, 31, email="ines.moreau@example.com")
    view = placing.place_order(
        ctx, ines_orders(backorder_policy=BackorderPolicy.ALLOW, customer=CustomerInput(id=31))
    )
    assert view.status == "on_hold" and [h.reason for h in view.holds] == ["stock"]
    assert view.lines[0].backordered_qty == 1 and store.stock[(501, 1)] == [1, 1]
    order = store.orders[view.id]
    assert [h.reason for h in order.holds] == ["stock"] and order.lines[0].backordered == 1
    assert "order.backordered" in store.event_types(view.id)
    assert len(store.customers) == 1  # a known customer is not registered again


# --- waves and short picks -------------------------------------------------------------------


def test_a_wave_batches_the_berlin_orders_due_and_sends_their_madrid_units_to_madrid():
    ctx, store = fake_services()
    put_order(store, order_id=7, lines=[(501, 3)])
    put_order(store, order_id=8, lines=[(502, 1), (503, 2, 2)])  # its candle holders are in Madrid
    put_order(store, order_id=9, lines=[(501, 1)], ship_date=date(2026, 11, 30))  # not due yet
    put_order(store, order_id=10, lines=[(501, 2)], status=OrderStatus.ON_HOLD)
    wave, madrid = fulfilment.create_wave(ctx, warehouse="BER", ship_by=date(2026, 11, 25))
    assert store.pick_lists[wave] == {"warehouse_id": 1, "kind": "wave", "status": "open"}
    assert store.pick_lists[madrid] == {"warehouse_id": 2, "kind": "single", "status": "open"}
    by_list = {
        pick_list: sorted(
            (x.order_id, x.sku, x.quantity) for x in store.tasks.values() if x.pick_list_id == pick_list
        )
        for pick_list in (wave, madrid)
    }
    assert by_list == {wave: [(7, "SKU-501", 3), (8, "SKU-502", 1)], madrid: [(8, "SKU-503", 2)]}
    statuses = {i: store.orders[i].status for i in (7, 8, 9, 10)}
    assert statuses == {
        7: OrderStatus.PICKING,
        8: OrderStatus.PICKING,
        9: OrderStatus.APPROVED,
        10: OrderStatus.ON_HOLD,
    }
    released = {
        i: [e.data["pick_lists"] for e in store.events_of(i, "order.released_to_picking")] for i in (7, 8, 9)
    }
    assert wave in released[7][0] and wave in released[8][0] and released[9] == []


def test_a_wave_with_nothing_due_is_refused_and_touches_nothing():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)], ship_date=date(2026, 11, 30))
    with pytest.raises(Conflict) as refused:
        fulfilment.create_wave(ctx, warehouse="BER", ship_by=date(2026, 11, 25))
    assert refused.value.code == "nothing_to_pick"
    assert store.pick_lists == {} and store.orders[7].status is OrderStatus.APPROVED


def test_a_short_pick_is_re_sourced_from_madrid_and_picked_there():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])  # Berlin: 13 on hand, 3 reserved
    store.stock[(501, 2)] = [5, 0]
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    fulfilment.short_pick(ctx, task.id, found=1)
    # Two lanterns were never on the shelf in Berlin; one was picked; Madrid reserves the two.
    assert store.stock[(501, 1)] == [10, 0] and store.stock[(501, 2)] == [5, 2]
    assert store.tasks[task.id].status == "short" and store.issues[0][1].code == "short_pick"
    [madrid_task] = [x for x in store.tasks.values() if x.id != task.id]
    assert (madrid_task.warehouse_id, madrid_task.quantity, madrid_task.status) == (2, 2, "open")
    [short] = store.events_of(7, "order.short_picked")
    assert (short.data["resourced"], short.data["backordered"]) == ([{"warehouse": "MAD", "quantity": 2}], 0)
    assert store.orders[7].status is OrderStatus.PICKING  # Madrid's units are still on a pick list
    fulfilment.scan(ctx, madrid_task.id, code="SKU-501", quantity=2)
    assert store.orders[7].status is OrderStatus.PICKED and store.stock[(501, 2)] == [3, 0]
    assert sorted((a.warehouse_id, a.quantity, a.status) for a in store.orders[7].allocations) == [
        (1, 1, "picked"),
        (2, 2, "picked"),
    ]


def test_a_short_pick_with_nothing_elsewhere_is_backordered_and_the_customer_warned():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    fulfilment.short_pick(ctx, task.id, found=1)
    order = store.orders[7]
    assert order.lines[0].backordered == 2 and order.status is OrderStatus.PICKED
    assert store.stock[(501, 1)] == [10, 0]
    # Fourteen working days' lead time, then two days in transit: the new date, beside the promise.
    assert (order.promised_date, order.rescheduled_date) == (date(2026, 11, 27), date(2026, 12, 17))
    assert store.headers[7]["at_risk_reason"] == "2 x SKU-501 missing at pick, backordered"
    [delayed] = store.events_of(7, "order.delayed")
    assert delayed.data["new_date"] == "2026-12-17"
    assert ("email", "delayed") in {(m.kind, m.topic) for m in store.messages}


def test_finding_as_many_as_the_task_wanted_is_not_a_short_pick():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    fulfilment.release_to_picking(ctx, 7)
    [task] = store.tasks.values()
    with pytest.raises(InvalidInput) as refused:
        fulfilment.short_pick(ctx, task.id, found=3)
    assert refused.value.code == "invalid_quantity"
    assert store.stock[(501, 1)] == [13, 3] and store.scans == [] and store.issues == []


# --- the carrier -----------------------------------------------------------------------------


def shipped(ctx, store, *, parcels=((("SKU-501", 2),),), order_id: int = 7) -> list[str]:
    """Picks the whole order, packs it in these parcels and hands each to DHL; their tracking numbers."""
    fulfilment.release_to_picking(ctx, order_id)
    for task in [x for x in store.tasks.values() if x.order_id == order_id]:
        fulfilment.scan(ctx, task.id, code=task.sku, quantity=task.quantity)
    specs = [fulfilment.PackageSpec(items, Decimal("1.2"), (30, 20, 20)) for items in parcels]
    numbers = []
    for n, package in enumerate(fulfilment.pack(ctx, order_id, specs), start=1):
        number = f"JJD-{order_id}-{n}"
        fulfilment.ship(ctx, order_id, package, carrier="DHL", service="standard", tracking_number=number)
        numbers.append(number)
    return numbers


def dhl(event_id: str, number: str, kind: CarrierEventType, hour: int, detail: str = "", *, day: int = 25):
    """A DHL tracking event, on Wednesday the 25th unless another day of November is given."""
    return CarrierEventInput("DHL", event_id, number, kind, datetime(2026, 11, day, hour, tzinfo=UTC), detail)


def test_a_delivery_delivers_the_order_and_the_cash_collected_at_the_door_is_captured():
    ctx, store = fake_services()
    put_order(
        store, lines=[(501, 2)], price="25.00", payment_method="cash_on_delivery", payment_status="pending"
    )
    [number] = shipped(ctx, store)
    assert store.orders[7].status is OrderStatus.SHIPPED and store.payments == []
    results = tracking.record_carrier_events(
        ctx,
        [
            dhl("ev-2", number, CarrierEventType.DELIVERED, 15),
            dhl("ev-1", number, CarrierEventType.OUT_FOR_DELIVERY, 8),
        ],
    )
    assert [(r.event_id, r.outcome) for r in results] == [("ev-2", "applied"), ("ev-1", "applied")]
    order = store.orders[7]
    assert order.status is OrderStatus.DELIVERED and order.payment_status == "captured"
    assert [(x.kind, x.amount, x.reference) for _, x in store.payments] == [
        ("capture", Decimal("50.00"), "cash collected on delivery")
    ]
    [shipment] = store.shipments.values()
    assert (shipment.status, shipment.delivered_at) == ("delivered", datetime(2026, 11, 25, 15, tzinfo=UTC))
    # Sent again, the batch changes nothing; a number nobody shipped is said to be unknown.
    again = tracking.record_carrier_events(
        ctx,
        [
            dhl("ev-2", number, CarrierEventType.DELIVERED, 15),
            dhl("ev-9", "JJD-NOPE", CarrierEventType.DELIVERED, 16),
        ],
    )
    assert [r.outcome for r in again] == ["duplicate", "unknown_tracking"]
    assert len(store.payments) == 1 and store.event_types(7).count("order.delivered") == 1


def test_an_order_in_two_parcels_is_delivered_when_the_second_arrives():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2), (502, 1)])
    first, second = shipped(ctx, store, parcels=[(("SKU-501", 2),), (("SKU-502", 1),)])
    tracking.record_carrier_events(ctx, [dhl("a", first, CarrierEventType.DELIVERED, 10)])
    assert store.orders[7].status is OrderStatus.SHIPPED
    tracking.record_carrier_events(ctx, [dhl("b", second, CarrierEventType.DELIVERED, 17)])
    assert store.orders[7].status is OrderStatus.DELIVERED
    [delivered] = store.events_of(7, "order.delivered")
    assert delivered.data["delivered_at"] == "2026-11-25T17:00:00+00:00"


def test_a_parcel_damaged_in_transit_opens_a_claim_against_the_carrier():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)])
    [number] = shipped(ctx, store)
    tracking.record_carrier_events(ctx, [dhl("d1", number, CarrierEventType.DAMAGED, 12, "crushed corner")])
    [(order_id, claim)] = store.claims
    assert (order_id, claim.kind, claim.status) == (7, "damaged", "open")
    assert (7, "damaged_in_transit") in {(oid, issue.code) for oid, issue in store.issues}
    assert store.orders[7].status is OrderStatus.SHIPPED  # damage does not stop the parcel


def test_each_carrier_delay_moves_the_expected_date_and_the_customer_hears_of_it_once_a_day():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)])
    [number] = shipped(ctx, store)
    tracking.record_carrier_events(
        ctx, [dhl("x1", number, CarrierEventType.DELAYED, 18, "hub closed", day=27)]
    )
    # Friday's delay: out again on Monday, one day to the door.
    assert store.orders[7].rescheduled_date == date(2026, 12, 1)
    assert store.headers[7]["at_risk_reason"] == "carrier DHL reports a delay: hub closed"
    tracking.record_carrier_events(
        ctx, [dhl("x2", number, CarrierEventType.DELAYED, 9, "still closed", day=30)]
    )
    # The second delay moves the date again (it stayed put once), told on a day already told: not yet.
    assert store.event_types(7).count("shipment.carrier_event") == 2
    assert store.orders[7].rescheduled_date == date(2026, 12, 2)
    assert len(store.events_of(7, "order.delayed")) == 1
    [shipment] = store.shipments.values()
    assert shipment.status == "delayed"
    # The next day's scan tells the date as it stands, once.
    ctx.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    assert delays.tell_untold_slips(ctx) == 1 and delays.tell_untold_slips(ctx) == 0
    told = [e.data["new_date"] for e in store.events_of(7, "order.delayed")]
    assert told == ["2026-12-01", "2026-12-02"]
    assert [m.topic for m in store.messages if m.kind == "email"].count("delayed") == 2


# --- feedback and returns --------------------------------------------------------------------


def test_feedback_comes_after_shipping_and_can_be_changed_for_thirty_days():
    ctx, store = fake_services()
    put_order(store, status=OrderStatus.PICKED)
    with pytest.raises(Conflict) as early:
        aftersales.give_feedback(ctx, 7, FeedbackInput(5))
    assert early.value.code == "not_shipped" and store.feedback == {}
    store.orders[7].status = OrderStatus.DELIVERED
    first = aftersales.give_feedback(ctx, 7, FeedbackInput(2, undamaged=False, comment=" dented lid "))
    assert (first.rating, first.comment, first.created_at) == (2, "dented lid", TUESDAY)
    ctx.clock.advance(timedelta(days=10))
    edited = aftersales.give_feedback(ctx, 7, FeedbackInput(4, comment="replacement lid arrived"))
    assert store.feedback[7] == edited and (edited.rating, edited.created_at) == (4, TUESDAY)
    assert [e.data["edited"] for e in store.events_of(7, "order.feedback")] == [False, True]
    ctx.clock.advance(timedelta(days=21))
    with pytest.raises(Conflict) as late:
        aftersales.give_feedback(ctx, 7, FeedbackInput(1))
    assert late.value.code == "feedback_window_closed" and store.feedback[7].rating == 4


def test_a_return_of_more_than_was_shipped_is_refused():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])
    shipped(ctx, store, parcels=[(("SKU-501", 3),)])
    with pytest.raises(InvalidInput) as refused:
        aftersales.open_return(ctx, 7, reason="changed_mind", lines=[("SKU-501", 4)])
    assert (refused.value.code, refused.value.message) == (
        "invalid_quantity",
        "3 x SKU-501 can still be returned",
    )
    aftersales.open_return(ctx, 7, reason="damaged_in_transit", lines=[("SKU-501", 2)])
    # Two are already on their way back: a second return may take only the third.
    with pytest.raises(InvalidInput) as again:
        aftersales.open_return(ctx, 7, reason="changed_mind", lines=[("SKU-501", 2)])
    assert again.value.message == "1 x SKU-501 can still be returned"
    assert len(store.returns) == 1 and store.event_types(7).count("order.return_authorized") == 1
    [(_, issue)] = [(oid, x) for oid, x in store.issues if x.code.startswith("return_")]
    assert (issue.code, issue.criterion, issue.stage) == (
        "return_damaged_in_transit",
        "undamaged",
        "shipping",
    )


def test_receiving_a_return_restocks_what_is_sound_and_refunds_what_came_back():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)], price="30.00")
    shipped(ctx, store, parcels=[(("SKU-501", 3),)])
    assert store.stock[(501, 1)] == [10, 0]
    opened = aftersales.open_return(ctx, 7, reason="defective", lines=[("SKU-501", 2)])
    closed = aftersales.receive_return(ctx, opened.id, lines=[ReceivedLine("SKU-501", restock=1, scrap=1)])
    assert (closed.status, closed.refund_amount) == ("received", Decimal("60.00"))
    assert [(x.restocked_qty, x.scrapped_qty) for x in closed.lines] == [(1, 1)]
    assert store.stock[(501, 1)] == [11, 0]  # the sound one back on Berlin's shelf, the broken one not
    assert store.ledger[-1].movement == "return" and store.ledger[-1].on_hand_delta == 1
    assert [(x.kind, x.amount, x.return_id) for _, x in store.payments] == [
        ("capture", Decimal("90.00"), None),
        ("refund", Decimal("60.00"), opened.id),
    ]
    assert store.orders[7].refunded == Decimal("60.00")
    with pytest.raises(Conflict) as twice:
        aftersales.receive_return(ctx, opened.id, lines=[ReceivedLine("SKU-501", restock=2, scrap=0)])
    assert twice.value.code == "return_closed" and store.stock[(501, 1)] == [11, 0]


def test_a_return_received_as_an_exchange_ships_the_items_again_free_and_refunds_nothing():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 2)], price="30.00")
    shipped(ctx, store)
    opened = aftersales.open_return(ctx, 7, reason="wrong_item", lines=[("SKU-501", 2)])
    closed = aftersales.receive_return(
        ctx, opened.id, lines=[ReceivedLine("SKU-501", restock=2, scrap=0)], exchange=True
    )
    exchange = store.orders[closed.exchange_order_id]
    assert (closed.refund_amount, exchange.status, exchange.channel) == (
        Decimal(0),
        OrderStatus.APPROVED,
        "customer_service",
    )
    assert [(x.sku, x.quantity, x.unit_price) for x in exchange.lines] == [("SKU-501", 2, Decimal(0))]
    assert store.headers[exchange.id]["external_ref"] == f"EXCHANGE-{opened.id}"
    assert store.stock[(501, 1)] == [12, 2]  # restocked, then reserved again for the exchange
    assert [x.kind for _, x in store.payments] == ["capture"]


# --- stock -----------------------------------------------------------------------------------


def test_a_receipt_serves_the_oldest_backorder_first_and_releases_its_stock_hold():
    ctx, store = fake_services()
    for order_id, units in ((7, 3), (8, 4)):
        waiting = put_order(
            store, order_id=order_id, lines=[(501, units)], reserved=False, status=OrderStatus.ON_HOLD
        )
        waiting.holds.append(OpenHold(order_id * 10, "stock", f"{units} unit(s) wait for stock"))
    level = inventory.receive_stock(ctx, sku="SKU-501", warehouse="BER", quantity=5, reason="PO-2231")
    assert (level.on_hand, level.reserved, level.available) == (5, 5, 0)
    first, second = store.orders[7], store.orders[8]
    assert first.status is OrderStatus.APPROVED and first.holds == [] and first.lines[0].backordered == 0
    assert [(a.warehouse_id, a.quantity, a.status) for a in first.allocations] == [(1, 3, "reserved")]
    assert store.event_types(7) == ["order.backorder_allocated", "order.hold_released", "order.approved"]
    # The later order gets what is left and keeps waiting for the rest.
    assert second.status is OrderStatus.ON_HOLD and second.lines[0].backordered == 2
    assert [a.quantity for a in second.allocations] == [2]
    assert [(m.movement, m.on_hand_delta, m.reserved_delta, m.order_id) for m in store.ledger] == [
        ("receipt", 5, 0, None),
        ("reservation", 0, 3, 7),
        ("reservation", 0, 2, 8),
    ]


def test_removing_stock_that_orders_have_reserved_is_refused():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)])  # 13 on hand, 3 of them promised to order 7
    with pytest.raises(Conflict) as refused:
        inventory.adjust_stock(ctx, sku="SKU-501", warehouse="BER", delta=-11, reason="water damage")
    assert refused.value.code == "adjustment_below_reserved"
    assert "on hand 13, reserved 3" in refused.value.message
    assert store.stock[(501, 1)] == [13, 3] and store.ledger == []
    level = inventory.adjust_stock(ctx, sku="SKU-501", warehouse="BER", delta=-10, reason="water damage")
    assert (level.on_hand, level.reserved) == (3, 3)
    assert [(m.movement, m.on_hand_delta, m.reason) for m in store.ledger] == [
        ("adjustment", -10, "water damage")
    ]


def test_adjusting_an_unknown_product_says_which():
    ctx, store = fake_services()
    with pytest.raises(NotFound) as refused:
        inventory.adjust_stock(ctx, sku="SKU-404", warehouse="BER", delta=5, reason="count")
    assert (refused.value.code, refused.value.field) == ("product_not_found", "sku")


# --- payments --------------------------------------------------------------------------------


def test_with_capture_by_hand_the_card_is_charged_when_asked_not_when_the_parcel_leaves():
    ctx, store = fake_services()
    ctx = replace(ctx, capture_at_shipment=False)
    put_order(store, lines=[(501, 2)], price="35.00")
    shipped(ctx, store)
    assert store.payments == [] and store.orders[7].payment_status == "authorized"
    part = payments.capture_payment(ctx, 7, amount=Decimal("50.00"), reference="PSP-9912")
    assert (part.kind, part.amount, part.reference, part.method, part.order_id) == (
        "capture",
        Decimal("50.00"),
        "PSP-9912",
        "card",
        7,
    )
    rest = payments.capture_payment(ctx, 7, amount=None)
    assert (rest.amount, rest.reference) == (Decimal("20.00"), "captured by hand")
    order = store.orders[7]
    assert (order.paid, order.outstanding, order.payment_status) == (Decimal("70.00"), Decimal(0), "captured")
    with pytest.raises(Conflict) as refused:
        payments.capture_payment(ctx, 7, amount=Decimal("1.00"))
    assert refused.value.code == "nothing_outstanding" and len(store.payments) == 2


def test_an_invoice_order_cannot_be_captured_like_a_card():
    ctx, store = fake_services()
    put_order(store, payment_method="invoice")
    with pytest.raises(Conflict) as refused:
        payments.capture_payment(ctx, 7, amount=None)
    assert refused.value.code == "not_capturable" and store.payments == []


def test_an_orders_payments_are_listed_in_the_order_they_happened_to_those_who_may_see_it():
    ctx, store = fake_services()
    put_order(store, lines=[(501, 3)], price="30.00")
    shipped(ctx, store, parcels=[(("SKU-501", 3),)])
    opened = aftersales.open_return(ctx, 7, reason="changed_mind", lines=[("SKU-501", 1)])
    aftersales.receive_return(ctx, opened.id, lines=[ReceivedLine("SKU-501", restock=1, scrap=0)])
    listed = payments.order_payments(ctx, 7)
    assert [(x.kind, x.amount) for x in listed] == [
        ("capture", Decimal("90.00")),
        ("refund", Decimal("30.00")),
    ]
    assert (
        payments.order_payments(ctx, 7, caller=Principal("web-shop", Role.CHANNEL, channel="web")) == listed
    )
    with pytest.raises(NotFound):
        payments.order_payments(ctx, 7, caller=Principal("market", Role.CHANNEL, channel="marketplace"))


# --- late releases ---------------------------------------------------------------------------


def test_an_order_not_shipped_on_its_planned_day_is_marked_at_risk_once():
    ctx, store = fake_services(now=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # Thursday
    put_order(store, order_id=7, ship_date=date(2026, 11, 25))  # should have left yesterday
    put_order(store, order_id=8, ship_date=date(2026, 11, 27))  # leaves tomorrow
    put_order(store, order_id=9, ship_date=date(2026, 11, 25), status=OrderStatus.CANCELLED)
    assert delays.scan_late_releases(ctx) == 1
    late = store.orders[7]
    # Shipped on Friday at the earliest, two working days in transit: Tuesday.
    assert (late.promised_date, late.rescheduled_date) == (date(2026, 11, 27), date(2026, 12, 1))
    assert store.headers[7]["at_risk_reason"] == "not shipped on the planned day"
    [delayed] = store.events_of(7, "order.delayed")
    assert (delayed.data["original_promise"], delayed.data["new_date"], delayed.actor) == (
        "2026-11-27",
        "2026-12-01",
        "system:delay-scan",
    )
    assert store.event_types(8) == [] and store.event_types(9) == []
    assert delays.scan_late_releases(ctx) == 0 and len(store.events_of(7, "order.delayed")) == 1


def test_a_backorder_is_promised_from_the_first_purchase_order_with_units_not_yet_owed():
    ctx, store = fake_services()
    lantern_shop(store, lanterns_in_berlin=1)
    # 1 lantern comes on Monday 30 November (already owed to nobody), 5 more on Friday 4 December.
    store.incoming[501] = [(date(2026, 11, 30), 1), (date(2026, 12, 4), 5)]
    waits = BackorderPolicy.ALLOW
    first = placing.place_order(ctx, ines_orders(backorder_policy=waits, external_ref="WAIT-1"))
    second = placing.place_order(ctx, ines_orders(backorder_policy=waits, external_ref="WAIT-2"))
    # The first order's missing lantern comes Monday and ships Tuesday; the second's is owed the
    # Friday delivery, since Monday's unit is promised to the first (a week later than the first).
    assert first.lines[0].backordered_qty == 1 and second.lines[0].backordered_qty == 2
    assert second.promised_date > first.promised_date
    assert (second.promised_date - first.promised_date).days >= 4
    # Without any purchase order the catalog's lead time is what the promise counts.
    store.incoming.clear()
    third = placing.place_order(ctx, ines_orders(backorder_policy=waits, external_ref="WAIT-3"))
    assert third.promised_date > second.promised_date
