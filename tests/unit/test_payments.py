"""Money on the Order aggregate, and the payment use cases on the in-memory unit of work."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perfectorder.domain.errors import Conflict, InvalidInput
from perfectorder.domain.order import OpenHold
from perfectorder.domain.orders import EventType, OrderStatus
from perfectorder.services import payments
from tests.fakes import fake_services, put_order
from tests.unit.test_order_aggregate import an_order


def priced(order, *, method: str, status: str = "authorized", price: str = "40.00"):
    order.payment_method, order.payment_status = method, status
    for line in order.lines:
        line.unit_price = Decimal(price)
    return order


def test_an_invoice_is_issued_for_what_leaves_and_settled_in_parts():
    order = priced(an_order(OrderStatus.PACKED), method="invoice", status="pending")
    [invoiced] = order.bill_shipment(Decimal("80.00"), capture=True)
    assert invoiced.type is EventType.INVOICED and order.invoiced == Decimal("80.00")
    assert order.outstanding == Decimal("120.00")  # three units are due, not only the two shipped
    order.settle(Decimal("100.00"), reference="SEPA-1")
    assert (order.paid, order.outstanding, order.payment_status) == (
        Decimal("100.00"),
        Decimal("20.00"),
        "invoiced",
    )
    order.settle(None, reference="SEPA-2")
    assert (order.outstanding, order.payment_status) == (Decimal(0), "paid")
    assert [p.kind for p in order.new_payments] == ["invoice", "settlement", "settlement"]


def test_settling_more_than_is_owed_is_refused_with_what_is_owed():
    order = priced(an_order(), method="invoice", status="pending")
    with pytest.raises(InvalidInput) as refused:
        order.settle(Decimal("500"), reference="too much")
    assert refused.value.details == {"outstanding": "120.00"}


def test_a_card_is_captured_as_parcels_leave_never_beyond_what_is_due():
    order = priced(an_order(OrderStatus.PACKED), method="card")
    order.bill_shipment(Decimal("80.00"), capture=True)
    order.bill_shipment(Decimal("80.00"), capture=True)
    assert order.paid == Decimal("120.00") and order.payment_status == "captured"
    assert order.bill_shipment(Decimal("40.00"), capture=True) == []


def test_with_manual_capture_nothing_is_captured_at_shipment_until_asked():
    order = priced(an_order(OrderStatus.PACKED), method="card")
    assert order.bill_shipment(Decimal("120.00"), capture=False) == []
    [captured] = order.capture_payment(None, reference="PSP-77")
    assert captured.data["amount"] == "120.00"
    with pytest.raises(Conflict) as refused:
        order.capture_payment(None)
    assert refused.value.code == "nothing_outstanding"


def test_cash_is_collected_at_the_door_and_a_declined_card_is_never_captured():
    cash = priced(an_order(OrderStatus.SHIPPED), method="cash_on_delivery", status="pending")
    assert cash.bill_shipment(Decimal("120.00"), capture=True) == []
    [collected] = cash.collect_on_delivery()
    assert collected.data["amount"] == "120.00"
    declined = priced(an_order(OrderStatus.PACKED), method="card", status="declined")
    assert declined.bill_shipment(Decimal("120.00"), capture=True) == []


def test_a_refund_is_capped_at_what_the_order_is_worth():
    order = priced(an_order(OrderStatus.DELIVERED), method="card", status="captured")
    order.paid = Decimal("120.00")
    order.refund(Decimal("100.00"), return_id=5)
    with pytest.raises(InvalidInput) as refused:
        order.refund(Decimal("30.00"), return_id=6)
    assert refused.value.details == {"refundable": "20.00"}


def test_settling_on_the_fake_store_releases_nothing_for_another_method():
    ctx, store = fake_services()
    put_order(store)
    with pytest.raises(Conflict) as refused:
        payments.settle_invoice(ctx, 7, amount=None, reference="X")
    assert refused.value.code == "not_invoiced" and store.payments == []


def test_settling_an_invoice_releases_the_held_orders_that_now_fit_oldest_first():
    ctx, store = fake_services()
    store.credit_limits[1] = Decimal("500.00")
    put_order(store, order_id=7, payment_method="invoice", price="100.00", lines=[(501, 4)])  # 400 in use
    for order_id, units in ((8, 2), (9, 1)):
        held = put_order(
            store, order_id=order_id, payment_method="invoice", price="100.00", lines=[(501, units)]
        )
        held.status = OrderStatus.ON_HOLD
        held.holds.append(OpenHold(order_id * 10, "credit", "over the limit"))
    done = payments.settle_invoice(ctx, 7, amount=Decimal("300.00"), reference="SEPA-9")
    # 100 still in use: order 8 (200) fits and is released; order 9 (100) would make 400, fits too.
    assert done.released_orders == (8, 9) and done.outstanding == Decimal("100.00")
    assert store.orders[8].status is OrderStatus.APPROVED and store.orders[9].status is OrderStatus.APPROVED
    assert [x.kind for _, x in store.payments] == ["settlement"]


def test_a_held_order_that_does_not_fit_keeps_later_ones_waiting():
    ctx, store = fake_services()
    store.credit_limits[1] = Decimal("500.00")
    put_order(store, order_id=7, payment_method="invoice", price="100.00", lines=[(501, 4)])
    for order_id, units in ((8, 3), (9, 1)):
        held = put_order(
            store, order_id=order_id, payment_method="invoice", price="100.00", lines=[(501, units)]
        )
        held.status = OrderStatus.ON_HOLD
        held.holds.append(OpenHold(order_id * 10, "credit", "over the limit"))
    done = payments.settle_invoice(ctx, 7, amount=Decimal("100.00"), reference="SEPA-10")
    assert done.released_orders == ()  # 300 in use + 300 > 500; order 9 waits its turn
    assert store.orders[9].status is OrderStatus.ON_HOLD


def test_amounts_as_stored_with_four_decimals_are_whole_cents_and_accepted():
    order = priced(an_order(OrderStatus.DELIVERED), method="card", status="captured", price="12.9000")
    order.paid = Decimal("38.7000")
    [refunded] = order.refund(Decimal("12.9000"), return_id=3)
    assert refunded.data["amount"] == "12.9000" and order.refunded == Decimal("12.90")
    with pytest.raises(InvalidInput) as refused:
        order.refund(Decimal("0.0050"), return_id=4)
    assert refused.value.code == "too_many_decimals"
