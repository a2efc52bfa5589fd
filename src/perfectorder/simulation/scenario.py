"""A simulation scenario: what the store sells, who buys, how warehouses and carriers behave, and
what goes wrong how often. Loaded from TOML; every mistake names the key at fault."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from perfectorder.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LaneSpec:
    """A carrier's parcels to one country, counted in working days as carriers quote them; from
    `drift_day` (0 is the first simulated day) on, each takes `drift_days` more."""

    country: str
    transit_days: tuple[int, ...]  # working days, drawn uniformly
    drift_day: int = -1
    drift_days: int = 0


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str
    service: str  # the shipping service code orders choose (standard, express, economy)
    share: float
    transit_days: tuple[int, ...] = (1, 2, 2, 3)  # drawn uniformly
    delay: float = 0.0  # share of parcels delayed (an exception event, then late)
    delay_days: int = 4
    damage: float = 0.0
    loss: float = 0.0
    lanes: tuple[LaneSpec, ...] = ()  # countries whose transit differs from `transit_days`
    # Tracking: the carrier's in-transit events carry its estimate of the delivery day (`eta`), a
    # share of them a working day off (`eta_wrong`); it scans every `scan_hours` after the first
    # scan (0: once, the morning after handover); a share of parcels (`scan_gap`) go silent once for
    # `scan_gap_hours` (it needs `scan_hours`: a parcel scanned once has no later scan to miss).
    eta: bool = False
    eta_wrong: float = 0.0
    scan_hours: int = 0
    scan_gap: float = 0.0
    scan_gap_hours: int = 72


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier as the store meets it: it quotes `quoted_lead_days` and takes a lead time drawn
    from `lead_time_days` (both in its working days, Monday to Friday), delivers a share `fill` of
    each line's units and a share `defect` of what it delivers is damaged; of the delivered orders
    whose first item is its product, a share `faulty` comes back as defective (a fault the dock's
    check missed). From `degrade_day` (0 is the first simulated day; -1 never) on, the
    `degraded_*` values hold for POs sent then."""

    name: str
    share: float = 1.0  # of the made-to-stock catalog, assigned in turn
    lead_time_days: tuple[int, ...] = (5,)
    quoted_lead_days: int = 5
    fill: float = 1.0
    defect: float = 0.0
    faulty: float = 0.0
    pack_size: int = 1
    min_order: int = 1
    unit_cost: float = 0.55  # its price, as a share of the product's selling price
    degrade_day: int = -1
    degraded_lead_days: tuple[int, ...] = (5,)
    degraded_fill: float = 1.0
    degraded_defect: float = 0.0

    def on(self, day: int) -> tuple[tuple[int, ...], float, float]:
        """Lead times, fill and defect of a PO sent on simulated day `day`."""
        if 0 <= self.degrade_day <= day:
            return self.degraded_lead_days, self.degraded_fill, self.degraded_defect
        return self.lead_time_days, self.fill, self.defect


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str = "scenario"
    seed: int = 1
    start: date = date(2026, 1, 5)
    days: int = 30
    orders_per_day: float = 100.0
    # catalog
    products: int = 200
    zipf: float = 1.1
    made_to_order: float = 0.0  # share of products made to order
    production_days: int = 5
    categories: tuple[str, ...] = ("kitchen", "home", "garden", "office")
    # customers
    customers: int = 2000
    repeat: float = 0.4  # share of orders from a customer who ordered before
    tiers: Mapping[str, float] = field(
        default_factory=lambda: {"standard": 0.8, "silver": 0.15, "gold": 0.05}
    )
    b2b: float = 0.0  # share of customers paying by invoice on credit
    # Customers coming back because of how it went: after each delivered order the customer orders
    # again within `next_order_days` with probability `next_order`, times `imperfect_factor` when
    # something went wrong with it. 0 turns it off (then only `repeat` brings customers back);
    # when on, the other orders come from customers who have not ordered yet.
    next_order: float = 0.0
    next_order_days: int = 60
    imperfect_factor: float = 1.0
    # channels
    channels: Mapping[str, float] = field(
        default_factory=lambda: {
            "web": 0.6,
            "marketplace": 0.25,
            "phone": 0.05,
            "email": 0.03,
            "store": 0.04,
            "customer_service": 0.03,
        }
    )
    # warehouses
    pick_capacity: int = 2000  # orders released to picking per warehouse per day
    initial_stock: int = 400
    reorder_point: int = 40
    reorder_quantity: int = 300
    supplier_lead_days: int = 5
    # Suppliers ([suppliers.NAME]): restocking goes through purchase orders to them, by the reorder
    # rule above or, with `replenish`, by the store's replenishment suggestions each morning.
    # Without them, stock arrives by itself `supplier_lead_days` after it ran low.
    suppliers: tuple[Supplier, ...] = ()
    replenish: bool = False
    # things that go wrong
    wrong_pick: float = 0.0  # a wrong scan, refused and recorded (never reaches the customer)
    packing_error: float = 0.0  # one unit short in the parcel: packing check records it
    payment_decline: float = 0.0
    outage_day: int = -1  # first simulated day of an e-mail outage (-1: none)
    outage_days: int = 0
    peak_day: int = -1  # first day of a seasonal peak (-1: none)
    peak_days: int = 0
    peak_factor: float = 1.0
    # customers' answers
    feedback: float = 0.3  # feedback after a good order
    feedback_when_wrong: float = 0.7
    return_when_damaged: float = 0.6
    return_changed_mind: float = 0.02
    # The customers' own status page: share of orders they cancel there within hours of ordering,
    # and share of their ratings and returns given there rather than through the shop's API.
    self_cancel: float = 0.0
    self_service: float = 0.0
    # Promises from learned transit times: the store learns them every simulated morning (as a
    # worker would), and new promises count their lane's quantile (PERFECTORDER_PROMISE_QUANTILE).
    learn_promises: bool = False
    carriers: tuple[Carrier, ...] = (
        Carrier("DHL", "standard", 0.7, (1, 2, 2, 3)),
        Carrier("UPS", "express", 0.2, (1, 1, 2)),
        Carrier("GLS", "economy", 0.1, (2, 3, 4)),
    )


