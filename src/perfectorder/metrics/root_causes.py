"""Where each failure concentrates: its share of the failed orders in a slice (a lane, carrier,
warehouse, supplier, category, channel or customer tier) against the slice's share of all orders.

A delivered order adds, per slice it belongs to, one count to the pseudo-failure ALL (every
order: the denominators) and one to each distinct failure it has, keyed by the day it was placed
and the day its verdict became final, as the other rollups are. Summed over the final orders of
a period, the counts answer, for a failure that F of N orders had and a slice holding n of those
F and m of the N:

    share of failures n/F, share of orders m/N, lift (n/F)/(m/N), excess n - F·m/N

and a binomial z of n against F draws at m/N. Slices are ranked by excess: the failed orders the
slice has beyond its share, so a large slice with a real concentration comes before a tiny one
that happens to have a single failure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from perfectorder.metrics.failure_cost import FailureCost, FailureCosts, failure_cost, to_minor
from perfectorder.metrics.rollup import VerdictRow

FailureKey = tuple[str, str, str]  # (component, code, stage)
ALL: FailureKey = ("*", "*", "*")
# The slices shown, in the order ties are broken; "currency" only carries refunds per currency.
DIMENSIONS = ("lane", "carrier", "warehouse", "supplier", "category", "channel", "tier")
CURRENCY = "currency"
FAILURE_COUNTS = ("orders", "refunded_minor", "reshipped")
# (day placed, final from, component, code, stage, dimension, key)
RollupKey = tuple[date, date, str, str, str, str, str]
SHOWN = 5
SIGNIFICANT_Z = 1.96  # about a 1 in 40 chance that so many would land in the slice by chance
# Below this many failed orders in a slice the normal approximation behind z says little: a slice
# of one order that failed has a z of 4 among 50 failures of 1,000 orders, a 1 in 20 chance.
SIGNIFICANT_MIN = 5


def lane_label(carrier: str, service: str, warehouse: str, country: str) -> str:
    """A lane as people say it: "GLS economy WH-1 → AT"."""
    return f"{carrier} {service} {warehouse} → {country or '?'}"


def failure_slices(row: VerdictRow) -> list[tuple[str, str]]:
    """(dimension, key) pairs the order counts in; an order with two lanes counts in both."""
    out = [("channel", row.channel), ("tier", row.tier)]
    out += [("warehouse", w) for w in row.warehouses or ("unshipped",)]
    out += [("carrier", c) for c in row.carriers or ("unshipped",)]
    out += [("supplier", s) for s in row.suppliers or ("none",)]
    out += [("category", c) for c in row.categories or ("none",)]
    out += [("lane", x) for x in row.lanes or ("unshipped",)]
    out.append((CURRENCY, row.currency or "none"))
    return list(dict.fromkeys(out))


def failure_contributions(row: VerdictRow) -> dict[RollupKey, tuple[int, int, int]]:
    """What one order adds to the failure rollups: (orders, refunded minor units, reshipments) per
    key. Only delivered orders add anything: only their failures are ever final."""
    if row.state != "delivered":
        return {}
    refunded = to_minor(row.refunded, row.currency) if row.currency else 0
    failures = [ALL, *sorted({(f.component, f.code, f.stage) for f in row.failures})]
    return {
        (row.placed_on, row.final_from, *failure, dimension, key): (
            1,
            refunded if dimension == CURRENCY else 0,
            row.reshipped,
        )
        for failure in failures
        for dimension, key in failure_slices(row)
    }


def summed(rows: Iterable[VerdictRow]) -> dict[tuple[FailureKey, str, str], tuple[int, int, int]]:
    """The rollups of these orders added up per (failure, dimension, key): what the stored rollups
    of the same final orders sum to."""
    out: dict[tuple[FailureKey, str, str], tuple[int, int, int]] = {}
    for row in rows:
        for (_, _, c, code, stage, dimension, key), counts in failure_contributions(row).items():
            was = out.get(((c, code, stage), dimension, key), (0, 0, 0))
            out[((c, code, stage), dimension, key)] = (
                was[0] + counts[0],
                was[1] + counts[1],
                was[2] + counts[2],
            )
    return out


@dataclass(frozen=True, slots=True)
class Concentration:
    dimension: str
    key: str
    failed: int  # n: the failure's orders in the slice
    orders: int  # m: the slice's final orders
    share_of_failures: float  # n / F
    share_of_orders: float  # m / N
    lift: float | None  # (n/F) / (m/N)
    excess: float  # n - F·m/N: failed orders beyond the slice's share
    z: float | None  # binomial z of n against F draws at m/N; None when m is 0 or N

    @property
    def significant(self) -> bool:
        return self.z is not None and self.z >= SIGNIFICANT_Z and self.failed >= SIGNIFICANT_MIN

    @property
    def label(self) -> str:
        return self.key if self.dimension == "lane" else f"{self.dimension} {self.key}"

    @property
    def sentence(self) -> str:
        """ "62% of it is GLS economy WH-1 → AT, which carries 9% of orders"."""
        return (
            f"{percent(self.share_of_failures)} of it is {self.label}, "
            f"which carries {percent(self.share_of_orders)} of orders"
        )


def percent(share: float) -> str:
    if 0 < share < 0.01:
        return "under 1%"
    return f"{round(share * 100)}%"


def concentration(dimension: str, key: str, n: int, m: int, failed: int, total: int) -> Concentration:
    """One slice of a failure that `failed` (F) of `total` (N) final orders had."""
    p = m / total if total else 0.0
    expected = failed * p
    spread = math.sqrt(failed * p * (1 - p))
    return Concentration(
        dimension=dimension,
        key=key,
        failed=n,
        orders=m,
        share_of_failures=n / failed if failed else 0.0,
        share_of_orders=p,
        lift=(n / failed) / p if failed and p else None,
        excess=n - expected,
        z=(n - expected) / spread if spread else None,
    )


def ranked_concentrations(
    failed_in: Mapping[tuple[str, str], int],
    orders_in: Mapping[tuple[str, str], int],
    failed: int,
    total: int,
    *,
    limit: int = SHOWN,
) -> list[Concentration]:
    """The slices where the failure is over-represented (positive excess), most excess first."""
    rank = {d: i for i, d in enumerate(DIMENSIONS)}
    found = [
        concentration(d, k, n, orders_in.get((d, k), 0), failed, total)
        for (d, k), n in failed_in.items()
        if d in rank
    ]
    found = [c for c in found if c.excess > 1e-9]
    found.sort(key=lambda c: (-c.excess, -(c.z or 0.0), rank[c.dimension], c.key))
    return found[:limit]


@dataclass(frozen=True, slots=True)
class RootCauses:
    failure: FailureKey
    failed: int  # F: final orders with the failure
    orders: int  # N: final orders of the period
    concentrations: tuple[Concentration, ...]
    reshipped: int
    cost: FailureCost


def without_slices(failure: FailureKey, failed: int, costs: FailureCosts) -> RootCauses:
    """A failure the rollups read did not hold yet (judged between two reads): its orders' handling
    and penalties, nothing known of where it was."""
    return RootCauses(failure, failed, 0, (), 0, failure_cost(failure[0], failed, 0, {}, costs))


def root_causes(
    sums: Mapping[tuple[FailureKey, str, str], tuple[int, int, int]],
    costs: FailureCosts,
    *,
    limit: int = SHOWN,
) -> dict[FailureKey, RootCauses]:
    """Every failure's concentrations and cost, from the summed rollups of a period's final orders
    ((failure, dimension, key) -> (orders, refunded minor units, reshipments))."""
    orders_in: dict[tuple[str, str], int] = {}
    by_failure: dict[FailureKey, dict[tuple[str, str], tuple[int, int, int]]] = {}
    for (failure, dimension, key), counts in sums.items():
        if failure == ALL:
            orders_in[(dimension, key)] = counts[0]
        else:
            by_failure.setdefault(failure, {})[(dimension, key)] = counts
    total = sum(n for (d, _), n in orders_in.items() if d == CURRENCY)
    out = {}
    for failure, slices in by_failure.items():
        # Every order has exactly one currency: its rows hold the failure's totals.
        money = {k: counts for (d, k), counts in slices.items() if d == CURRENCY}
        failed = sum(c[0] for c in money.values())
        reshipped = sum(c[2] for c in money.values())
        refunds = {k: c[1] for k, c in money.items() if c[1]}
        out[failure] = RootCauses(
            failure=failure,
            failed=failed,
            orders=total,
            concentrations=tuple(
                ranked_concentrations(
                    {s: c[0] for s, c in slices.items()}, orders_in, failed, total, limit=limit
                )
            ),
            reshipped=reshipped,
            cost=failure_cost(failure[0], failed, reshipped, refunds, costs),
        )
    return out
