"""How well a supplier delivers: each purchase order line judged against the date first promised
(a confirmed or changed date never excuses it, as with customer promises), and the supplier's
share of customer returns for defects.

A line is **due** once its first promised day has ended, or once it is complete or its order closed.
**In full on time**: the units accepted by the end of that day reach what was ordered. **On time**:
its first delivery came by then, whatever the quantity. **Fill rate**: units accepted of units
ordered on due lines. **Rejection rate**: units rejected at receipt of units delivered. **Lead
time**: days from sending the order to the line's first delivery.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class LineFacts:
    supplier: str
    sku: str
    ordered: int
    original_promised: date
    sent_at: datetime | None
    closed: bool  # its order is received in full or cancelled
    receipts: tuple[tuple[datetime, int, int], ...]  # (when, accepted, rejected), oldest first
    created_on: date | None = None  # the day its purchase order was made (the trend's period)


@dataclass(frozen=True, slots=True)
class LineJudgement:
    due: bool
    on_time: bool
    in_full_on_time: bool
    accepted: int
    rejected: int
    lead_days: float | None


def judge(line: LineFacts, now: datetime) -> LineJudgement:
    deadline = datetime.combine(line.original_promised + timedelta(days=1), time(), UTC)
    accepted = sum(a for _, a, _ in line.receipts)
    rejected = sum(r for _, _, r in line.receipts)
    by_deadline = sum(a for at, a, _ in line.receipts if at < deadline)
    first = line.receipts[0][0] if line.receipts else None
    return LineJudgement(
        due=now >= deadline or accepted >= line.ordered or line.closed,
        on_time=first is not None and first < deadline,
        in_full_on_time=by_deadline >= line.ordered,
        accepted=accepted,
        rejected=rejected,
        lead_days=(first - line.sent_at).total_seconds() / 86400 if first and line.sent_at else None,
    )


@dataclass(frozen=True, slots=True)
class SupplierScores:
    supplier: str
    lines: int
    due: int
    on_time: int
    in_full_on_time: int
    ordered_due: int  # units ordered on due lines
    accepted_due: int
    accepted: int
    rejected: int
    lead_days: tuple[float, ...]  # sorted
    quoted_lead_days: int | None
    returned_defective: int = 0  # units returned by customers as defective, of its SKUs
    shipped: int = 0  # units of its SKUs shipped to customers

    @property
    def otif_rate(self) -> float | None:
        return self.in_full_on_time / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def fill_rate(self) -> float | None:
        return self.accepted_due / self.ordered_due if self.ordered_due else None

    @property
    def rejection_rate(self) -> float | None:
        delivered = self.accepted + self.rejected
        return self.rejected / delivered if delivered else None

    @property
    def defect_rate(self) -> float | None:
        return self.returned_defective / self.shipped if self.shipped else None

    def lead_quantile(self, q: float) -> float | None:
        if not self.lead_days:
            return None
        return self.lead_days[max(math.ceil(q * len(self.lead_days)) - 1, 0)]


def score(
    lines: Iterable[LineFacts],
    now: datetime,
    *,
    quoted: dict[str, int] | None = None,
    returns: dict[str, tuple[int, int]] | None = None,
) -> list[SupplierScores]:
    """Per supplier, its lines' judgements summed; `returns` maps a supplier to (units returned as
    defective, units shipped) of its SKUs."""
    grouped: dict[str, list[tuple[LineFacts, LineJudgement]]] = defaultdict(list)
    for line in lines:
        grouped[line.supplier].append((line, judge(line, now)))
    names = set(grouped) | set(returns or {})
    out = []
    for name in sorted(names):
        pairs = grouped.get(name, [])
        judged = [j for _, j in pairs]
        due = [j for j in judged if j.due]
        defective, shipped = (returns or {}).get(name, (0, 0))
        out.append(
            SupplierScores(
                supplier=name,
                lines=len(judged),
                due=len(due),
                on_time=sum(1 for j in due if j.on_time),
                in_full_on_time=sum(1 for j in due if j.in_full_on_time),
                ordered_due=sum(line.ordered for line, j in pairs if j.due),
                # Units beyond the order (an allowed over-receipt) fill nothing more.
                accepted_due=sum(min(j.accepted, line.ordered) for line, j in pairs if j.due),
                accepted=sum(j.accepted for j in judged),
                rejected=sum(j.rejected for j in judged),
                lead_days=tuple(sorted(j.lead_days for j in judged if j.lead_days is not None)),
                quoted_lead_days=(quoted or {}).get(name),
                returned_defective=defective,
                shipped=shipped,
            )
        )
    return out
