"""Live orders from a file: each order goes through the same verification, promise and stock
reservation as one placed over the API, in its own transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import DomainError
from perfectorder.domain.imports import RowError, order_command, order_key
from perfectorder.services.context import ServiceContext
from perfectorder.services.history import Reject
from perfectorder.services.placing import place_order


@dataclass(slots=True)
class OrderImportResult:
    rows: int = 0
    orders: int = 0
    placed: int = 0
    already_placed: int = 0
    rejects: list[Reject] = field(default_factory=list)
    placed_ids: list[int] = field(default_factory=list)

    def rejected_by_code(self) -> Counter[str]:
        return Counter(r.code for r in self.rejects)


def import_orders(
    ctx: ServiceContext,
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    *,
    caller: Principal = SYSTEM,
    progress: Callable[[int], None] | None = None,
) -> OrderImportResult:
    """Places every order of the file; an order refused for any reason rejects all of its rows, and
    an order the channel already has (same external_ref) is left alone, so a re-run is harmless."""
    result = OrderImportResult()
    grouped: dict[tuple[str, str], list[tuple[int, Mapping[str, str | None]]]] = {}
    for number, row in rows:
        result.rows += 1
        grouped.setdefault(order_key(row), []).append((number, row))
    result.orders = len(grouped)
    for done, ((_, ref), group) in enumerate(grouped.items(), start=1):
        try:
            view = place_order(ctx, order_command([row for _, row in group]), caller=caller)
        except RowError as e:
            result.rejects += [Reject(n, ref, e.code, e.column, e.message) for n, _ in group]
        except DomainError as e:
            if e.code == "duplicate_order":
                result.already_placed += 1
            else:
                result.rejects += [Reject(n, ref, e.code, e.field or "", e.message) for n, _ in group]
        else:
            result.placed += 1
            result.placed_ids.append(view.id)
        if progress is not None:
            progress(done)
    return result
