"""Stage "approved", part two: is the money trusted? Otherwise say exactly which hold applies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perfectorder.domain.orders import Hold, HoldReason, PaymentInput
from perfectorder.domain.values import Money, PaymentMethod, PaymentStatus


@dataclass(frozen=True, slots=True)
class CreditPosition:
    limit: Decimal
    open_balance: Decimal


@dataclass(frozen=True, slots=True)
class RiskRules:
    # Orders above this total wait for a person to look at them.
    review_above: Decimal = Decimal("10000")


def decide_holds(
    *,
    total: Money,
    payment: PaymentInput | None,
    credit: CreditPosition | None,
    risk: RiskRules,
    backordered_units: int,
) -> list[Hold]:
    """Returns the holds the order starts with; none means it is approved."""
    holds: list[Hold] = []
    payment_hold = _payment_hold(total, payment, credit)
    if payment_hold is not None:
        holds.append(payment_hold)
    if total.amount > risk.review_above:
        holds.append(
            Hold(HoldReason.RISK, f"total {total.amount} {total.currency} is above the review limit")
        )
    if backordered_units > 0:
        holds.append(Hold(HoldReason.STOCK, f"{backordered_units} unit(s) wait for stock"))
    return holds


def _payment_hold(total: Money, payment: PaymentInput | None, credit: CreditPosition | None) -> Hold | None:
    if payment is None:
        return Hold(HoldReason.PAYMENT, "no payment was given")
    if payment.method is PaymentMethod.INVOICE:
        if credit is None or credit.limit <= 0:
            return Hold(HoldReason.CREDIT, "the customer has no credit line")
        if credit.open_balance + total.amount > credit.limit:
            return Hold(
                HoldReason.CREDIT,
                f"open balance {credit.open_balance} + {total.amount} "
                f"exceeds the credit limit {credit.limit}",
            )
        return None
    if payment.method is PaymentMethod.CASH_ON_DELIVERY:
        return None
    if payment.status is PaymentStatus.DECLINED:
        return Hold(HoldReason.PAYMENT, "the payment was declined")
    if payment.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        return Hold(HoldReason.PAYMENT, "the payment is not authorized yet")
    if payment.authorized_amount is None or payment.authorized_amount < total.amount:
        return Hold(HoldReason.PAYMENT, f"authorized {payment.authorized_amount} is less than {total.amount}")
    return None
