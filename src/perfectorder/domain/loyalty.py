"""Do perfect orders earn repeat purchases? Repeat rates and days to the next order after a perfect
and after an imperfect order (and per failure reason), with 95% intervals, and the customers who
have lapsed: no order for k times their own usual interval.

Pure statistics over a store's purchases: exchange and replacement orders are not purchases and
are left out before they reach here; an order counts once its follow-up window has fully passed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

Z95 = 1.959964


@dataclass(frozen=True, slots=True)
class Purchase:
    customer_id: int
    order_id: int
    placed_on: date
    # True or False once judged as a whole delivered order; None: not judged (open, lost, partial
    # facts) - still a purchase, so it can be someone's next order.
    perfect: bool | None
    failures: tuple[str, ...] = ()  # "component:code"


@dataclass(frozen=True, slots=True)
class Proportion:
    hits: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Ratio:
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    repeat: Proportion
    median_days_to_next: float | None


@dataclass(frozen=True, slots=True)
class Lapsed:
    customer_id: int
    last_order_on: date
    usual_interval_days: float
    days_since: int
    last_imperfect_order_id: int | None
    last_imperfect_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoyaltyReport:
    window_days: int
    k: float
    perfect: Group
    imperfect: Group
    # Imperfect repeat rate over perfect repeat rate: below 1, imperfect orders cost repeat business.
    ratio: Ratio
    by_reason: tuple[Group, ...]
    lapsed: tuple[Lapsed, ...]
    lapsed_customers: int


def wilson(hits: int, n: int) -> Proportion:
    """The rate with its Wilson score interval (good at small n and near 0 or 1)."""
    if n == 0:
        return Proportion(hits, n, None, None, None)
    p = hits / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Proportion(hits, n, p, max(0.0, centre - half), min(1.0, centre + half))


def rate_ratio(numerator: Proportion, denominator: Proportion) -> Ratio:
    """Ratio of two rates with Katz's log interval; undefined when either rate has no hits."""
    a, n1, c, n2 = numerator.hits, numerator.n, denominator.hits, denominator.n
    if not (a and c and n1 and n2):
        return Ratio(None, None, None)
    value = (a / n1) / (c / n2)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return Ratio(value, value * math.exp(-Z95 * se), value * math.exp(Z95 * se))


def loyalty(
    purchases: Sequence[Purchase],
    *,
    start: date,
    end: date,
    today: date,
    window_days: int = 90,
    k: float = 3.0,
    most_lapsed: int = 100,
) -> LoyaltyReport:
    """Judged purchases placed from `start` to `end` whose `window_days` have passed by `today`:
    did the same customer buy again within the window, and after how many days."""
    by_customer: dict[int, list[Purchase]] = defaultdict(list)
    for p in purchases:
        by_customer[p.customer_id].append(p)
    outcomes: dict[str, list[int | None]] = defaultdict(list)  # group -> days to next (None: none)
    lapsed = []
    for unordered in by_customer.values():
        history = _chronological(unordered)
        for p, after in zip(history, [*history[1:], None], strict=True):
            if p.perfect is None or not start <= p.placed_on <= end:
                continue
            if (today - p.placed_on).days < window_days:
                continue  # not observed long enough to know
            gap = (after.placed_on - p.placed_on).days if after is not None else None
            days = gap if gap is not None and gap <= window_days else None
            outcomes["perfect" if p.perfect else "imperfect"].append(days)
            for reason in sorted(set(p.failures)):
                outcomes[reason].append(days)
        found = lapsed_customer(history, today, k)
        if found is not None:
            lapsed.append(found)
    perfect, imperfect = _group("perfect", outcomes["perfect"]), _group("imperfect", outcomes["imperfect"])
    reasons = sorted(
        (_group(name, days) for name, days in outcomes.items() if name not in ("perfect", "imperfect")),
        key=lambda g: (-g.repeat.n, g.name),
    )
    lapsed.sort(key=lambda x: (-x.days_since / x.usual_interval_days, x.customer_id))
    return LoyaltyReport(
        window_days,
        k,
        perfect,
        imperfect,
        rate_ratio(imperfect.repeat, perfect.repeat),
        tuple(reasons),
        tuple(lapsed[:most_lapsed]),
        len(lapsed),
    )


def _group(name: str, days: list[int | None]) -> Group:
    repeated = [d for d in days if d is not None]
    return Group(name, wilson(len(repeated), len(days)), median(repeated) if repeated else None)


def usual_interval(history: Sequence[Purchase]) -> float | None:
    """The median days between a customer's purchases (at least one day each); None below two."""
    ordered = _chronological(history)
    return _median_gap(ordered) if len(ordered) >= 2 else None


def lapsed_customer(history: Sequence[Purchase], today: date, k: float) -> Lapsed | None:
    """A customer with a rhythm (two orders or more) who has been silent for k times it."""
    history = _chronological(history)
    if len(history) < 2:
        return None
    usual = _median_gap(history)
    last = history[-1]
    silent = (today - last.placed_on).days
    if silent <= k * usual:
        return None
    imperfect = next((p for p in reversed(history) if p.perfect is False), None)
    return Lapsed(
        last.customer_id,
        last.placed_on,
        usual,
        silent,
        imperfect.order_id if imperfect else None,
        imperfect.failures if imperfect else (),
    )


def _chronological(history: Sequence[Purchase]) -> list[Purchase]:
    return sorted(history, key=lambda p: (p.placed_on, p.order_id))


def _median_gap(ordered: Sequence[Purchase]) -> float:
    return float(
        median(max((b.placed_on - a.placed_on).days, 1) for a, b in zip(ordered, ordered[1:], strict=False))
    )
