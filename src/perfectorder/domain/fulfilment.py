"""Rules of the warehouse and after: scans, packing checks, carrier events, the return-reason taxonomy.

Every failure the cycle can suffer is named by the Perfect Order criterion it breaks and the stage
that broke it, so an imperfect order can always say why.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Criterion(enum.StrEnum):
    COMPLETE = "complete"
    ON_TIME = "on_time"
    ACCURATE = "accurate"
    UNDAMAGED = "undamaged"
    COMMUNICATED = "communicated"


class Stage(enum.StrEnum):
    CAPTURE = "capture"
    CATALOG = "catalog"
    SUPPLIER = "supplier"
    PICKING = "picking"
    PACKING = "packing"
    SHIPPING = "shipping"
    COMMUNICATION = "communication"


@dataclass(frozen=True, slots=True)
class ReturnReason:
    code: str
    label: str
    criterion: Criterion | None  # None: the customer's choice, not a failure of ours
    stage: Stage | None


RETURN_REASONS: dict[str, ReturnReason] = {
    r.code: r
    for r in (
        ReturnReason("damaged_in_transit", "Damaged in transit", Criterion.UNDAMAGED, Stage.SHIPPING),
        ReturnReason("wrong_item", "Wrong item sent", Criterion.ACCURATE, Stage.PICKING),
        ReturnReason("missing_item", "Item missing from the parcel", Criterion.COMPLETE, Stage.PACKING),
        ReturnReason("arrived_late", "Arrived too late", Criterion.ON_TIME, Stage.SHIPPING),
        ReturnReason("not_as_described", "Not as described", Criterion.ACCURATE, Stage.CATALOG),
        ReturnReason("defective", "Defective on arrival", Criterion.UNDAMAGED, Stage.SUPPLIER),
        ReturnReason("wrong_documents", "Wrong invoice or documents", Criterion.ACCURATE, Stage.PACKING),
        ReturnReason("changed_mind", "Changed mind", None, None),
        ReturnReason("no_longer_needed", "No longer needed", None, None),
        ReturnReason("better_price", "Found a better price", None, None),
    )
}


class CarrierEventType(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELAYED = "delayed"
    DAMAGED = "damaged"
    LOST = "lost"
    DESTROYED = "destroyed"  # damaged beyond delivery: like a lost parcel, it never arrives
    DELIVERED = "delivered"


# The shipment status each event leaves behind; damage does not stop the parcel, loss does.
SHIPMENT_STATUS_AFTER: dict[CarrierEventType, str] = {
    CarrierEventType.IN_TRANSIT: "in_transit",
    CarrierEventType.OUT_FOR_DELIVERY: "out_for_delivery",
    CarrierEventType.DELIVERY_ATTEMPTED: "delivery_attempted",
    CarrierEventType.DELAYED: "delayed",
    CarrierEventType.DAMAGED: "damaged",
    CarrierEventType.LOST: "lost",
    CarrierEventType.DESTROYED: "destroyed",
    CarrierEventType.DELIVERED: "delivered",
}
CLAIM_EVENTS: dict[CarrierEventType, Criterion] = {
    CarrierEventType.DAMAGED: Criterion.UNDAMAGED,
    CarrierEventType.LOST: Criterion.COMPLETE,
    CarrierEventType.DESTROYED: Criterion.COMPLETE,
}
# Events after which the parcel will never arrive: the order is judged from the claim, and what the
# parcel held can be reshipped. The issue code each one records.
PARCEL_LOSSES: dict[CarrierEventType, str] = {
    CarrierEventType.LOST: "lost_in_transit",
    CarrierEventType.DESTROYED: "destroyed_in_transit",
}


@dataclass(frozen=True, slots=True)
class PackingDifference:
    sku: str
    expected: int
    packed: int


def packing_differences(
    expected: Mapping[str, int], packed: Iterable[tuple[str, int]]
) -> list[PackingDifference]:
    """What was packed against what was picked for the order, per SKU; empty when they agree."""
    counted: Counter[str] = Counter()
    for sku, quantity in packed:
        counted[sku] += quantity
    return [
        PackingDifference(sku, expected.get(sku, 0), counted.get(sku, 0))
        for sku in sorted(set(expected) | set(counted))
        if expected.get(sku, 0) != counted.get(sku, 0)
    ]


def picking_accuracy(correct_lines: int, all_lines: int) -> float | None:
    """Correct pick lines over all pick lines; None when nothing was picked yet."""
    return None if all_lines == 0 else correct_lines / all_lines
