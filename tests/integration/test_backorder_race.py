"""Receipts against one purchase order from several clients at once serve the waiting backorders
oldest promise first, and never give one unit to two orders (PostgreSQL: real concurrent
transactions)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from sqlalchemy import func, select

from perfectorder.adapters.db import tables as t
from perfectorder.domain.orders import AddressInput, CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod, PaymentStatus
from perfectorder.sample_data import load_sample_store
from perfectorder.services import purchasing
from perfectorder.services.placing import place_order
from tests.conftest import make_application
from tests.stock_checks import assert_no_negative_or_overreserved_stock

pytestmark = pytest.mark.postgres
SKU = "MUG-CERAMIC-BLUE"
CLIENTS = 10


def command_of(ref: str, quantity: int, policy: BackorderPolicy) -> PlaceOrder:
    return PlaceOrder(
        channel=Channel.WEB,
        external_ref=ref,
        currency="EUR",
        lines=(LineInput(SKU, quantity),),
        customer=CustomerInput(email=f"{ref.lower()}@example.com", name=f"Buyer {ref}"),
        shipping_address=AddressInput(
            name=f"Buyer {ref}",
            line1="Kastanienallee 7",
            city="Berlin",
            postal_code="10435",
            country="DE",
            timezone="Europe/Berlin",
        ),
        payment=PaymentInput(PaymentMethod.CARD, PaymentStatus.AUTHORIZED, Decimal("12.90") * quantity, ref),
        backorder_policy=policy,
    )


def waiting(application) -> dict[int, int]:
    with application.engine.connect() as conn:
        return dict(
            conn.execute(
                select(t.order_lines.c.order_id, t.order_lines.c.backordered_qty).where(
                    t.order_lines.c.sku == SKU
                )
            ).all()
        )


def test_racing_receipts_never_give_one_unit_to_two_orders(migrated_postgres_url, clock):
    application = make_application(migrated_postgres_url, clock)
    try:
        ctx = application.services
        load_sample_store(ctx)
        purchasing.create_supplier(ctx, purchasing.SupplierInput("RACEWARE", "Raceware Ltd", 3))
        purchasing.add_supplier_product(
            ctx, purchasing.SupplierProductView("RACEWARE", SKU, "RW-1", Decimal("2.00"), "EUR", 1, 1)
        )
        # The shelf first, then six orders that wait for 5 mugs each: 30 owed.
        place_order(ctx, command_of("SHELF", 85, BackorderPolicy.REJECT))
        for n in range(6):
            place_order(ctx, command_of(f"WAIT-{n}", 5, BackorderPolicy.ALLOW))
        assert sum(waiting(application).values()) == 30
        po = purchasing.create_purchase_order(ctx, supplier="RACEWARE", warehouse="BER", lines=[(SKU, 40)])
        purchasing.send(ctx, po.summary.id)
        start = Barrier(CLIENTS)

        def receive(_: int) -> None:
            start.wait()
            purchasing.receive(ctx, po.summary.id, purchasing.Receipt(SKU, accepted=3), actor="dock")

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(receive, range(CLIENTS)))

        # 30 received, 30 owed: every order served in full, and no unit reserved twice.
        assert sum(waiting(application).values()) == 0
        with application.engine.connect() as conn:
            served = conn.execute(
                select(func.sum(t.allocations.c.quantity))
                .join(t.order_lines, t.order_lines.c.id == t.allocations.c.order_line_id)
                .join(t.orders, t.orders.c.id == t.allocations.c.order_id)
                .where(t.order_lines.c.sku == SKU, t.orders.c.external_ref.like("WAIT-%"))
            ).scalar_one()
        assert served == 30
        assert_no_negative_or_overreserved_stock(application.engine)
    finally:
        application.close()
