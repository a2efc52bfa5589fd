"""Do perfect orders earn repeat purchases? Repeat rates and days to the next order after a perfect
and after an imperfect order (and per failure reason), with 95% intervals, and the customers who
have lapsed: no order for k times their own usual interval.

Pure statistics over a store's purchases: exchange and replacement orders are not purchases and
are left out before they reach here; an order counts once its follow-up window has fully passed.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A customer's purchases as a whole: what the lapsed list reads, kept per customer."""

    customer_id: int
    purchases: int
    last_order_on: date
    usual_interval_days: float | None  # None below two purchases
    last_imperfect_order_id: int | None


# (group, days to the customer's next purchase or None, orders): the report's input, summed by
# storage over one period. A group is "perfect", "imperfect" or a failure "component:code".
Tally = tuple[str, int | None, int]


def days_to_next(history: Sequence[Purchase]) -> dict[int, int | None]:
    """Each purchase's days until the same customer's next one (None: none yet), by order id."""
    ordered = _chronological(history)
    found: dict[int, int | None] = {
        p.order_id: (b.placed_on - p.placed_on).days for p, b in zip(ordered, ordered[1:], strict=False)
    }
    if ordered:
        found[ordered[-1].order_id] = None
    return found


def rhythm(history: Sequence[Purchase]) -> Rhythm | None:
    """One customer's rhythm from all of their purchases; None when they have none."""
    ordered = _chronological(history)
    if not ordered:
        return None
    imperfect = next((p for p in reversed(ordered) if p.perfect is False), None)
    return Rhythm(
        ordered[-1].customer_id,
        len(ordered),
        ordered[-1].placed_on,
        _median_gap(ordered) if len(ordered) >= 2 else None,
        imperfect.order_id if imperfect else None,
    )


def tally(purchases: Iterable[Purchase], follow_ups: Mapping[int, int | None]) -> list[Tally]:
    """The report's input from judged purchases (each once) and their days to the next purchase."""
    counted: Counter[tuple[str, int | None]] = Counter()
    for p in purchases:
        if p.perfect is None:
            continue
        days = follow_ups.get(p.order_id)
        counted["perfect" if p.perfect else "imperfect", days] += 1
        for reason in sorted(set(p.failures)):
            counted[reason, days] += 1
    return [(group, days, n) for (group, days), n in counted.items()]


def report(
    tallies: Iterable[Tally],
    *,
    window_days: int,
    k: float,
    lapsed: Sequence[Lapsed] = (),
    lapsed_customers: int = 0,
) -> LoyaltyReport:
    """Repeat rates (back within `window_days`) and median days to the next purchase per group;
    the tallies hold only orders whose window has fully passed."""
    outcomes: dict[str, Counter[int | None]] = defaultdict(Counter)
    for group, days, n in tallies:
        outcomes[group][days if days is not None and days <= window_days else None] += n
    perfect, imperfect = _group("perfect", outcomes["perfect"]), _group("imperfect", outcomes["imperfect"])
    reasons = sorted(
        (_group(name, days) for name, days in outcomes.items() if name not in ("perfect", "imperfect")),
        key=lambda g: (-g.repeat.n, g.name),
    )
    return LoyaltyReport(
        window_days,
        k,
        perfect,
        imperfect,
        rate_ratio(imperfect.repeat, perfect.repeat),
        tuple(reasons),
        tuple(lapsed),
        lapsed_customers,
    )


def lapsed_from(found: Rhythm, today: date, k: float, reasons: tuple[str, ...] = ()) -> Lapsed | None:
    """The customer, if they have a rhythm (two orders or more) and have been silent for k times it;
    `reasons` are their last imperfect order's failures."""
    if found.usual_interval_days is None:
        return None
    silent = (today - found.last_order_on).days
    if silent <= k * found.usual_interval_days:
        return None
    return Lapsed(
        found.customer_id,
        found.last_order_on,
        found.usual_interval_days,
        silent,
        found.last_imperfect_order_id,
        reasons if found.last_imperfect_order_id is not None else (),
    )


def lapsed_order(found: Lapsed) -> tuple[float, int]:
    """Most lapsed first: the longest silence measured in the customer's own intervals."""
    return (-found.days_since / found.usual_interval_days, found.customer_id)


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
    """The report from a store's every purchase at once, the definition the stored projection
    (next purchase per order, rhythm per customer) must agree with: judged purchases placed from
    `start` to `end` whose `window_days` have passed by `today`."""
    by_customer: dict[int, list[Purchase]] = defaultdict(list)
    for p in purchases:
        by_customer[p.customer_id].append(p)
    follow_ups: dict[int, int | None] = {}
    lapsed = []
    for history in by_customer.values():
        follow_ups.update(days_to_next(history))
        found = lapsed_customer(history, today, k)
        if found is not None:
            lapsed.append(found)
    observed = [
        p for p in purchases if start <= p.placed_on <= end and (today - p.placed_on).days >= window_days
    ]
    lapsed.sort(key=lapsed_order)
    return report(
        tally(observed, follow_ups),
        window_days=window_days,
        k=k,
        lapsed=lapsed[:most_lapsed],
        lapsed_customers=len(lapsed),
    )


def _group(name: str, days: Counter[int | None]) -> Group:
    repeated = sum(n for d, n in days.items() if d is not None)
    return Group(name, wilson(repeated, days.total()), _median(days))


def _median(days: Counter[int | None]) -> float | None:
    """The median of the repeat days (each counted n times), as statistics.median would give."""
    values = sorted((d, n) for d, n in days.items() if d is not None and n > 0)
    total = sum(n for _, n in values)
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for value, n in values:
        while middle and middle[0] < seen + n:
            found.append(value)
            middle.pop(0)
        seen += n
    return (found[0] + found[1]) / 2


def usual_interval(history: Sequence[Purchase]) -> float | None:
    """The median days between a customer's purchases (at least one day each); None below two."""
    ordered = _chronological(history)
    return _median_gap(ordered) if len(ordered) >= 2 else None


def lapsed_customer(history: Sequence[Purchase], today: date, k: float) -> Lapsed | None:
    """A customer with a rhythm (two orders or more) who has been silent for k times it."""
    found = rhythm(history)
    if found is None:
        return None
    imperfect = next((p for p in history if p.order_id == found.last_imperfect_order_id), None)
    return lapsed_from(found, today, k, imperfect.failures if imperfect else ())


def _chronological(history: Sequence[Purchase]) -> list[Purchase]:
    return sorted(history, key=lambda p: (p.placed_on, p.order_id))


def _median_gap(ordered: Sequence[Purchase]) -> float:
    return float(
        median(max((b.placed_on - a.placed_on).days, 1) for a, b in zip(ordered, ordered[1:], strict=False))
    )
