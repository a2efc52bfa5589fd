"""Value objects shared by the whole domain."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Channel(enum.StrEnum):
    WEB = "web"
    MARKETPLACE = "marketplace"
    PHONE = "phone"
    EMAIL = "email"
    STORE = "store"
    CUSTOMER_SERVICE = "customer_service"
    IMPORT = "import"


class FulfilmentMode(enum.StrEnum):
    MADE_TO_STOCK = "made_to_stock"
    MADE_TO_ORDER = "made_to_order"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    WALLET = "wallet"
    BANK_TRANSFER = "bank_transfer"
    CASH_ON_DELIVERY = "cash_on_delivery"
    # Pay later against the customer's credit limit (B2B terms).
    INVOICE = "invoice"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    DECLINED = "declined"


class BackorderPolicy(enum.StrEnum):
    REJECT = "reject"
    ALLOW = "allow"


class Tier(enum.StrEnum):
    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    B2B = "b2b"


# Minor-unit exponents for the currencies we price in; an unknown code is refused, not guessed.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "BRL": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "MXN": 2,
    "INR": 2,
    "CNY": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
}


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    @staticmethod
    def zero(currency: str) -> Money:
        return Money(Decimal(0), currency)


def is_known_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """The amount written with exactly the currency's decimals (12.9 EUR -> 12.90)."""
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2)))


def has_valid_scale(amount: Decimal, currency: str) -> bool:
    """True when `amount` uses no more decimal places than the currency has."""
    exponent = amount.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return places <= CURRENCY_EXPONENTS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""
    phone: str = ""
    timezone: str = "UTC"