SCALARS = {
    f.name: f
    for f in fields(Scenario)
    if f.name not in ("carriers", "suppliers", "tiers", "channels", "categories")
}


def scenario_from_dict(raw: Mapping[str, Any]) -> Scenario:
    values: dict[str, Any] = {}
    for section, content in raw.items():
        if section == "carriers":
            values["carriers"] = _carriers(content)
        elif section == "suppliers":
            values["suppliers"] = _suppliers(content)
        elif section in ("tiers", "channels"):
            values[section] = _shares(section, content)
        elif section == "categories":
            values["categories"] = tuple(str(c) for c in content)
        elif isinstance(content, dict):
            for key, value in content.items():
                if key == "categories":
                    if not isinstance(value, list) or not value:
                        raise InvalidInput("scenario_invalid", "a list of names", field=f"{section}.{key}")
                    values[key] = tuple(str(c) for c in value)
                else:
                    values[key] = _scalar(f"{section}.{key}", key, value)
        else:
            values[section] = _scalar(section, section, value=content)
    scenario = Scenario(**values)
    if scenario.days < 1 or scenario.orders_per_day < 0 or scenario.products < 1 or scenario.customers < 1:
        raise InvalidInput("scenario_invalid", "days, products and customers are at least 1", field="run")
    if not scenario.carriers:
        raise InvalidInput("scenario_invalid", "a scenario needs at least one carrier", field="carriers")
    if scenario.replenish and not scenario.suppliers:
        message = "replenishing orders from suppliers: add a [suppliers.NAME] table"
        raise InvalidInput("scenario_invalid", message, field="replenish")
    return scenario


