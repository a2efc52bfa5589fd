"""Recording orders that already happened elsewhere, as they happened: their own times, states,
shipments and timeline, without reserving today's stock and without messaging anyone."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from perfectorder.domain.imports import (
    HistoricalOrder,
    HistoryLine,
    HistoryMapping,
    RowError,
    closing_status,
    merge,
    parse_row,
    unique_lines,
    unmeasured,
)
from perfectorder.domain.orders import OrderStatus
from perfectorder.domain.values import Address, BackorderPolicy
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.history_ports import PastOrder, PastProduct, PastShipment
from perfectorder.services.ports import NewEvent, NewLine, NewOrder, UnitOfWork
from perfectorder.services.verdict_ports import LineSchedule

CHUNK = 5000
NOT_SHIPPED = (OrderStatus.CANCELLED, OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.APPROVED)


@dataclass(frozen=True, slots=True)
class Reject:
    row: int
    order_ref: str
    code: str
    column: str
    message: str


@dataclass(slots=True)
class HistoryResult:
    rows: int = 0
    orders: int = 0
    imported: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)
    implausible_dates: int = 0  # dates long before their order, read as missing


def import_history(
    ctx: ServiceContext,
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    mapping: HistoryMapping,
    *,
    source: str,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> HistoryResult:
    """Groups the rows into orders by their reference and records each order once: an order already
    imported (same channel and reference) is counted as a duplicate and left as it is."""
    result = HistoryResult()
    grouped: dict[str, HistoricalOrder] = {}
    failed: dict[str, Reject] = {}  # the first rejected row of each order reference
    for number, row in rows:
        result.rows += 1
        if progress is not None and result.rows % 5000 == 0:
            progress(result.rows)
        try:
            parsed = parse_row(mapping, row)
        except RowError as e:
            ref = (row.get(mapping.column("order_ref") or "") or "").strip()
            reject = Reject(number, ref, e.code, e.column, e.message)
            result.rejects.append(reject)
            if ref:
                failed.setdefault(ref, reject)
            continue
        parsed.first_row = number
        parsed.rows = [number]
        result.implausible_dates += len(parsed.implausible)
        known = grouped.get(parsed.order_ref)
        if known is None:
            grouped[parsed.order_ref] = parsed
        else:
            merge(known, parsed)
    if progress is not None:
        progress(result.rows)
    _reject_whole_orders(grouped, failed, result)
    result.orders = len(grouped) + len(failed)
    pending = list(grouped.values())
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        imported, duplicates = run_transaction(ctx, _recorder(part, mapping, source))
        result.imported += imported
        result.duplicates += duplicates
    if result.imported:
        run_transaction(ctx, lambda uow: uow.history.refresh_statistics())
    return result


def _reject_whole_orders(
    grouped: dict[str, HistoricalOrder], failed: Mapping[str, Reject], result: HistoryResult
) -> None:
    """An order is imported whole or not at all: half an order would be judged on the lines that
    happened to parse, and a corrected file could never add the rest ("already imported"). Its
    other rows go to the reject file too, naming the row that failed."""
    for ref, cause in failed.items():
        order = grouped.pop(ref, None)
        if order is None:
            continue
        for number in order.rows:
            result.rejects.append(
                Reject(
                    number,
                    ref,
                    "order_row_rejected",
                    cause.column,
                    f"row {cause.row} of order {ref} was rejected ({cause.code}: {cause.message}); an "
                    "order is imported whole or not at all: correct that row and import the file again",
                )
            )
    result.rejects.sort(key=lambda r: r.row)


def _recorder(
    part: list[HistoricalOrder], mapping: HistoryMapping, source: str
) -> Callable[[UnitOfWork], tuple[int, int]]:
    return lambda uow: _record(uow, part, mapping, source)


def _record(
    uow: UnitOfWork, part: list[HistoricalOrder], mapping: HistoryMapping, source: str
) -> tuple[int, int]:
    history = uow.history
    fresh: list[HistoricalOrder] = []
    duplicates = 0
    for channel in sorted({o.channel.value for o in part}):
        mine = [o for o in part if o.channel.value == channel]
        seen = history.existing_refs(channel, [o.order_ref for o in mine])
        duplicates += sum(1 for o in mine if o.order_ref in seen)
        fresh += [o for o in mine if o.order_ref not in seen]
    if not fresh:
        return 0, duplicates
    earliest = min(o.ordered_at for o in fresh)
    customer_ids = history.customers_by_ref([_customer_ref(o) for o in fresh], created_at=earliest)
    wanted = {
        x.sku: PastProduct(x.sku, x.unit_price or Decimal(0), o.currency, x.category)
        for o in fresh
        for x in o.lines
    }
    product_ids = history.products_by_sku(list(wanted.values()), created_at=earliest) if wanted else {}
    warehouse_ids = {code: history.warehouse_id(code) for code in sorted({o.warehouse for o in fresh})}
    past = [_past(o, mapping, source, customer_ids, product_ids, warehouse_ids) for o in fresh]
    ids = history.add_orders(past)
    uow.verdicts.enqueue(ids, at=max(o.ordered_at for o in fresh))
    return len(past), duplicates


def _customer_ref(order: HistoricalOrder) -> str:
    # Without a customer reference each order stands alone, so it cannot inflate anyone's repeat rate.
    return order.customer_ref or f"anonymous:{order.channel.value}:{order.order_ref}"[:100]


def _past(
    o: HistoricalOrder,
    mapping: HistoryMapping,
    source: str,
    customer_ids: Mapping[str, int],
    product_ids: Mapping[str, int],
    warehouse_ids: Mapping[str, int],
) -> PastOrder:
    status = closing_status(o)
    cancelled = status is OrderStatus.CANCELLED
    # Delivered, the file says, but not when: the parcel is recorded as delivered at an unknown time
    # (from the latest time known, a lower bound), so the order is judged, complete and not on time.
    delivered_unknown = status is OrderStatus.DELIVERED and o.delivered_at is None
    shipped_at = o.shipped_at or o.delivered_at
    if delivered_unknown and shipped_at is None:
        shipped_at = o.approved_at or o.ordered_at
    ships = not cancelled and shipped_at is not None and status not in NOT_SHIPPED
    delivered_at = o.delivered_at if ships else None
    known = [t for t in (o.ordered_at, o.approved_at, o.shipped_at, o.delivered_at) if t is not None]
    cancelled_at = max(known) if cancelled else None
    missing = set(unmeasured(o))
    if o.promised_on is None or delivered_unknown:
        missing.add("on_time")  # no promise, or no delivery time, in the file: lateness cannot be judged
    promised = o.promised_on or (delivered_at or o.ordered_at).date()
    kept = unique_lines(o.lines)
    lines = [
        NewLine(n, product_ids[x.sku], x.sku, x.quantity, x.unit_price or Decimal(0), 0)
        for n, x in enumerate(kept, start=1)
    ]
    actor = f"import:{source}"[:100]
    data = {"source": source, "row": o.first_row}
    events = [NewEvent("order.placed", o.ordered_at, actor, data)]
    if o.approved_at is not None:
        events.append(NewEvent("order.approved", o.approved_at, actor, data))
    if ships and shipped_at is not None and (o.shipped_at or o.delivered_at):
        events.append(NewEvent("order.shipped", shipped_at, actor, {**data, "carrier": o.carrier}))
    if delivered_at is not None:
        events.append(NewEvent("order.delivered", delivered_at, actor, data))
    if cancelled_at is not None:
        events.append(NewEvent("order.cancelled", cancelled_at, actor, data))
    customer_ref = _customer_ref(o)
    order = NewOrder(
        channel=o.channel.value,
        external_ref=o.order_ref,
        customer_id=customer_ids[customer_ref],
        status=status.value,
        currency=o.currency,
        total=sum((x.unit_price * x.quantity for x in lines), Decimal(0)),
        address=Address(
            name=customer_ref, line1="", city="", postal_code="", country=o.country, timezone=mapping.timezone
        ),
        shipping_service="standard",
        backorder_policy=BackorderPolicy.REJECT.value,
        requested_delivery_date=None,
        # The file has no ship-by promise; the delivery promise is the only one we can hold it to.
        promised_ship_date=promised,
        promised_date=promised,
        payment_method=None,
        payment_status=None,
        payment_authorized=None,
        payment_reference=None,
        note=f"imported from {source}, row {o.first_row}"[:1000],
        placed_at=o.ordered_at,
        approved_at=o.approved_at,
        promised_by=o.promised_by,
        promised_from=o.promised_from,
        on_time_basis=mapping.on_time_basis,
        grace_minutes=mapping.grace_minutes,
    )
    shipment = None
    if ships and shipped_at is not None:
        tracking = "H-" + hashlib.sha256(f"{o.channel.value}:{o.order_ref}".encode()).hexdigest()[:30]
        shipment = PastShipment(
            warehouse_ids[o.warehouse], o.carrier, tracking, shipped_at, delivered_at, delivered_unknown
        )
    return PastOrder(
        order=order,
        unmeasured=frozenset(missing),
        cancelled_at=cancelled_at,
        shipped_at=shipped_at if ships else None,
        delivered_at=delivered_at,
        lines=lines,
        shipment=shipment,
        events=events,
        rating=o.rating,
        schedules=_schedules(o, kept) if ships else {},
    )


def _schedules(o: HistoricalOrder, lines: list[HistoryLine]) -> dict[int, LineSchedule]:
    """The lines whose own promise or arrival differs from the order's (split deliveries, per-line
    promises): only those carry a schedule, the rest are held to the order's."""
    order = (o.promised_on, o.promised_by, o.promised_from)
    out = {}
    for n, x in enumerate(lines, start=1):
        promise = (x.promised_on, x.promised_by, x.promised_from)
        own_promise = x.promised_on is not None and promise != order
        own_arrival = x.delivered_at is not None and x.delivered_at != o.delivered_at
        if own_promise or own_arrival:
            promised = promise if x.promised_on is not None else order
            out[n] = LineSchedule(*promised, x.delivered_at)
    return out
