"""Stage "approved", part one: which warehouse ships which quantity.

Prefer one warehouse that fills the whole order (fewer parcels, one promise); otherwise split
line by line in warehouse priority order; what nobody has is backordered, when allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from perfectorder.domain.catalog import Warehouse
from perfectorder.domain.errors import InsufficientStock
from perfectorder.domain.values import FulfilmentMode, Money
from perfectorder.domain.verification import VerifiedLine


@dataclass(frozen=True, slots=True)
class Allocation:
    line_no: int
    product_id: int
    warehouse_id: int
    quantity: int
    # Made-to-order lines are built for the order: nothing is taken from stock.
    reserves_stock: bool = True


@dataclass(frozen=True, slots=True)
class LostLine:
    """A line refused for lack of stock: demand the store could not serve."""

    line_no: int
    product_id: int
    sku: str
    warehouse_id: int  # the warehouse that would have shipped it first
    requested: int
    available: int  # what every warehouse together could still promise
    unit_price: Money


@dataclass(frozen=True, slots=True)
class SourcingPlan:
    allocations: tuple[Allocation, ...]
    backorders: Mapping[int, int]  # line_no -> quantity nobody can ship now

    @property
    def warehouse_ids(self) -> list[int]:
        return sorted({a.warehouse_id for a in self.allocations})


def plan_sourcing(
    lines: Sequence[VerifiedLine],
    warehouses: Sequence[Warehouse],
    available: Mapping[tuple[int, int], int],
    *,
    allow_backorder: bool,
) -> SourcingPlan:
    """`available` maps (product_id, warehouse_id) to what can still be promised."""
    ranked = sorted(warehouses, key=lambda w: (w.priority, w.id))
    if not ranked:
        raise InsufficientStock("no warehouse is set up to ship from", field="lines")
    stocked = [line for line in lines if line.product.fulfilment is FulfilmentMode.MADE_TO_STOCK]
    whole = _single_warehouse(stocked, ranked, available)
    if whole is not None:
        allocations = [Allocation(ln.line_no, ln.product.id, whole.id, ln.quantity) for ln in stocked]
        backorders: dict[int, int] = {}
    else:
        allocations, backorders = _split(stocked, ranked, available, allow_backorder)
    home = allocations[0].warehouse_id if allocations else ranked[0].id
    for line in lines:
        if line.product.fulfilment is FulfilmentMode.MADE_TO_ORDER:
            allocations.append(
                Allocation(line.line_no, line.product.id, home, line.quantity, reserves_stock=False)
            )
    allocations.sort(key=lambda a: a.line_no)
    return SourcingPlan(tuple(allocations), backorders)


def _single_warehouse(
    lines: Sequence[VerifiedLine], ranked: Sequence[Warehouse], available: Mapping[tuple[int, int], int]
) -> Warehouse | None:
    if not lines:
        return None
    for warehouse in ranked:
        if all(available.get((ln.product.id, warehouse.id), 0) >= ln.quantity for ln in lines):
            return warehouse
    return None


def _split(
    lines: Sequence[VerifiedLine],
    ranked: Sequence[Warehouse],
    available: Mapping[tuple[int, int], int],
    allow_backorder: bool,
) -> tuple[list[Allocation], dict[int, int]]:
    allocations: list[Allocation] = []
    backorders: dict[int, int] = {}
    short: list[tuple[int, VerifiedLine, int]] = []
    for index, line in enumerate(lines):
        remaining = line.quantity
        # A warehouse that can ship the whole line beats splitting the line itself.
        order = sorted(ranked, key=lambda w: available.get((line.product.id, w.id), 0) < line.quantity)
        for warehouse in order:
            take = min(remaining, available.get((line.product.id, warehouse.id), 0))
            if take > 0:
                allocations.append(Allocation(line.line_no, line.product.id, warehouse.id, take))
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            short.append((index, line, remaining))
            backorders[line.line_no] = remaining
    if short and not allow_backorder:
        # Every short line is named, not only the first: each is demand the store lost.
        index, line, remaining = short[0]
        raise InsufficientStock(
            f"only {line.quantity - remaining} of {line.quantity} x {line.product.sku} "
            "can be promised; order less or allow a backorder",
            field=f"lines[{line.line_no - 1}].quantity",
            details={
                "sku": line.product.sku,
                "requested": line.quantity,
                "available": line.quantity - remaining,
                "line_index": index,
            },
            lost=tuple(
                LostLine(
                    ln.line_no,
                    ln.product.id,
                    ln.product.sku,
                    ranked[0].id,
                    ln.quantity,
                    ln.quantity - left,
                    ln.unit_price,
                )
                for _, ln, left in short
            ),
        )
    return allocations, backorders
