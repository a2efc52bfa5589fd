"""When and how much to reorder, per SKU and warehouse, and which stock is going stale.

Demand is what customers asked for, served or not: units ordered plus units refused for lack of
stock (a stock-out hides demand, and planning from sales alone would plan the next stock-out).
Lead time is the supplier's, in calendar days, as its recent deliveries and its overdue purchase
orders show it. With daily demand d (mean) and sigma_d,
lead time L days and sigma_L, for a target cycle service level p:

    safety stock  = z(p) * sqrt(L * sigma_d^2 + d^2 * sigma_L^2)
    reorder point = d * L + safety stock

When the inventory position (on hand - reserved + on order - backordered) is at or below the reorder
point, order up to the reorder point plus one order quantity: the economic order quantity when the
cost of an order and of holding a unit are known, else the demand of the review period; rounded up
to whole packs and to at least the supplier's minimum order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from statistics import NormalDist, fmean, pstdev

AGE_BUCKETS = (0, 31, 91, 181)  # days since received: 0-30, 31-90, 91-180, 181+


@dataclass(frozen=True, slots=True)
class DemandStats:
    days: int
    mean: float  # units a day
    std: float

    @property
    def annual(self) -> float:
        return self.mean * 365


def demand_stats(daily_units: Sequence[int]) -> DemandStats:
    """From one count per day of the window, zero days included (leaving them out would read
    sporadic demand as steady)."""
    if not daily_units:
        return DemandStats(0, 0.0, 0.0)
    return DemandStats(len(daily_units), fmean(daily_units), pstdev(daily_units))


@dataclass(frozen=True, slots=True)
class LeadTime:
    mean_days: float
    std_days: float = 0.0


RECENT_DELIVERIES = 8  # a supplier's lead time is what its last deliveries took: it drifts


def lead_time_of(
    observed_days: Sequence[float], fallback: LeadTime, *, overdue_days: Sequence[float] = ()
) -> tuple[LeadTime, str]:
    """The supplier's lead time and its basis: the mean and spread of its last deliveries
    (`observed_days`, oldest first; "measured"), its quoted one (`fallback`, "quoted") until three
    are on record; and never shorter than the longest time one of its purchase orders past its
    promised date has been out without anything coming (`overdue_days`, "overdue"). An overdue order
    only says the lead time is at least that long: a bound, not a delivery to average in. It is
    how a supplier that slips shows it before the late goods arrive."""
    recent = observed_days[-RECENT_DELIVERIES:]
    lead, basis = (
        (fallback, "quoted") if len(recent) < 3 else (LeadTime(fmean(recent), pstdev(recent)), "measured")
    )
    longest = max(overdue_days, default=0.0)
    if longest > lead.mean_days:
        return LeadTime(longest, lead.std_days), "overdue"
    return lead, basis


def z_score(service_level: float) -> float:
    if not 0.5 <= service_level < 1:
        raise ValueError("a service level is from 0.5 up to, not including, 1")
    return NormalDist().inv_cdf(service_level)


def safety_stock(demand: DemandStats, lead: LeadTime, service_level: float) -> float:
    spread = math.sqrt(lead.mean_days * demand.std**2 + demand.mean**2 * lead.std_days**2)
    return z_score(service_level) * spread


def reorder_point(demand: DemandStats, lead: LeadTime, service_level: float) -> float:
    return demand.mean * lead.mean_days + safety_stock(demand, lead, service_level)


def economic_order_quantity(annual_demand: float, order_cost: Decimal, holding_cost: Decimal) -> float:
    """Units per order that balance ordering against holding; 0 when either cost is unknown."""
    if annual_demand <= 0 or order_cost <= 0 or holding_cost <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * float(order_cost) / float(holding_cost))


def round_to_packs(units: float, pack_size: int, minimum: int) -> int:
    """Whole packs, at least the minimum order (itself rounded up to whole packs)."""
    pack = max(pack_size, 1)
    wanted = max(units, float(minimum), 0.0)
    packs = Decimal(str(wanted)) / pack
    return int(packs.to_integral_value(rounding=ROUND_CEILING)) * pack


@dataclass(frozen=True, slots=True)
class Position:
    on_hand: int
    reserved: int
    on_order: int  # ordered from suppliers, not yet received
    backordered: int  # owed to customers, not yet reserved

    @property
    def units(self) -> int:
        return self.on_hand - self.reserved + self.on_order - self.backordered


@dataclass(frozen=True, slots=True)
class Terms:
    service_level: float = 0.95
    review_days: int = 7  # the order quantity when EOQ cannot be computed: this many days of demand
    order_cost: Decimal = Decimal(0)  # per purchase order
    holding_rate: Decimal = Decimal("0.25")  # a year's holding, as a share of the unit cost


@dataclass(frozen=True, slots=True)
class Suggestion:
    reorder_point: float
    safety_stock: float
    order_up_to: float
    position: int
    quantity: int  # 0: no order needed yet
    basis: str  # "eoq" or "review": what set the order quantity


def suggest(
    demand: DemandStats,
    lead: LeadTime,
    position: Position,
    *,
    unit_cost: Decimal,
    pack_size: int,
    minimum: int,
    terms: Terms,
) -> Suggestion:
    safety = safety_stock(demand, lead, terms.service_level)
    point = demand.mean * lead.mean_days + safety
    eoq = economic_order_quantity(demand.annual, terms.order_cost, unit_cost * terms.holding_rate)
    batch, basis = (eoq, "eoq") if eoq > 0 else (demand.mean * terms.review_days, "review")
    up_to = point + batch
    quantity = 0
    if demand.mean > 0 and position.units <= point:
        quantity = round_to_packs(up_to - position.units, pack_size, minimum)
    return Suggestion(point, safety, up_to, position.units, quantity, basis)


# --- stock ageing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    day: date
    units: int


def ages(on_hand: int, receipts: Sequence[Receipt], today: date) -> dict[int, int]:
    """Units on hand per age bucket, first in first out: what is left is what came last."""
    out = dict.fromkeys(AGE_BUCKETS, 0)
    left = max(on_hand, 0)
    for receipt in sorted(receipts, key=lambda r: r.day, reverse=True):
        if left == 0:
            break
        take = min(left, receipt.units)
        out[bucket((today - receipt.day).days)] += take
        left -= take
    if left:
        out[AGE_BUCKETS[-1]] += left  # older than any receipt on record
    return out


def bucket(age_days: int) -> int:
    return max(b for b in AGE_BUCKETS if b <= max(age_days, 0))
