from decimal import Decimal

from perfectorder.domain.approval import CreditPosition, RiskRules, decide_holds
from perfectorder.domain.orders import HoldReason, PaymentInput
from perfectorder.domain.values import Money, PaymentMethod, PaymentStatus

TOTAL = Money(Decimal("120.00"), "EUR")
RISK = RiskRules(review_above=Decimal("5000"))


def reasons(**kwargs) -> list[HoldReason]:
    defaults = {"total": TOTAL, "payment": None, "credit": None, "risk": RISK, "backordered_units": 0}
    return [h.reason for h in decide_holds(**{**defaults, **kwargs})]


def test_an_authorized_card_payment_covering_the_total_is_approved():
    card = PaymentInput(PaymentMethod.CARD, PaymentStatus.AUTHORIZED, Decimal("120.00"))
    assert reasons(payment=card) == []


def test_a_short_or_declined_or_missing_payment_is_held_for_payment():
    short = PaymentInput(PaymentMethod.CARD, PaymentStatus.AUTHORIZED, Decimal("119.99"))
    declined = PaymentInput(PaymentMethod.CARD, PaymentStatus.DECLINED, Decimal("120.00"))
    assert reasons(payment=short) == [HoldReason.PAYMENT]
    assert reasons(payment=declined) == [HoldReason.PAYMENT]
    assert reasons(payment=None) == [HoldReason.PAYMENT]


def test_invoice_orders_are_approved_within_the_credit_limit_and_held_beyond_it():
    invoice = PaymentInput(PaymentMethod.INVOICE)
    assert reasons(payment=invoice, credit=CreditPosition(Decimal("1000"), Decimal("880"))) == []
    assert reasons(payment=invoice, credit=CreditPosition(Decimal("1000"), Decimal("880.01"))) == [
        HoldReason.CREDIT
    ]
    assert reasons(payment=invoice, credit=None) == [HoldReason.CREDIT]


def test_large_orders_and_backorders_add_their_own_holds():
    cod = PaymentInput(PaymentMethod.CASH_ON_DELIVERY)
    big = Money(Decimal("5000.01"), "EUR")
    assert reasons(total=big, payment=cod, backordered_units=2) == [HoldReason.RISK, HoldReason.STOCK]
