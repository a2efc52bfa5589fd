"""Rates over many verdicts: the perfect order rate, each component's rate, the multiplicative index,
and the improvement ranking ("fix this first")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from perfectorder.metrics.perfect_order import COMPONENTS, Verdict, VerdictState


@dataclass(frozen=True, slots=True)
class ComponentRate:
    rate: float | None
    evaluated: int
    failed: int


@dataclass(frozen=True, slots=True)
class PerfectOrderRates:
    orders: int  # final verdicts counted
    perfect: int
    perfect_order_rate: float | None
    perfect_order_index: float | None
    components: dict[str, ComponentRate]
    pending: int
    provisional: int
    cancelled: int
    # The final orders' lines judged against their own promises, and those not on time.
    lines_evaluated: int = 0
    lines_late: int = 0

    @property
    def line_on_time_rate(self) -> float | None:
        return None if not self.lines_evaluated else 1 - self.lines_late / self.lines_evaluated

    @property
    def cancellation_rate(self) -> float | None:
        placed = self.orders + self.pending + self.provisional + self.cancelled
        return None if placed == 0 else self.cancelled / placed


def rates(verdicts: Iterable[Verdict]) -> PerfectOrderRates:
    """Only final verdicts count; pending and provisional ones are reported, never counted."""
    states: Counter[VerdictState] = Counter()
    final: list[Verdict] = []
    for v in verdicts:
        states[v.state] += 1
        if v.state is VerdictState.FINAL:
            final.append(v)
    components = {}
    for name in COMPONENTS:
        measured = [v.components[name] for v in final if v.components.get(name) is not None]
        failed = sum(1 for ok in measured if not ok)
        components[name] = ComponentRate(
            (len(measured) - failed) / len(measured) if measured else None, len(measured), failed
        )
    # Only an order with all five components measured can be called perfect or not; an imported
    # order missing one is left out of the rate rather than counted as either.
    whole = [v for v in final if all(ok is not None for ok in v.components.values())]
    perfect = sum(1 for v in whole if v.perfect)
    judged = len(whole)
    measured_rates = [c.rate for c in components.values() if c.rate is not None]
    index = None
    if measured_rates:
        index = 1.0
        for r in measured_rates:
            index *= r
    return PerfectOrderRates(
        orders=len(final),
        perfect=perfect,
        perfect_order_rate=perfect / judged if judged else None,
        perfect_order_index=index,
        components=components,
        pending=states[VerdictState.PENDING],
        provisional=states[VerdictState.PROVISIONAL],
        cancelled=states[VerdictState.CANCELLED],
        lines_evaluated=sum(v.lines_evaluated for v in final),
        lines_late=sum(v.lines_late for v in final),
    )


@dataclass(frozen=True, slots=True)
class Improvement:
    component: str
    code: str
    stage: str
    orders: int  # perfect orders this failure cost
    rate_without: float  # perfect order rate if this failure had not happened
    order_ids: tuple[int, ...]


def improvements(verdicts: Iterable[Verdict], *, limit: int = 10) -> list[Improvement]:
    """Failures grouped by (component, code, stage), ranked by how many final orders they made imperfect."""
    final = [v for v in verdicts if v.state is VerdictState.FINAL]
    if not final:
        return []
    whole = {v.order_id for v in final if all(ok is not None for ok in v.components.values())}
    perfect = sum(1 for v in final if v.perfect)
    groups: dict[tuple[str, str, str], set[int]] = {}
    for v in final:
        for f in v.failures:
            groups.setdefault((f.component, f.code, f.stage), set()).add(v.order_id)
    failures_of = {v.order_id: {(f.component, f.code, f.stage) for f in v.failures} for v in final}
    ranked = []
    for key, order_ids in groups.items():
        # Orders whose only failure is this one would have been perfect without it.
        rescued = sum(1 for oid in order_ids if failures_of[oid] == {key} and oid in whole)
        ranked.append(
            Improvement(
                key[0],
                key[1],
                key[2],
                len(order_ids),
                (perfect + rescued) / len(whole) if whole else 0.0,
                tuple(sorted(order_ids)),
            )
        )
    # The stage settles ties too: the stored report ranks the same failures in the same order.
    ranked.sort(key=lambda i: (-i.orders, -i.rate_without, i.component, i.code, i.stage))
    return ranked[:limit]
