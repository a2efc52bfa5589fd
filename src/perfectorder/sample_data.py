"""A small sample store (catalog, warehouses, carriers, customers, stock), loaded through the services.

The demo uses it until the simulator exists; tests use it as a realistic starting point.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from perfectorder.domain.errors import Conflict
from perfectorder.domain.orders import AddressInput
from perfectorder.services import catalog, customers, inventory
from perfectorder.services.context import ServiceContext
from perfectorder.services.ports import CustomerSpec, ProductSpec, WarehouseSpec
from perfectorder.services.views import ShippingServiceView

WAREHOUSES = [
    WarehouseSpec(
        "BER", "Berlin fulfilment centre", "Europe/Berlin", handling_days=0, cutoff="15:00", priority=10
    ),
    WarehouseSpec(
        "MAD",
        "Madrid warehouse",
        "Europe/Madrid",
        handling_days=1,
        cutoff="13:00",
        priority=20,
        daily_capacity=500,
    ),
]
SERVICES = [
    ShippingServiceView("standard", "DHL", "DHL Paket", 2),
    ShippingServiceView("express", "UPS", "UPS Express Saver", 1),
    ShippingServiceView("economy", "GLS", "GLS Business Parcel", 4),
]
HOLIDAYS = [
    (date(2026, 12, 25), "Christmas Day"),
    (date(2026, 12, 26), "Boxing Day"),
    (date(2027, 1, 1), "New Year"),
    (date(2027, 4, 2), "Good Friday"),
    (date(2027, 4, 5), "Easter Monday"),
    (date(2027, 5, 1), "Labour Day"),
]
# sku, name, category, price, weight, cost, made to order production days (0 = from stock)
PRODUCTS = [
    ("MUG-CERAMIC-BLUE", "Ceramic mug, cobalt blue", "kitchen", "12.90", "0.35", "3.10", 0),
    ("KETTLE-STEEL-17", "Steel kettle 1.7 l", "kitchen", "39.00", "1.10", "14.20", 0),
    ("TEAPOT-CAST-IRON", "Cast-iron teapot", "kitchen", "54.50", "1.60", "19.80", 0),
    ("LAMP-DESK-OAK", "Oak desk lamp", "lighting", "89.00", "1.90", "31.00", 0),
    ("BULB-LED-E27", "LED bulb E27 806 lm", "lighting", "4.99", "0.06", "1.05", 0),
    ("RUG-WOOL-160", "Wool rug 160 x 230", "textiles", "249.00", "7.40", "92.00", 0),
    ("CUSHION-LINEN", "Linen cushion cover", "textiles", "24.00", "0.25", "6.30", 0),
    ("CHAIR-BENTWOOD", "Bentwood chair", "furniture", "179.00", "5.20", "71.00", 0),
    ("TABLE-OAK-CUSTOM", "Oak table, made to measure", "furniture", "1290.00", "38.00", "610.00", 10),
    ("SHELF-WALNUT-CUSTOM", "Walnut shelf, made to measure", "furniture", "420.00", "9.50", "180.00", 7),
    ("CANDLE-SOY-LARGE", "Soy candle, large", "home", "18.50", "0.55", "4.40", 0),
    ("VASE-GLASS-TALL", "Tall glass vase", "home", "32.00", "0.90", "9.70", 0),
]
STOCK = {"BER": 60, "MAD": 25}


def load_sample_store(ctx: ServiceContext) -> int:
    """Loads the sample store; safe to run again (what exists is left alone). Returns products added."""
    for warehouse in WAREHOUSES:
        _ignore_duplicate(lambda w=warehouse: catalog.create_warehouse(ctx, w))
    for service in SERVICES:
        _ignore_duplicate(lambda s=service: catalog.create_shipping_service(ctx, s))
    for day, name in HOLIDAYS:
        catalog.add_holiday(ctx, day, name)
    added = 0
    for sku, name, category, price, weight, cost, production in PRODUCTS:
        spec = ProductSpec(
            sku=sku,
            name=name,
            category=category,
            price=Decimal(price),
            currency="EUR",
            weight_kg=Decimal(weight),
            unit_cost=Decimal(cost),
            fulfilment="made_to_order" if production else "made_to_stock",
            production_days=production,
        )
        if _ignore_duplicate(lambda s=spec: catalog.create_product(ctx, s)):
            added += 1
            if not production:
                for code, quantity in STOCK.items():
                    inventory.receive_stock(
                        ctx,
                        sku=sku,
                        warehouse=code,
                        quantity=quantity,
                        reason="opening stock",
                        actor="sample-data",
                    )
    _ignore_duplicate(
        lambda: customers.create_customer(
            ctx,
            CustomerSpec("ada@example.org", "Ada Lindqvist", "+49 30 1234567"),
            address=AddressInput(
                name="Ada Lindqvist",
                line1="Torstraße 12",
                city="Berlin",
                postal_code="10119",
                country="DE",
                timezone="Europe/Berlin",
            ),
        )
    )
    _ignore_duplicate(
        lambda: customers.create_customer(
            ctx,
            CustomerSpec(
                "purchasing@hotel-aurora.example",
                "Hotel Aurora GmbH",
                tier="b2b",
                credit_limit=Decimal("20000"),
                payment_terms_days=30,
            ),
            address=AddressInput(
                name="Hotel Aurora GmbH",
                line1="Seestraße 4",
                city="Hamburg",
                postal_code="20354",
                country="DE",
                timezone="Europe/Berlin",
            ),
        )
    )
    return added


def _ignore_duplicate(create: object) -> bool:
    try:
        create()  # type: ignore[operator]
    except Conflict:
        return False
    return True