def _scalar(path: str, key: str, value: Any) -> Any:
    spec = SCALARS.get(key)
    if spec is None:
        raise InvalidInput("scenario_invalid", f"unknown setting {key!r}", field=path)
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    try:
        if kind == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind == "int":
            if isinstance(value, bool) or int(value) != value:
                raise ValueError
            return int(value)
        if kind == "float":
            number = float(value)
            if key not in ("orders_per_day", "zipf", "peak_factor") and not 0 <= number <= 1:
                raise InvalidInput("scenario_invalid", "a probability is between 0 and 1", field=path)
            return number
        return str(value)
    except (TypeError, ValueError):
        raise InvalidInput("scenario_invalid", f"{value!r} is not a valid {kind}", field=path) from None


def _shares(section: str, content: Any) -> dict[str, float]:
    if not isinstance(content, dict) or not content:
        raise InvalidInput("scenario_invalid", f"[{section}] maps names to shares", field=section)
    out = {}
    for name, share in content.items():
        if not isinstance(share, int | float) or share < 0:
            raise InvalidInput("scenario_invalid", "a share is a number >= 0", field=f"{section}.{name}")
        out[str(name)] = float(share)
    return out


def _carriers(content: Any) -> tuple[Carrier, ...]:
    if not isinstance(content, dict):
        raise InvalidInput("scenario_invalid", "[carriers.NAME] tables describe carriers", field="carriers")
    out = []
    known = {f.name for f in fields(Carrier)} - {"name"}
    for name, spec in content.items():
        for key in spec:
            if key not in known:
                raise InvalidInput(
                    "scenario_invalid", f"unknown carrier setting {key!r}", field=f"carriers.{name}.{key}"
                )
        transit = tuple(int(d) for d in spec.get("transit_days", (1, 2, 2, 3)))
        if not transit or min(transit) < 0:
            raise InvalidInput(
                "scenario_invalid", "transit days are >= 0", field=f"carriers.{name}.transit_days"
            )
        for key in ("delay", "damage", "loss", "eta_wrong", "scan_gap"):
            if not 0 <= float(spec.get(key, 0)) <= 1:
                raise InvalidInput(
                    "scenario_invalid", "a probability is between 0 and 1", field=f"carriers.{name}.{key}"
                )
        out.append(
            Carrier(
                name=str(name),
                service=str(spec.get("service", "standard")),
                share=float(spec.get("share", 1)),
                transit_days=transit,
                delay=float(spec.get("delay", 0)),
                delay_days=int(spec.get("delay_days", 4)),
                damage=float(spec.get("damage", 0)),
                loss=float(spec.get("loss", 0)),
                lanes=_lanes(f"carriers.{name}.lanes", spec.get("lanes", {})),
                **_tracking(f"carriers.{name}", spec),
            )
        )
    return tuple(out)


