"""Amounts as the dashboard shows them: exact storage, money's own number of decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perfectorder.web.common import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("545.3400"), "EUR", "545.34 EUR"),
        (Decimal("1234.5"), "EUR", "1,234.50 EUR"),
        (Decimal("0.125"), "EUR", "0.12 EUR"),  # half to even, as accountants round
        (Decimal("0.135"), "EUR", "0.14 EUR"),
        (Decimal("1500.0000"), "JPY", "1,500 JPY"),
        (Decimal("1.2345"), "KWD", "1.234 KWD"),
        (Decimal("20000"), "", "20,000.00"),
        (None, "EUR", "–"),
    ],
)
def test_amounts_show_with_the_currencys_decimals(amount, currency, shown):
    assert money(amount, currency) == shown
