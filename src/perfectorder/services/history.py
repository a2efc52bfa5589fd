"""Recording orders that already happened elsewhere, as they happened: their own times, states,
shipments and timeline, without reserving today's stock and without messaging anyone."""

from __future__ import annotations

import hashlib
import queue
import threading
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
    order_ref_of,
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


Rows = Callable[[], Iterable[tuple[int, Mapping[str, str | None]]]]


def import_history(
    ctx: ServiceContext,
    rows: Rows,
    mapping: HistoryMapping,
    *,
    source: str,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> HistoryResult:
    """Groups the rows into orders by their reference and records each order once: an order already
    imported (same channel and reference) is counted as a duplicate and left as it is. `rows` opens
    the file afresh each time it is called: it is read twice."""
    # A first pass reads only each row's order reference, to know where each order's last row is.
    # It also meets a file that cannot be read before anything is written.
    last_row: dict[str, int] = {}
    for number, row in rows():
        last_row[order_ref_of(mapping, row)] = number
    result = HistoryResult(orders=len(last_row) - ("" in last_row))
    grouped: dict[str, HistoricalOrder] = {}
    failed: dict[str, Reject] = {}  # the first rejected row of each order reference
    complete: list[HistoricalOrder] = []
    writer = _Writer(ctx, mapping, source)
    try:
        for number, row in rows():
            result.rows += 1
            if progress is not None and result.rows % 5000 == 0:
                progress(result.rows)
            ref = order_ref_of(mapping, row)
            try:
                parsed = parse_row(mapping, row)
            except RowError as e:
                reject = Reject(number, ref, e.code, e.column, e.message)
                result.rejects.append(reject)
                if ref:
                    failed.setdefault(ref, reject)
            else:
                parsed.first_row = number
                parsed.rows = [number]
                result.implausible_dates += len(parsed.implausible)
                known = grouped.get(ref)
                if known is None:
                    grouped[ref] = parsed
                else:
                    merge(known, parsed)
            if last_row.get(ref) != number:
                continue
            # The order's last row: it is whole (written with the next chunk) or rejected whole.
            order = grouped.pop(ref, None)
            if ref in failed:
                _reject_whole_order(ref, order, failed.pop(ref), result)
            elif order is not None:
                complete.append(order)
                if len(complete) >= chunk:
                    writer.submit(complete)
                    complete = []
        writer.submit(complete)
    finally:
        writer.close()
    if progress is not None:
        progress(result.rows)
    result.imported, result.duplicates = writer.imported, writer.duplicates
    result.rejects.sort(key=lambda r: r.row)
    if result.imported:
        run_transaction(ctx, lambda uow: uow.history.refresh_statistics())
    return result


class _Writer:
    """Records completed orders a chunk at a time on a thread of its own, while the file is still
    being parsed: the database's work on one chunk overlaps the parsing of the next (two cores, one
    Python). One chunk waits at most; an error stops the import at the next chunk."""

    def __init__(self, ctx: ServiceContext, mapping: HistoryMapping, source: str) -> None:
        self._ctx, self._mapping, self._source = ctx, mapping, source
        self._chunks: queue.Queue[list[HistoricalOrder] | None] = queue.Queue(maxsize=1)
        self.imported = self.duplicates = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="perfectorder-history-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (part := self._chunks.get()) is not None:
            if self._error is not None:
                continue
            try:
                imported, duplicates = run_transaction(
                    self._ctx, _recorder(part, self._mapping, self._source)
                )
            except BaseException as e:  # noqa: BLE001 - raised again in the reading thread
                self._error = e
            else:
                self.imported += imported
                self.duplicates += duplicates

    def submit(self, part: list[HistoricalOrder]) -> None:
        if self._error is not None:
            raise self._error
        if part:
            self._chunks.put(part)

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _reject_whole_order(
    ref: str, order: HistoricalOrder | None, cause: Reject, result: HistoryResult
) -> None:
    """An order is imported whole or not at all: half an order would be judged on the lines that
    happened to parse, and a corrected file could never add the rest ("already imported"). Its
    other rows go to the reject file too, naming the row that failed."""
    for number in order.rows if order is not None else ():
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