def _tracking(path: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The carrier's tracking options (see Carrier), checked."""
    eta = spec.get("eta", False)
    if not isinstance(eta, bool):
        raise InvalidInput("scenario_invalid", "eta is true or false", field=f"{path}.eta")
    hours: dict[str, int] = {}
    for key, default, least in (("scan_hours", 0, 0), ("scan_gap_hours", 72, 1)):
        value = spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInput(
                "scenario_invalid", f"a whole number of hours, at least {least}", field=f"{path}.{key}"
            )
        hours[key] = value
    gap = float(spec.get("scan_gap", 0))
    if gap > 0 and hours["scan_hours"] == 0:
        message = "a scan gap needs scan_hours: a parcel scanned once has no later scan to miss"
        raise InvalidInput("scenario_invalid", message, field=f"{path}.scan_gap")
    return {"eta": eta, "eta_wrong": float(spec.get("eta_wrong", 0)), "scan_gap": gap, **hours}


def _lanes(path: str, content: Any) -> tuple[LaneSpec, ...]:
    if not isinstance(content, dict):
        raise InvalidInput("scenario_invalid", "[carriers.NAME.lanes.COUNTRY] tables", field=path)
    out = []
    for country, spec in content.items():
        where = f"{path}.{country}"
        unknown = set(spec) - {"transit_days", "drift_day", "drift_days"}
        if unknown:
            setting = sorted(unknown)[0]
            raise InvalidInput("scenario_invalid", f"unknown lane setting {setting!r}", field=where)
        try:
            transit = tuple(int(d) for d in spec["transit_days"])
            drift_day, drift_days = int(spec.get("drift_day", -1)), int(spec.get("drift_days", 0))
        except (KeyError, TypeError, ValueError):
            message = "transit_days is a list of whole days"
            raise InvalidInput("scenario_invalid", message, field=where) from None
        if not transit or min(transit) < 1 or drift_days < 0:
            raise InvalidInput("scenario_invalid", "transit days are >= 1, drift days >= 0", field=where)
        out.append(LaneSpec(str(country).upper(), transit, drift_day, drift_days))
    return tuple(out)


SUPPLIER_PROBABILITIES = ("fill", "defect", "faulty", "degraded_fill", "degraded_defect")


def _suppliers(content: Any) -> tuple[Supplier, ...]:
    if not isinstance(content, dict) or not content:
        raise InvalidInput(
            "scenario_invalid", "[suppliers.NAME] tables describe suppliers", field="suppliers"
        )
    out = tuple(_supplier(f"suppliers.{name}", str(name), spec) for name, spec in content.items())
    if not any(s.share > 0 for s in out):
        raise InvalidInput("scenario_invalid", "some supplier needs a share above 0", field="suppliers")
    return out


def _supplier(path: str, name: str, spec: Any) -> Supplier:
    if not isinstance(spec, dict):
        raise InvalidInput("scenario_invalid", f"[{path}] is a table of settings", field=path)
    known = {f.name for f in fields(Supplier)} - {"name"}
    for key in spec:
        if key not in known:
            raise InvalidInput("scenario_invalid", f"unknown supplier setting {key!r}", field=f"{path}.{key}")
    lead = _days(f"{path}.lead_time_days", spec.get("lead_time_days", [5]))
    values: dict[str, Any] = {"lead_time_days": lead}
    # What the supplier quotes defaults to its longest lead time: a steady supplier is on time.
    for key, default, least in (
        ("quoted_lead_days", max(lead), 0),
        ("pack_size", 1, 1),
        ("min_order", 1, 1),
        ("degrade_day", -1, -1),
    ):
        value = spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInput("scenario_invalid", f"a whole number, at least {least}", field=f"{path}.{key}")
        values[key] = value
    defaults = {"share": 1.0, "unit_cost": 0.55, "fill": 1.0, "defect": 0.0, "faulty": 0.0}
    for key in ("share", "unit_cost", *SUPPLIER_PROBABILITIES):
        # A degraded value left out stays what it was: a supplier may slip without filling less.
        value = spec.get(key, values.get(key.removeprefix("degraded_"), defaults.get(key)))
        # NaN passes every comparison's "no": it would read as "never" without a word.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not value >= 0
            or math.isinf(value)
        ):
            raise InvalidInput("scenario_invalid", "a finite number >= 0", field=f"{path}.{key}")
        if key in SUPPLIER_PROBABILITIES and value > 1:
            raise InvalidInput("scenario_invalid", "a probability is between 0 and 1", field=f"{path}.{key}")
        values[key] = float(value)
    if values["unit_cost"] == 0:
        raise InvalidInput("scenario_invalid", "a supplier charges something", field=f"{path}.unit_cost")
    values["degraded_lead_days"] = _days(f"{path}.degraded_lead_days", spec.get("degraded_lead_days", lead))
    return Supplier(name=name, **values)


def _days(path: str, value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, list | tuple)
        or not value
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in value)
    ):
        raise InvalidInput("scenario_invalid", "a list of whole working days, each at least 1", field=path)
    return tuple(value)
