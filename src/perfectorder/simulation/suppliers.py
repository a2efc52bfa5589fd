"""The simulated suppliers: set up through purchasing on day 0, they take purchase orders (by the
scenario's reorder rule or the store's replenishment suggestions), confirm them at their quoted
lead time, and deliver on a day drawn from their real one, short by their fill rate and partly
damaged by their defect rate. What they did is kept line by line, so a test can hold the store's
figures against it."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from perfectorder.domain.purchasing import RejectionReason, expected_date
from perfectorder.services import purchasing, replenishment
from perfectorder.services.context import ServiceContext
from perfectorder.services.purchasing import Receipt, SupplierInput
from perfectorder.services.purchasing_ports import PODetail, SupplierProductView
from perfectorder.services.views import StockView
from perfectorder.simulation.scenario import Scenario, Supplier

WORKING_DAYS = "12345"
# The replenishment plan's demand window: the store's history so far, between these bounds.
LEAST_WINDOW_DAYS, MOST_WINDOW_DAYS = 7, 56


@dataclass(slots=True)
class SuppliedLine:
    """One PO line as the simulated supplier handled it."""

    supplier: str
    po_id: int
    sku: str
    warehouse: str
    ordered: int
    promised: date  # the date the supplier confirmed (it never moves it)
    arrived: date | None = None  # the day its delivery came (None: not yet)
    delivered: int = 0  # units that came, damaged ones included
    rejected: int = 0  # of those, damaged and refused at the dock

    @property
    def on_time(self) -> bool:
        return self.arrived is not None and self.delivered > 0 and self.arrived <= self.promised


@dataclass(frozen=True, slots=True)
class SupplierTotals:
    lines: int
    ordered: int
    delivered: int
    rejected: int
    on_time: int  # lines whose units came by the promised date


@dataclass(slots=True)
class SupplyRecord:
    lines: list[SuppliedLine] = field(default_factory=list)

    def totals(self) -> dict[str, SupplierTotals]:
        by: dict[str, list[SuppliedLine]] = defaultdict(list)
        for line in self.lines:
            by[line.supplier].append(line)
        return {
            name: SupplierTotals(
                len(lines),
                sum(x.ordered for x in lines),
                sum(x.delivered for x in lines),
                sum(x.rejected for x in lines),
                sum(x.on_time for x in lines),
            )
            for name, lines in sorted(by.items())
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    po_id: int
    supplier: str
    fill: float
    defect: float


class Suppliers:
    """The outside world's suppliers; `schedule` puts a delivery on the simulation's clock."""

    def __init__(
        self,
        ctx: ServiceContext,
        scenario: Scenario,
        seed: int,
        *,
        start: datetime,
        now: Callable[[], datetime],
        schedule: Callable[[datetime, Delivery], None],
    ) -> None:
        self.ctx = ctx
        self.s = scenario
        # Their own stream: the customers' draws stay those of the same seed without suppliers.
        self.rng = random.Random(f"{seed}:suppliers")
        self.start = start
        self.now = now
        self.schedule = schedule
        self.by_name = {x.name: x for x in scenario.suppliers}
        self.supplier_of: dict[str, Supplier] = {}
        self.ordering: set[tuple[str, str]] = set()  # (sku, warehouse) with a PO out (reorder rule)
        self.record = SupplyRecord()
        self.lines_of: dict[int, list[SuppliedLine]] = {}  # PO id -> its recorded lines

    def set_up(self, stocked: Sequence[str], prices: dict[str, Decimal]) -> None:
        for supplier in self.s.suppliers:
            purchasing.create_supplier(
                self.ctx,
                SupplierInput(
                    supplier.name,
                    f"Simulated supplier {supplier.name}",
                    supplier.quoted_lead_days,
                    WORKING_DAYS,
                ),
            )
        for sku, supplier in zip(stocked, assign(self.s.suppliers, len(stocked)), strict=True):
            self.supplier_of[sku] = supplier
            cost = (prices[sku] * Decimal(str(supplier.unit_cost))).quantize(Decimal("0.01"))
            listing = SupplierProductView(
                supplier.name,
                sku,
                f"{supplier.name}-{sku}",
                cost,
                "EUR",
                supplier.pack_size,
                supplier.min_order,
            )
            purchasing.add_supplier_product(self.ctx, listing)

    # -- ordering ---------------------------------------------------------------------------------

    def reorder(self, levels: Sequence[StockView]) -> None:
        """The scenario's reorder rule, through POs: one per supplier and warehouse each evening."""
        wanted: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for level in levels:
            supplier = self.supplier_of.get(level.sku)
            key = (level.sku, level.warehouse)
            if supplier is None or key in self.ordering:
                continue
            if level.on_hand - level.reserved < self.s.reorder_point:
                wanted[(supplier.name, level.warehouse)].append(
                    (level.sku, packs(supplier, self.s.reorder_quantity))
                )
                self.ordering.add(key)
        for (name, warehouse), lines in sorted(wanted.items()):
            po = purchasing.create_purchase_order(
                self.ctx, supplier=name, warehouse=warehouse, lines=lines, actor="simulator"
            )
            self._place(po)

    def faulty(self, sku: str) -> bool:
        """Whether the customer finds the supplier's item faulty; drawn from the suppliers' own
        stream, and only for a supplier that has faults, so other scenarios draw as before."""
        supplier = self.supplier_of.get(sku)
        return supplier is not None and supplier.faulty > 0 and self.rng.random() < supplier.faulty

    def follow_suggestions(self) -> None:
        """Accepts every suggestion of the store's replenishment plan for the simulated catalog."""
        history = (self.now() - self.start).days + 1
        window = min(max(history, LEAST_WINDOW_DAYS), MOST_WINDOW_DAYS)
        picks = [
            (row.sku, row.warehouse)
            for row in replenishment.plan(self.ctx, window_days=window)
            if row.suggestion.quantity > 0 and row.supplier in self.by_name and row.sku in self.supplier_of
        ]
        if picks:
            for po in replenishment.accept(self.ctx, picks, window_days=window):
                self._place(po)

    def _place(self, po: PODetail) -> None:
        """Sends the draft, has the supplier confirm it at its quoted date, and fixes the delivery."""
        supplier = self.by_name[po.summary.supplier]
        purchasing.send(self.ctx, po.summary.id, actor="simulator")
        confirmed = purchasing.confirm(self.ctx, po.summary.id, promised_date=None, actor="simulator")
        today = self.now().date()
        leads, fill, defect = supplier.on((self.now() - self.start).days)
        arrives = expected_date(today, lead_time_days=self.rng.choice(leads), working_days=WORKING_DAYS)
        lines = [
            SuppliedLine(
                supplier.name,
                po.summary.id,
                line.sku,
                po.summary.warehouse,
                line.quantity,
                confirmed.summary.promised_date,
            )
            for line in confirmed.lines
        ]
        self.record.lines.extend(lines)
        self.lines_of[po.summary.id] = lines
        moment = datetime.combine(arrives, datetime.min.time(), UTC) + timedelta(
            hours=self.rng.randrange(8, 16)
        )
        self.schedule(moment, Delivery(po.summary.id, supplier.name, fill, defect))

    # -- delivering -------------------------------------------------------------------------------

    def deliver(self, delivery: Delivery) -> None:
        """Each line: fill x ordered units come (drawn unit by unit), defect x of them damaged and
        rejected; what stays missing is closed with the PO, as a buyer would after a short delivery."""
        today = self.now().date()
        lines = self.lines_of.pop(delivery.po_id)
        for line in lines:
            line.arrived = today
            line.delivered = binomial(self.rng, line.ordered, delivery.fill)
            line.rejected = binomial(self.rng, line.delivered, delivery.defect)
            self.ordering.discard((line.sku, line.warehouse))
            if line.delivered == 0:
                continue
            receipt = Receipt(
                line.sku,
                accepted=line.delivered - line.rejected,
                rejected=line.rejected,
                reason=RejectionReason.DAMAGED.value if line.rejected else None,
            )
            purchasing.receive(self.ctx, delivery.po_id, receipt, actor="simulator")
        if any(x.delivered - x.rejected < x.ordered for x in lines):
            # Still open, the PO's missing units would count as on order for good.
            purchasing.cancel(self.ctx, delivery.po_id, reason="short delivery", actor="simulator")


def assign(suppliers: Sequence[Supplier], products: int) -> list[Supplier]:
    """Products to suppliers in turn, each next to the one furthest behind its share: equal shares
    are plain round robin, so no supplier gets all the best sellers."""
    total = sum(x.share for x in suppliers)
    given = [0] * len(suppliers)
    out = []
    for n in range(1, products + 1):
        behind = [x.share / total * n - given[i] for i, x in enumerate(suppliers)]
        pick = max(range(len(suppliers)), key=lambda i: (behind[i], -i))
        given[pick] += 1
        out.append(suppliers[pick])
    return out


def packs(supplier: Supplier, quantity: int) -> int:
    """`quantity`, at least the supplier's minimum, rounded up to whole packs."""
    wanted = max(quantity, supplier.min_order, 1)
    return -(-wanted // supplier.pack_size) * supplier.pack_size


def binomial(rng: random.Random, n: int, p: float) -> int:
    # Certain outcomes draw nothing, so a perfect supplier leaves the stream as it was.
    if p <= 0 or n == 0:
        return 0
    if p >= 1:
        return n
    return sum(rng.random() < p for _ in range(n))
