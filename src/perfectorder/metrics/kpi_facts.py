"""The per-order facts every KPI is computed from (see metrics.measures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

STAGES = ("approved", "picked", "packed", "shipped", "delivered")


@dataclass(frozen=True, slots=True)
class OrderKpiFacts:
    order_id: int
    customer_id: int
    placed_at: datetime
    cancelled: bool
    promised_ship_date: date
    promised_date: date
    # When the order first reached each stage ("approved", "picked", ...), from its timeline.
    reached: dict[str, datetime] = field(default_factory=dict)
    lines_ordered: int = 0
    units_ordered: int = 0
    lines_complete_first: int = 0  # lines shipped in full by the first shipment
    units_first_shipment: int = 0
    backordered: bool = False
    pick_lines: int = 0
    pick_lines_correct: int = 0
    accurate: bool | None = None
    returned_reasons: tuple[str, ...] = ()
    rating: int | None = None
    delivered_on: date | None = None
    replacement: bool = False  # an exchange or a reshipment, linked to the order it replaces
    # Every parcel delivered or lost and nothing left to ship: the order's outcome is known.
    outcome_known: bool = False
    # Lines still wanted (not cancelled in full), and those whose every unit was delivered by the
    # promised date (the destination's calendar).
    lines_due: int = 0
    lines_on_time_in_full: int = 0
