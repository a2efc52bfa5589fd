"""Stock invariants shared by the state-machine tests: read straight from the tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select

from perfectorder.adapters.db import tables as t

Key = tuple[int, int]


def stock_rows(engine: Engine) -> dict[Key, tuple[int, int]]:
    with engine.connect() as conn:
        return {
            (r.product_id, r.warehouse_id): (r.on_hand, r.reserved) for r in conn.execute(select(t.stock))
        }


def assert_no_negative_or_overreserved_stock(engine: Engine) -> None:
    s = t.stock
    with engine.connect() as conn:
        bad = conn.execute(
            select(func.count())
            .select_from(s)
            .where((s.c.on_hand < 0) | (s.c.reserved < 0) | (s.c.reserved > s.c.on_hand))
        ).scalar_one()
    assert bad == 0


def assert_ledger_adds_up(engine: Engine) -> None:
    m = t.stock_movements
    with engine.connect() as conn:
        ledger = {
            (r.product_id, r.warehouse_id): (r.on_hand, r.reserved)
            for r in conn.execute(
                select(
                    m.c.product_id,
                    m.c.warehouse_id,
                    func.sum(m.c.on_hand_delta).label("on_hand"),
                    func.sum(m.c.reserved_delta).label("reserved"),
                ).group_by(m.c.product_id, m.c.warehouse_id)
            )
        }
    assert ledger == stock_rows(engine)


def assert_reservations_belong_to_open_allocations(engine: Engine, holding: Sequence[str]) -> None:
    """Every reserved unit is held by an allocation in one of the `holding` statuses, and vice versa."""
    a = t.allocations
    with engine.connect() as conn:
        held = {
            (r.product_id, r.warehouse_id): r.units
            for r in conn.execute(
                select(a.c.product_id, a.c.warehouse_id, func.sum(a.c.quantity).label("units"))
                .where(a.c.status.in_(list(holding)) & a.c.reserves_stock)
                .group_by(a.c.product_id, a.c.warehouse_id)
            )
        }
    assert held == {key: reserved for key, (_, reserved) in stock_rows(engine).items() if reserved}
