"""Stage "received / verified": an order is checked in full before anything is written.

Every rule names the field it is about, so the caller can fix exactly that. All failures are
collected; the first one is raised with the others in `details["errors"]`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from perfectorder.domain.catalog import Product
from perfectorder.domain.countries import country_code
from perfectorder.domain.emails import email_problem
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.orders import AddressInput, PlaceOrder
from perfectorder.domain.promise import OnTimeTerms
from perfectorder.domain.text import bad_character, describe, text_message
from perfectorder.domain.values import (
    Address,
    Channel,
    Money,
    has_valid_scale,
    in_minor_units,
    is_known_currency,
)

REQUIRED_ADDRESS_PARTS = ("name", "line1", "city", "postal_code", "country")


@dataclass(frozen=True, slots=True)
class Limits:
    max_lines: int = 100
    max_quantity: int = 10_000
    # How far ahead a customer may ask for delivery (and an operator may move a date): beyond it
    # a date is a typo such as 9999-12-31, not a plan, and would become the order's promise.
    max_promise_days: int = 365
    price_override_channels: frozenset[Channel] = frozenset({Channel.PHONE, Channel.CUSTOMER_SERVICE})
    # The on-time terms of each channel's orders, unless their customer has terms of their own.
    on_time_terms: Mapping[str, OnTimeTerms] = field(default_factory=dict)


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
    _check_text(cmd, problems)
    _check_header(cmd, shipping_services, today, limits, problems)
    _check_customer(cmd, customer, problems)
    address = _check_address(cmd.shipping_address, customer, problems)
    lines = _check_lines(cmd, products, limits, problems)
    problems.raise_if_any()
    assert address is not None  # no problems means an address was found
    total = Money.zero(cmd.currency)
    for line in lines:
        total = total + line.amount
    return VerifiedOrder(lines=tuple(lines), total=total, address=address)


def check_order_text(cmd: PlaceOrder) -> None:
    """The control-character rule alone, for callers that look things up by the order's text first."""
    problems = _Problems()
    _check_text(cmd, problems)
    if cmd.shipping_address is not None:
        for part in fields(cmd.shipping_address):
            value = getattr(cmd.shipping_address, part.name)
            _check_characters(value, f"shipping_address.{part.name}", problems)
    problems.raise_if_any()


def _check_text(cmd: PlaceOrder, problems: _Problems) -> None:
    """Every entry point (API, import, simulator) gets the same refusal of control characters."""
    texts: list[tuple[str, str | None, bool]] = [
        ("external_ref", cmd.external_ref, False),
        ("currency", cmd.currency, False),
        ("shipping_service", cmd.shipping_service, False),
        ("note", cmd.note, True),
    ]
    texts += [(f"lines[{i}].sku", x.sku, False) for i, x in enumerate(cmd.lines)]
    if cmd.customer is not None:
        texts += [(f"customer.{n}", getattr(cmd.customer, n), False) for n in ("email", "name", "phone")]
    if cmd.payment is not None:
        texts.append(("payment.reference", cmd.payment.reference, False))
    for where, value, multiline in texts:
        _check_characters(value, where, problems, multiline=multiline)


def _check_characters(value: str | None, where: str, problems: _Problems, *, multiline: bool = False) -> None:
    found = bad_character(value, multiline=multiline) if value else None
    if found is not None:
        problems.add(
            "invalid_characters", text_message(found, multiline=multiline), where, character=describe(found)
        )


def _check_header(
    cmd: PlaceOrder, services: Collection[str], today: date, limits: Limits, problems: _Problems
) -> None:
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
    latest = today + timedelta(days=limits.max_promise_days)
    if cmd.requested_delivery_date is not None and cmd.requested_delivery_date > latest:
        problems.add(
            "requested_date_too_far",
            f"a delivery date can be requested up to {limits.max_promise_days} days ahead"
            f" (until {latest.isoformat()})",
            "requested_delivery_date",
            latest=latest.isoformat(),
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
    elif (why := email_problem((given.email or "").strip())) is not None:
        problems.add("invalid_email", invalid_email_message(why), "customer.email")
    if not (given.name or "").strip():
        problems.add("customer_incomplete", "the customer's name is required", "customer.name")


def invalid_email_message(why: str) -> str:
    return f"give one e-mail address such as name@example.com ({why})"


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
    for given_part in fields(given):
        _check_characters(getattr(given, given_part.name), f"{prefix}.{given_part.name}", problems)
    missing = [part for part in REQUIRED_ADDRESS_PARTS if not (getattr(given, part) or "").strip()]
    for part in missing:
        problems.add(
            "address_incomplete", f"the address needs a {part.replace('_', ' ')}", f"{prefix}.{part}"
        )
    country = (given.country or "").strip()
    if country:
        country = country_code(country) or ""
        if not country:
            problems.add(
                "invalid_country",
                f"'{given.country}' is not an ISO 3166-1 country code; use two letters such as DE or GB",
                f"{prefix}.country",
            )
    timezone = (given.timezone or "UTC").strip() or "UTC"
    if not _is_timezone(timezone):
        problems.add("invalid_timezone", f"'{timezone}' is not an IANA time zone", f"{prefix}.timezone")
    if missing or not country:
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
