"""Stage "received / verified": an order is checked in full before anything is written.

Every rule names the field it is about, so the caller can fix exactly that. All failures are
collected; the first one is raised with the others in `details["errors"]`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from perfectorder.domain.catalog import Product
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.orders import AddressInput, PlaceOrder
from perfectorder.domain.values import (
    Address,
    Channel,
    Money,
    has_valid_scale,
    in_minor_units,
    is_known_currency,
)

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
REQUIRED_ADDRESS_PARTS = ("name", "line1", "city", "postal_code", "country")


@dataclass(frozen=True, slots=True)
class Limits:
    max_lines: int = 100
    max_quantity: int = 10_000
    price_override_channels: frozenset[Channel] = frozenset({Channel.PHONE, Channel.CUSTOMER_SERVICE})


@dataclass(frozen=True, slots=True)
class KnownCustomer:
    id: int
    email: str
    name: str
    default_address: Address | None


@dataclass(frozen=True, slots=True)
class VerifiedLine:
    line_no: int
    product: Product
    quantity: int
    unit_price: Money

    @property
    def amount(self) -> Money:
        return self.unit_price.times(self.quantity)


@dataclass(frozen=True, slots=True)
class VerifiedOrder:
    lines: tuple[VerifiedLine, ...]
    total: Money
    address: Address


@dataclass
class _Problems:
    found: list[InvalidInput] = field(default_factory=list)

    def add(self, code: str, message: str, field_path: str, **details: object) -> None:
        self.found.append(InvalidInput(code, message, field=field_path, details=dict(details)))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        first = self.found[0]
        if len(self.found) > 1:
            first.details["errors"] = [
                {"code": p.code, "message": p.message, "field": p.field} for p in self.found
            ]
        raise first


def verify_order(
    cmd: PlaceOrder,
    *,
    products: Mapping[str, Product],
    customer: KnownCustomer | None,
    shipping_services: Collection[str],
    limits: Limits,
    today: date,
) -> VerifiedOrder:
    """Checks the whole order; raises `InvalidInput` naming the first bad field."""
    problems = _Problems()
    _check_header(cmd, shipping_services, today, problems)
    _check_customer(cmd, customer, problems)
    address = _check_address(cmd.shipping_address, customer, problems)
    lines = _check_lines(cmd, products, limits, problems)
    problems.raise_if_any()
    assert address is not None  # no problems means an address was found
    total = Money.zero(cmd.currency)
    for line in lines:
        total = total + line.amount
    return VerifiedOrder(lines=tuple(lines), total=total, address=address)


def _check_header(cmd: PlaceOrder, services: Collection[str], today: date, problems: _Problems) -> None:
    if not cmd.external_ref.strip():
        problems.add("external_ref_required", "give the order's reference in its channel", "external_ref")
    if not is_known_currency(cmd.currency):
        problems.add("unknown_currency", f"'{cmd.currency}' is not a supported ISO 4217 code", "currency")
    if cmd.shipping_service not in services:
        problems.add(
            "unknown_shipping_service",
            f"shipping service '{cmd.shipping_service}' does not exist; use one of {sorted(services)}",
            "shipping_service",
        )
    if cmd.requested_delivery_date is not None and cmd.requested_delivery_date < today:
        problems.add(
            "requested_date_in_past",
            "the requested delivery date has already passed",
            "requested_delivery_date",
        )
    if cmd.payment is not None and cmd.payment.authorized_amount is not None:
        if cmd.payment.authorized_amount < 0:
            problems.add(
                "invalid_amount", "an authorized amount cannot be negative", "payment.authorized_amount"
            )


def _check_customer(cmd: PlaceOrder, customer: KnownCustomer | None, problems: _Problems) -> None:
    given = cmd.customer
    if given is None:
        problems.add("customer_required", "an order needs a customer (an id, or email and name)", "customer")
        return
    if given.id is not None:
        if customer is None:
            problems.add("unknown_customer", f"no customer has id {given.id}", "customer.id")
        return
    if not (given.email or "").strip():
        problems.add("customer_incomplete", "the customer's email is required", "customer.email")
    elif not EMAIL_PATTERN.match(given.email or ""):
        problems.add("invalid_email", f"'{given.email}' is not an email address", "customer.email")
    if not (given.name or "").strip():
        problems.add("customer_incomplete", "the customer's name is required", "customer.name")


def verify_address(given: AddressInput, *, prefix: str = "address") -> Address:
    """Checks an address on its own, e.g. when a customer is registered."""
    problems = _Problems()
    address = _check_address(given, None, problems, prefix=prefix)
    problems.raise_if_any()
    assert address is not None
    return address


def _check_address(
    given: AddressInput | None,
    customer: KnownCustomer | None,
    problems: _Problems,
    prefix: str = "shipping_address",
) -> Address | None:
    if given is None:
        if customer is not None and customer.default_address is not None:
            return customer.default_address
        problems.add(
            "address_required", "give a shipping address (the customer has none on file)", "shipping_address"
        )
        return None
    missing = [part for part in REQUIRED_ADDRESS_PARTS if not (getattr(given, part) or "").strip()]
    for part in missing:
        problems.add(
            "address_incomplete", f"the address needs a {part.replace('_', ' ')}", f"{prefix}.{part}"
        )
    country = (given.country or "").strip().upper()
    if country and not COUNTRY_PATTERN.match(country):
        problems.add(
            "invalid_country", f"'{given.country}' is not a two-letter ISO country code", f"{prefix}.country"
        )
    timezone = (given.timezone or "UTC").strip() or "UTC"
    if not _is_timezone(timezone):
        problems.add("invalid_timezone", f"'{timezone}' is not an IANA time zone", f"{prefix}.timezone")
    if missing:
        return None
    return Address(
        name=(given.name or "").strip(),
        line1=(given.line1 or "").strip(),
        line2=(given.line2 or "").strip(),
        city=(given.city or "").strip(),
        region=(given.region or "").strip(),
        postal_code=(given.postal_code or "").strip(),
        country=country,
        phone=(given.phone or "").strip(),
        timezone=timezone,
    )


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_lines(
    cmd: PlaceOrder, products: Mapping[str, Product], limits: Limits, problems: _Problems
) -> list[VerifiedLine]:
    if not cmd.lines:
        problems.add("no_lines", "an order needs at least one line", "lines")
        return []
    if len(cmd.lines) > limits.max_lines:
        problems.add(
            "too_many_lines",
            f"an order may have at most {limits.max_lines} lines; split it",
            "lines",
            limit=limits.max_lines,
        )
        return []
    verified: list[VerifiedLine] = []
    seen: set[str] = set()
    for index, line in enumerate(cmd.lines):
        where = f"lines[{index}]"
        if line.sku in seen:
            problems.add(
                "duplicate_line",
                f"SKU {line.sku} appears twice; put the whole quantity on one line",
                f"{where}.sku",
            )
            continue
        seen.add(line.sku)
        if line.quantity <= 0:
            problems.add("invalid_quantity", "quantity must be at least 1", f"{where}.quantity")
        elif line.quantity > limits.max_quantity:
            problems.add(
                "quantity_above_limit",
                f"at most {limits.max_quantity} units per line",
                f"{where}.quantity",
                limit=limits.max_quantity,
            )
        checked = _check_product_and_price(cmd, index, line.sku, line.unit_price, products, limits, problems)
        if checked is not None and line.quantity > 0:
            product, price = checked
            verified.append(VerifiedLine(index + 1, product, line.quantity, price))
    return verified


def _check_product_and_price(
    cmd: PlaceOrder,
    index: int,
    sku: str,
    unit_price: Decimal | None,
    products: Mapping[str, Product],
    limits: Limits,
    problems: _Problems,
) -> tuple[Product, Money] | None:
    where = f"lines[{index}]"
    product = products.get(sku)
    if product is None:
        problems.add("unknown_sku", f"no product has SKU '{sku}'", f"{where}.sku")
        return None
    if not product.active:
        problems.add("inactive_sku", f"product {sku} is no longer sold", f"{where}.sku")
        return None
    if product.price.currency != cmd.currency:
        problems.add(
            "currency_mismatch",
            f"{sku} is priced in {product.price.currency}, the order is in {cmd.currency}",
            "currency",
        )
        return None
    if unit_price is None:
        return product, product.price
    if unit_price < 0 or not has_valid_scale(unit_price, cmd.currency):
        problems.add(
            "invalid_price", f"{unit_price} is not a valid {cmd.currency} price", f"{where}.unit_price"
        )
        return None
    if unit_price != product.price.amount and cmd.channel not in limits.price_override_channels:
        problems.add(
            "price_mismatch",
            f"{sku} costs {product.price.amount} {cmd.currency}, not {unit_price}; refresh the catalog",
            f"{where}.unit_price",
            catalog_price=str(product.price.amount),
        )
        return None
    return product, Money(in_minor_units(unit_price, cmd.currency), cmd.currency)
