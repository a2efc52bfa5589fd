"""The KPIs around the Perfect Order, computed from the measures of metrics.measures. Pure functions
over per-order facts; durations in hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perfectorder.metrics.measures import ORDER_MEASURES, STAGES, Kind, OrderKpiFacts

__all__ = ["STAGES", "CustomerBehaviour", "Distribution", "Kpis", "OrderKpiFacts", "kpis"]


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    median: float | None
    p90: float | None


def distribution(values: Iterable[float]) -> Distribution:
    ordered = sorted(values)
    if not ordered:
        return Distribution(0, None, None)
    return Distribution(len(ordered), _quantile(ordered, 0.5), _quantile(ordered, 0.9))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the common 'type 7' definition)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


@dataclass(frozen=True, slots=True)
class Kpis:
    """The figures of every order measure of metrics.measures, by name: `kpis.fill_rate_units`,
    `kpis.cycle_time_hours.median`, `kpis.stage_hours["packed"]`, `kpis.return_rate_by_reason`."""

    orders: int
    rates: dict[str, float | None]  # RATE and MEAN measures
    distributions: dict[str, Distribution]  # DISTRIBUTION measures
    by_key: dict[str, dict[str, float]]  # RATE_BY_KEY measures

    def __getattr__(self, name: str) -> Any:
        if name in _GROUPS:
            return {key: self.distributions[m] for key, m in _GROUPS[name].items()}
        for table in (self.rates, self.distributions, self.by_key):
            if name in table:
                return table[name]
        raise AttributeError(name)


_GROUPS: dict[str, dict[str, str]] = {}
for _m in ORDER_MEASURES:
    if _m.group is not None:
        _GROUPS.setdefault(_m.group[0], {})[_m.group[1]] = _m.name


@dataclass(slots=True)
class KpiSums:
    """Summed numerators and denominators, histograms and keyed counts: what an order adds
    (`add`), what a day's rollups hold, and what `figures` turns into the Kpis."""

    orders: int = 0
    numerators: Counter[str] = field(default_factory=Counter)
    denominators: Counter[str] = field(default_factory=Counter)
    keyed: dict[str, Counter[str]] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)  # exact, order by order

    def add(self, o: OrderKpiFacts) -> None:
        self.orders += 1
        for m in ORDER_MEASURES:
            if m.value is not None:
                value = m.value(o)
                if value is not None:
                    self.values.setdefault(m.name, []).append(value)
                continue
            if m.numerator is not None:
                self.numerators[m.name] += m.numerator(o)
            if m.keys is not None:
                self.keyed.setdefault(m.name, Counter()).update(m.keys(o))
            if m.denominator is not None:
                self.denominators[m.name] += m.denominator(o)

    def figures(self, distributions: Mapping[str, Distribution] | None = None) -> Kpis:
        rates: dict[str, float | None] = {}
        by_key: dict[str, dict[str, float]] = {}
        for m in ORDER_MEASURES:
            below = self.denominators[m.name]
            if m.kind is Kind.RATE_BY_KEY:
                counted = self.keyed.get(m.name, Counter())
                by_key[m.name] = {k: n / below for k, n in sorted(counted.items()) if n} if below else {}
            elif m.kind is not Kind.DISTRIBUTION:
                rates[m.name] = _share(self.numerators[m.name], below)
        if distributions is None:
            distributions = {
                m.name: distribution(self.values.get(m.name, ()))
                for m in ORDER_MEASURES
                if m.kind is Kind.DISTRIBUTION
            }
        return Kpis(self.orders, rates, dict(distributions), by_key)


def kpis(orders: Iterable[OrderKpiFacts]) -> Kpis:
    """Every order measure of metrics.measures, computed order by order (quantiles exact)."""
    sums = KpiSums()
    for o in orders:
        sums.add(o)
    return sums.figures()


def first_shipment_fill(lines: Sequence[tuple[str, int]], shipped: Mapping[str, int]) -> tuple[int, int]:
    """(lines shipped in full, units shipped) by the first shipment. Each line takes its SKU's units
    up to what it asked for: a parcel with one unit too many fills no more than 100 %."""
    left = dict(shipped)
    complete = units = 0
    for sku, wanted in lines:
        took = min(left.get(sku, 0), max(wanted, 0))
        left[sku] = left.get(sku, 0) - took
        complete += took >= wanted
        units += took
    return complete, units


@dataclass(frozen=True, slots=True)
class Turnover:
    cost_of_goods_shipped: Decimal
    average_inventory_value: Decimal
    inventory_turnover: float | None  # times per period, by value
    units_shipped: int
    average_inventory_units: float
    inventory_turnover_units: float | None
    days_of_supply: float | None  # days the stock on hand lasts at the period's shipping pace


def turnover(
    *,
    cost_of_goods_shipped: Decimal,
    inventory_value_start: Decimal,
    inventory_value_end: Decimal,
    units_shipped: int,
    units_start: int,
    units_end: int,
    days: int,
) -> Turnover:
    average_value = (inventory_value_start + inventory_value_end) / 2
    average_units = (units_start + units_end) / 2
    per_day = units_shipped / days if days > 0 else 0
    return Turnover(
        cost_of_goods_shipped,
        average_value,
        float(cost_of_goods_shipped / average_value) if average_value else None,
        units_shipped,
        average_units,
        units_shipped / average_units if average_units else None,
        units_end / per_day if per_day else None,
    )


@dataclass(frozen=True, slots=True)
class CustomerBehaviour:
    customers: int
    repeat_purchase_rate: float | None  # customers with 2+ orders / customers with any
    orders_per_customer: float | None  # purchase frequency over the period


def customer_behaviour(orders: Sequence[OrderKpiFacts]) -> CustomerBehaviour:
    """Purchases only: an exchange or a reshipment is the same purchase made good, not a second one."""
    per_customer = Counter(o.customer_id for o in orders if not o.cancelled and not o.replacement)
    customers = len(per_customer)
    return CustomerBehaviour(
        customers,
        _share(sum(1 for n in per_customer.values() if n >= 2), customers),
        sum(per_customer.values()) / customers if customers else None,
    )
