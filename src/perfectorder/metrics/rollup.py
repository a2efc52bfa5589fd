"""What one order adds to the daily rollups, and how summed rollups become rates again.

An order's stored verdict contributes one row of counts to each slice it belongs to (the whole
store, its channel, tier, and each of its warehouses, carriers and product categories), keyed by
the day it was placed. Refreshing an order subtracts its old contribution and adds the new one, so
the rollups always equal a rebuild from scratch. Final versus provisional is decided when a report
is read, from the day the verdict becomes final, so the rollups never go stale with time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from perfectorder.metrics.kpis import OrderKpiFacts
from perfectorder.metrics.perfect_order import COMPONENTS, Failure, Verdict, VerdictState
from perfectorder.metrics.rates import ComponentRate, PerfectOrderRates

DIMENSIONS = ("all", "channel", "warehouse", "carrier", "category", "tier")
# Counted per rollup row; the component columns are "<component>_evaluated" / "<component>_failed".
COUNTS = (
    "placed",
    "whole",
    "perfect",
    *(f"{c}_{kind}" for c in COMPONENTS for kind in ("evaluated", "failed")),
    "lines_evaluated",
    "lines_late",
)
NEVER = date(9999, 12, 31)  # final_from of an order that is pending or cancelled


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One order's verdict as stored, with the slices it belongs to."""

    order_id: int
    placed_on: date
    channel: str
    customer_id: int
    tier: str
    warehouses: tuple[str, ...]
    carriers: tuple[str, ...]
    categories: tuple[str, ...]
    state: str  # pending, delivered or cancelled
    final_from: date  # the first day the verdict is final (NEVER unless delivered)
    components: Mapping[str, bool | None]
    failures: tuple[Failure, ...]
    kpi: OrderKpiFacts
    # Where the root causes look (metrics.root_causes): each parcel's lane, "carrier service
    # warehouse → country", and what the order cost beyond itself: its refunds (in its currency)
    # and the orders that shipped it again (reshipments of lost parcels, exchanges).
    lanes: tuple[str, ...] = ()
    currency: str = ""
    refunded: Decimal = Decimal(0)
    reshipped: int = 0
    suppliers: tuple[str, ...] = ()  # root causes only: who supplies what the order holds


def stored_state(verdict: Verdict) -> str:
    if verdict.state is VerdictState.CANCELLED:
        return "cancelled"
    if verdict.state is VerdictState.PENDING:
        return "pending"
    return "delivered"


def slices(row: VerdictRow) -> list[tuple[str, str]]:
    """(dimension, key) pairs the order counts in; an order with two carriers counts in both."""
    out = [("all", ""), ("channel", row.channel), ("tier", row.tier)]
    out += [("warehouse", w) for w in row.warehouses or ("unshipped",)]
    out += [("carrier", c) for c in row.carriers or ("unshipped",)]
    out += [("category", c) for c in row.categories or ("none",)]
    return out


def fully_measured(components: Mapping[str, bool | None]) -> bool:
    """Every component has facts: only such orders count in the perfect order rate."""
    return all(components.get(c) is not None for c in COMPONENTS)


def counts(row: VerdictRow) -> dict[str, int]:
    out = dict.fromkeys(COUNTS, 0)
    out["placed"] = 1
    if row.state != "delivered":
        return out
    whole = fully_measured(row.components)
    out["whole"] = int(whole)
    out["perfect"] = int(whole and not row.failures)
    for c in COMPONENTS:
        ok = row.components.get(c)
        if ok is not None:
            out[f"{c}_evaluated"] = 1
            out[f"{c}_failed"] = int(not ok)
    out["lines_evaluated"] = row.kpi.lines_due
    out["lines_late"] = row.kpi.lines_late
    return out


def contributions(row: VerdictRow) -> list[tuple[tuple[date, str, str, str, date], dict[str, int]]]:
    """Rollup key (day, dimension, key, state, final_from) -> counts, for every slice of the order."""
    mine = counts(row)
    return [((row.placed_on, d, k, row.state, row.final_from), mine) for d, k in slices(row)]


def sole_failures(row: VerdictRow) -> dict[tuple[str, str, str], bool]:
    """Each distinct (component, code, stage) failure, and whether fixing it alone would have made
    the order perfect (its only failure, on an order with every component measured)."""
    keys = {(f.component, f.code, f.stage) for f in row.failures}
    whole = fully_measured(row.components)
    return {k: len(keys) == 1 and whole for k in keys}


@dataclass(frozen=True, slots=True)
class Sums:
    """Summed rollup counts of one slice, split by state as of the report's day."""

    final: Mapping[str, int]
    provisional: int
    pending: int
    cancelled: int


def rates_from_sums(sums: Sums) -> PerfectOrderRates:
    final = sums.final
    components = {}
    for c in COMPONENTS:
        evaluated, failed = final.get(f"{c}_evaluated", 0), final.get(f"{c}_failed", 0)
        components[c] = ComponentRate(
            (evaluated - failed) / evaluated if evaluated else None, evaluated, failed
        )
    measured = [r.rate for r in components.values() if r.rate is not None]
    index = None
    if measured:
        index = 1.0
        for r in measured:
            index *= r
    whole = final.get("whole", 0)
    return PerfectOrderRates(
        orders=final.get("placed", 0),
        perfect=final.get("perfect", 0),
        perfect_order_rate=final.get("perfect", 0) / whole if whole else None,
        perfect_order_index=index,
        components=components,
        pending=sums.pending,
        provisional=sums.provisional,
        cancelled=sums.cancelled,
        lines_evaluated=final.get("lines_evaluated", 0),
        lines_late=final.get("lines_late", 0),
    )


def add_counts(into: dict[str, int], more: Mapping[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def merge_sums(parts: Iterable[Sums]) -> Sums:
    final: dict[str, int] = {}
    provisional = pending = cancelled = 0
    for s in parts:
        add_counts(final, s.final)
        provisional += s.provisional
        pending += s.pending
        cancelled += s.cancelled
    return Sums(final, provisional, pending, cancelled)
