"""What a failure costs: handling per failed order, a penalty per component, each recorded
reshipment, and the refunds its orders actually got.

The amounts are the merchant's own estimates (PERFECTORDER_FAILURE_COSTS) in one currency
(PERFECTORDER_FAILURE_COST_CURRENCY); refunds are what was recorded. Refunds in another currency
are reported beside the cost, not converted: a rate of the day would make last month's ranking
change with today's market.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from perfectorder.domain.values import CURRENCY_EXPONENTS, has_valid_scale, in_minor_units, is_known_currency
from perfectorder.metrics.measures import COMPONENTS

# Whole amounts, so the defaults stand in any currency, JPY included (set them with the currency).
DEFAULT_FAILURE_COSTS = "handling=4,reship=12,on_time=3"
DEFAULT_COST_CURRENCY = "EUR"
_PER_ORDER = ("handling", "reship")


@dataclass(frozen=True, slots=True)
class FailureCosts:
    """Handling per failed order, the cost of one reshipment, and a penalty per failed order by
    component (a voucher for lateness, a carrier's or marketplace's charge); absent is zero."""

    currency: str = DEFAULT_COST_CURRENCY
    handling: Decimal = Decimal("4.00")
    reship: Decimal = Decimal("12.00")
    penalties: Mapping[str, Decimal] = field(default_factory=lambda: {"on_time": Decimal("3.00")})

    def penalty(self, component: str) -> Decimal:
        return self.penalties.get(component, Decimal(0))


@dataclass(frozen=True, slots=True)
class FailureCost:
    currency: str
    handling: Decimal  # orders x handling
    penalties: Decimal  # orders x the component's penalty
    reshipments: Decimal  # recorded reshipments x reship
    refunds: Decimal  # refunds recorded on the orders, in `currency`
    # Refunds recorded in other currencies: reported, not converted, not in the total.
    unconverted_refunds: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.handling + self.penalties + self.reshipments + self.refunds


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount in the currency's minor units (12.34 EUR -> 1234), rounded half to even."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return int((amount.scaleb(exponent)).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_minor(minor: int, currency: str) -> Decimal:
    return in_minor_units(Decimal(minor).scaleb(-CURRENCY_EXPONENTS.get(currency, 2)), currency)


def failure_cost(
    component: str, orders: int, reshipped: int, refunded_minor: Mapping[str, int], costs: FailureCosts
) -> FailureCost:
    """The cost of a failure that made `orders` orders imperfect, `reshipped` of whose parcels were
    shipped again, with the refunds of those orders per currency (minor units)."""
    money = costs.currency
    return FailureCost(
        currency=money,
        handling=in_minor_units(costs.handling * orders, money),
        penalties=in_minor_units(costs.penalty(component) * orders, money),
        reshipments=in_minor_units(costs.reship * reshipped, money),
        refunds=from_minor(refunded_minor.get(money, 0), money),
        unconverted_refunds={
            c: from_minor(n, c) for c, n in sorted(refunded_minor.items()) if c != money and n
        },
    )


def parse_failure_costs(text: str, currency: str = DEFAULT_COST_CURRENCY) -> FailureCosts:
    """ "handling=4.00,reship=12.00,on_time=3.00,damaged=0": amounts in `currency`, with no more
    decimals than it has; a component left out costs no penalty. Refuses anything else, naming it."""
    money = currency.strip().upper()
    if not is_known_currency(money):
        raise ValueError(f"PERFECTORDER_FAILURE_COST_CURRENCY: {currency!r} is not a currency we price in")
    amounts: dict[str, Decimal] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, _, value = (part.strip() for part in entry.partition("="))
        if name not in (*_PER_ORDER, *COMPONENTS):
            known = ", ".join((*_PER_ORDER, *COMPONENTS))
            raise ValueError(f"PERFECTORDER_FAILURE_COSTS: {entry!r} names none of {known}")
        if name in amounts:
            raise ValueError(f"PERFECTORDER_FAILURE_COSTS: {name} is given twice; give it once")
        amounts[name] = _amount(entry, value, money)
    return FailureCosts(
        currency=money,
        handling=amounts.pop("handling", Decimal(0)),
        reship=amounts.pop("reship", Decimal(0)),
        penalties=amounts,
    )


def _amount(entry: str, value: str, currency: str) -> Decimal:
    # Plain digits only: Decimal alone would take "1_000", "1e3" and "-0".
    plain = value.replace(".", "", 1).isdigit() and value.isascii()
    try:
        amount = Decimal(value) if plain else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or amount > 1_000_000:
        raise ValueError(f"PERFECTORDER_FAILURE_COSTS: {entry!r} is not NAME=AMOUNT (0 to 1,000,000)")
    if not has_valid_scale(amount, currency):
        raise ValueError(f"PERFECTORDER_FAILURE_COSTS: {entry!r} has more decimals than {currency} has")
    return in_minor_units(amount, currency)
