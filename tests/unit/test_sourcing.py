from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.domain.catalog import Product, Warehouse
from perfectorder.domain.errors import InsufficientStock
from perfectorder.domain.sourcing import plan_sourcing
from perfectorder.domain.values import FulfilmentMode, Money
from perfectorder.domain.verification import VerifiedLine

NEAR = Warehouse(1, "NEAR", "UTC", 0, time(15), priority=1, daily_capacity=None)
FAR = Warehouse(2, "FAR", "UTC", 1, time(15), priority=2, daily_capacity=None)


def product(pid: int, mode: FulfilmentMode = FulfilmentMode.MADE_TO_STOCK) -> Product:
    return Product(pid, f"SKU-{pid}", "thing", Money(Decimal("5"), "EUR"), True, mode, 3, 10)


def line(no: int, pid: int, qty: int, mode: FulfilmentMode = FulfilmentMode.MADE_TO_STOCK) -> VerifiedLine:
    return VerifiedLine(no, product(pid, mode), qty, Money(Decimal("5"), "EUR"))


def test_one_warehouse_that_fills_everything_wins_over_priority():
    available = {(1, 1): 5, (2, 1): 0, (1, 2): 5, (2, 2): 5}
    plan = plan_sourcing([line(1, 1, 2), line(2, 2, 1)], [NEAR, FAR], available, allow_backorder=False)
    assert {a.warehouse_id for a in plan.allocations} == {2}


def test_the_preferred_warehouse_is_used_when_it_can_fill_the_order():
    available = {(1, 1): 5, (1, 2): 5}
    plan = plan_sourcing([line(1, 1, 2)], [FAR, NEAR], available, allow_backorder=False)
    assert [a.warehouse_id for a in plan.allocations] == [1]


def test_a_line_is_split_only_when_no_single_warehouse_has_it():
    available = {(1, 1): 3, (1, 2): 4}
    plan = plan_sourcing([line(1, 1, 6)], [NEAR, FAR], available, allow_backorder=False)
    assert sorted((a.warehouse_id, a.quantity) for a in plan.allocations) == [(1, 3), (2, 3)]


def test_missing_units_are_refused_without_a_backorder_policy():
    with pytest.raises(InsufficientStock) as refused:
        plan_sourcing([line(1, 1, 9)], [NEAR, FAR], {(1, 1): 3, (1, 2): 4}, allow_backorder=False)
    assert refused.value.field == "lines[0].quantity"
    assert refused.value.details["available"] == 7


def test_a_refusal_names_every_short_line_as_lost_demand():
    available = {(1, 1): 3, (1, 2): 4, (2, 1): 9, (3, 2): 1}
    lines = [line(1, 1, 9), line(2, 2, 2), line(3, 3, 5)]
    with pytest.raises(InsufficientStock) as refused:
        plan_sourcing(lines, [FAR, NEAR], available, allow_backorder=False)
    # The caller hears of the first; every short line is lost demand, at the warehouse of highest
    # priority (NEAR, whatever order the warehouses come in).
    assert refused.value.details["sku"] == "SKU-1"
    assert [(x.line_no, x.sku, x.requested, x.available, x.warehouse_id) for x in refused.value.lost] == [
        (1, "SKU-1", 9, 7, 1),
        (3, "SKU-3", 5, 1, 1),
    ]
    assert refused.value.lost[0].unit_price == Money(Decimal("5"), "EUR")


def test_missing_units_become_a_backorder_when_allowed():
    plan = plan_sourcing([line(1, 1, 9)], [NEAR, FAR], {(1, 1): 3, (1, 2): 4}, allow_backorder=True)
    assert plan.backorders == {1: 2}
    assert sum(a.quantity for a in plan.allocations) == 7


def test_made_to_order_lines_take_no_stock_and_follow_the_order():
    plan = plan_sourcing(
        [line(1, 1, 1), line(2, 9, 1, FulfilmentMode.MADE_TO_ORDER)],
        [NEAR, FAR],
        {(1, 2): 1},
        allow_backorder=False,
    )
    made = [a for a in plan.allocations if not a.reserves_stock]
    assert made[0].warehouse_id == 2 and made[0].quantity == 1


@given(
    wanted=st.lists(st.integers(1, 20), min_size=1, max_size=4),
    stock=st.lists(st.integers(0, 25), min_size=8, max_size=8),
)
def test_a_plan_never_takes_more_than_is_available_and_accounts_for_every_unit(wanted, stock):
    lines = [line(i + 1, i + 1, q) for i, q in enumerate(wanted)]
    available = {(pid, wid): stock[(pid - 1) * 2 + wid - 1] for pid in range(1, 5) for wid in (1, 2)}
    plan = plan_sourcing(lines, [NEAR, FAR], available, allow_backorder=True)
    for (pid, wid), units in available.items():
        taken = sum(a.quantity for a in plan.allocations if (a.product_id, a.warehouse_id) == (pid, wid))
        assert taken <= units
    for ln in lines:
        allocated = sum(a.quantity for a in plan.allocations if a.line_no == ln.line_no)
        assert allocated + plan.backorders.get(ln.line_no, 0) == ln.quantity
