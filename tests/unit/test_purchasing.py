"""The pure rules of a purchase order: its transitions, the date it keeps, the over-receipt limit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from perfectorder.domain.errors import Conflict, InvalidInput
from perfectorder.domain.purchasing import (
    POLine,
    POStatus,
    PurchaseOrder,
    RejectionReason,
    check_receipt,
    expected_date,
    receipt_limit,
    status_after_receipt,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def draft() -> PurchaseOrder:
    return PurchaseOrder(1, "PO-000001", POStatus.DRAFT, date(2026, 12, 1), date(2026, 12, 1), version=1)


def test_a_confirmation_and_a_change_move_the_current_date_and_keep_the_original():
    po = draft()
    po.send(NOW)
    po.confirm(date(2026, 12, 3), NOW)
    events = po.change_date(date(2026, 12, 9), "kiln repair")
    assert (po.original_promised_date, po.promised_date) == (date(2026, 12, 1), date(2026, 12, 9))
    assert events[0].data == {"old": "2026-12-03", "new": "2026-12-09", "reason": "kiln repair"}


def test_a_draft_cannot_be_confirmed_nor_a_cancelled_po_sent():
    po = draft()
    with pytest.raises(Conflict) as refused:
        po.confirm(date(2026, 12, 3), NOW)
    assert refused.value.code == "po_state_conflict"
    po.cancel("not needed")
    with pytest.raises(Conflict):
        po.send(NOW)


def test_a_date_change_needs_a_reason_and_a_new_date():
    po = draft()
    with pytest.raises(InvalidInput, match="why"):
        po.change_date(date(2026, 12, 9), " ")
    with pytest.raises(InvalidInput) as same:
        po.change_date(date(2026, 12, 1), "again")
    assert same.value.code == "date_unchanged"


@pytest.mark.parametrize(
    ("ordered", "percent", "limit"),
    [
        (100, Decimal(0), 100),
        (100, Decimal(5), 105),
        (20, Decimal(10), 22),
        (7, Decimal("10"), 7),
        (3, Decimal(50), 4),
    ],
)
def test_the_receipt_limit_is_ordered_plus_the_allowance_rounded_down(ordered, percent, limit):
    assert receipt_limit(ordered, percent) == limit


def test_rejected_units_need_a_reason_from_the_list_and_a_receipt_needs_units():
    assert check_receipt(5, 0, None) is None
    assert check_receipt(0, 2, "wrong_item") is RejectionReason.WRONG_ITEM
    with pytest.raises(InvalidInput) as no_reason:
        check_receipt(0, 2, "smells odd")
    assert no_reason.value.field == "reason"
    with pytest.raises(InvalidInput):
        check_receipt(0, 0, None)


def test_a_po_is_received_once_every_line_has_what_it_ordered_rejections_aside():
    short = (POLine(1, "A", 10, received_qty=10), POLine(2, "B", 5, received_qty=3, rejected_qty=2))
    assert status_after_receipt(short) is POStatus.PARTIALLY_RECEIVED
    full = (POLine(1, "A", 10, received_qty=11), POLine(2, "B", 5, received_qty=5))
    assert status_after_receipt(full) is POStatus.RECEIVED


def test_the_expected_date_counts_the_suppliers_own_working_days():
    tuesday = date(2026, 11, 24)
    assert expected_date(tuesday, lead_time_days=5, working_days="12345") == date(2026, 12, 1)
    assert expected_date(tuesday, lead_time_days=5, working_days="123456") == date(2026, 11, 30)
    with pytest.raises(InvalidInput) as bad:
        expected_date(tuesday, lead_time_days=5, working_days="1238")
    assert bad.value.code == "invalid_working_days"
