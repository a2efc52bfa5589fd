"""Shipping capacity: a cancel gives back only the day slot its order booked."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from perfectorder.adapters.db import tables as t
from perfectorder.domain.orders import CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod
from perfectorder.services import catalog, inventory, orders
from perfectorder.services.placing import place_order
from perfectorder.services.ports import ProductSpec


def _place(application, ref: str, *, backorder: bool) -> int:
    command = PlaceOrder(
        channel=Channel.WEB,
        external_ref=ref,
        currency="EUR",
        lines=(LineInput("SAFFRON-TIN-MAD", 1),),
        customer=CustomerInput(id=1),
        payment=PaymentInput(PaymentMethod.CASH_ON_DELIVERY),
        backorder_policy=BackorderPolicy.ALLOW if backorder else BackorderPolicy.REJECT,
    )
    return place_order(application.services, command).id


def _booked(application) -> int:
    c = t.shipping_capacity
    with application.engine.connect() as conn:
        return sum(r.booked for r in conn.execute(select(c.c.booked)))


def test_cancelling_a_backorder_served_by_a_receipt_keeps_other_orders_capacity(application):
    services = application.services
    catalog.create_product(services, ProductSpec("SAFFRON-TIN-MAD", "Saffron tin", Decimal("9.50"), "EUR"))
    inventory.receive_stock(services, sku="SAFFRON-TIN-MAD", warehouse="MAD", quantity=1)
    _place(application, "CAP-1", backorder=False)  # books one slot of Madrid's day
    waiting = _place(application, "CAP-2", backorder=True)  # nothing left: backordered, books none
    assert _booked(application) == 1
    inventory.receive_stock(services, sku="SAFFRON-TIN-MAD", warehouse="MAD", quantity=1)
    orders.cancel_order(services, waiting, reason="found it elsewhere")
    assert _booked(application) == 1  # the first order's slot is still booked
