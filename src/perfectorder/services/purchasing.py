"""Suppliers and purchase orders: each verb one transaction, each change with its timeline event.

A receipt books its accepted units into stock with a ledger row naming the PO, in the same
transaction as the receipt, its event and the line's counters (docs/purchasing.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from perfectorder.domain.access import SYSTEM, Principal
from perfectorder.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from perfectorder.domain.purchasing import (
    RECEIVABLE,
    POEvent,
    POStatus,
    PurchaseOrder,
    check_receipt,
    expected_date,
    over_receipt,
    parse_working_days,
    receipt_limit,
    status_after_receipt,
)
from perfectorder.domain.text import check_text
from perfectorder.domain.values import has_valid_scale, is_known_currency
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.inventory import MAX_MOVEMENT, allocate_backorders, lock_waiting_orders
from perfectorder.services.po_slips import repromise_backorders
from perfectorder.services.ports import Movement, TransientConflict, UnitOfWork
from perfectorder.services.purchasing_ports import (
    NewPOLine,
    NewPurchaseOrder,
    PODetail,
    POSummary,
    SupplierProductView,
    SupplierView,
)

MAX_LEAD_TIME_DAYS = 365


@dataclass(frozen=True, slots=True)
class SupplierInput:
    code: str
    name: str
    lead_time_days: int
    working_days: str = "12345"
    contact_email: str = ""
    contact_phone: str = ""


def staff_only(caller: Principal) -> None:
    if caller.is_tenant:
        raise Forbidden("forbidden", "suppliers and purchase orders are the store's own")


def create_supplier(ctx: ServiceContext, supplier: SupplierInput) -> SupplierView:
    for name in ("code", "name", "working_days", "contact_email", "contact_phone"):
        check_text(getattr(supplier, name), name)
    if not supplier.code.strip() or not supplier.name.strip():
        raise InvalidInput("code_required", "give the supplier a code and a name", field="code")
    if not 0 <= supplier.lead_time_days <= MAX_LEAD_TIME_DAYS:
        raise InvalidInput(
            "invalid_days", f"lead time is 0 to {MAX_LEAD_TIME_DAYS} days", field="lead_time_days"
        )
    parse_working_days(supplier.working_days)

    def work(uow: UnitOfWork) -> SupplierView:
        added = uow.purchasing.add_supplier(
            code=supplier.code.strip(),
            name=supplier.name.strip(),
            lead_time_days=supplier.lead_time_days,
            working_days=supplier.working_days.strip(),
            contact_email=supplier.contact_email.strip(),
            contact_phone=supplier.contact_phone.strip(),
            at=ctx.clock.now(),
        )
        if not added:
            raise Conflict("duplicate_supplier", f"supplier {supplier.code} exists already", field="code")
        return _supplier(uow, supplier.code.strip())

    return run_transaction(ctx, work)


def list_suppliers(
    ctx: ServiceContext, *, limit: int = 200, caller: Principal = SYSTEM
) -> list[SupplierView]:
    staff_only(caller)
    return read(ctx, lambda uow: uow.purchasing.suppliers(limit=limit))


def get_supplier(ctx: ServiceContext, code: str, *, caller: Principal = SYSTEM) -> SupplierView:
    staff_only(caller)
    return read(ctx, lambda uow: _supplier(uow, code))


def _supplier(uow: UnitOfWork, code: str) -> SupplierView:
    found = uow.purchasing.supplier(code)
    if found is None:
        raise NotFound("supplier_not_found", f"no supplier has code '{code}'", field="supplier")
    return found


def add_supplier_product(ctx: ServiceContext, product: SupplierProductView) -> SupplierProductView:
    check_text(product.supplier_sku, "supplier_sku")
    if not product.supplier_sku.strip():
        raise InvalidInput("sku_required", "give the supplier's own SKU", field="supplier_sku")
    if not is_known_currency(product.currency):
        raise InvalidInput(
            "unknown_currency", f"'{product.currency}' is not a supported currency", field="currency"
        )
    if product.unit_cost < 0 or not has_valid_scale(product.unit_cost, product.currency):
        raise InvalidInput(
            "invalid_cost", f"{product.unit_cost} is not a valid {product.currency} cost", field="unit_cost"
        )
    if product.pack_size < 1 or product.min_order_qty < 1:
        raise InvalidInput(
            "invalid_quantity", "pack size and minimum order are at least 1", field="pack_size"
        )

    def work(uow: UnitOfWork) -> SupplierProductView:
        supplier = _supplier(uow, product.supplier)
        found = uow.products.get(product.sku)
        if found is None:
            raise NotFound("product_not_found", f"no product has SKU '{product.sku}'", field="sku")
        if not uow.purchasing.add_supplier_product(supplier.id, found.id, product):
            raise Conflict(
                "duplicate_supplier_product",
                f"supplier {supplier.code} lists {product.sku} already",
                field="sku",
            )
        return product

    return run_transaction(ctx, work)


def supplier_products(
    ctx: ServiceContext, supplier: str, *, caller: Principal = SYSTEM
) -> list[SupplierProductView]:
    staff_only(caller)
    return read(ctx, lambda uow: uow.purchasing.supplier_products(_supplier(uow, supplier).id))


def create_purchase_order(
    ctx: ServiceContext,
    *,
    supplier: str,
    warehouse: str,
    lines: Sequence[tuple[str, int]],
    promised_date: date | None = None,
    actor: str = "system",
) -> PODetail:
    """A draft PO of the supplier's listed products at its costs, in its packs and minimums."""
    if not lines:
        raise InvalidInput("no_lines", "a purchase order needs at least one line", field="lines")
    skus = [sku for sku, _ in lines]
    if len(set(skus)) != len(skus):
        raise InvalidInput("duplicate_line", "each SKU once per purchase order", field="lines")

    def work(uow: UnitOfWork) -> PODetail:
        found = _supplier(uow, supplier)
        warehouse_id = _warehouse_id(uow, warehouse)
        now = ctx.clock.now()
        new_lines = [_po_line(uow, found, sku, quantity) for sku, quantity in lines]
        currencies = {currency for _, currency in new_lines}
        if len(currencies) > 1:
            raise InvalidInput(
                "mixed_currencies",
                "the supplier's costs for these SKUs are in several currencies",
                field="lines",
            )
        usual = expected_date(
            now.date(), lead_time_days=found.lead_time_days, working_days=found.working_days
        )
        if promised_date is not None and promised_date < now.date():
            raise InvalidInput("date_in_past", "the promised date lies in the past", field="promised_date")
        po_id = uow.purchasing.create_po(
            NewPurchaseOrder(
                supplier_id=found.id,
                warehouse_id=warehouse_id,
                currency=currencies.pop(),
                promised_date=promised_date or usual,
                lines=tuple(line for line, _ in new_lines),
                created_at=now,
            )
        )
        event = POEvent("po.created", {"promised_date": (promised_date or usual).isoformat()})
        uow.purchasing.add_events(po_id, [event], at=now, actor=actor)
        return _detail(uow, po_id)

    return run_transaction(ctx, work)


def _po_line(uow: UnitOfWork, supplier: SupplierView, sku: str, quantity: int) -> tuple[NewPOLine, str]:
    listed = uow.purchasing.supplier_product(supplier.id, sku)
    product = uow.products.get(sku)
    if listed is None or product is None:
        raise InvalidInput(
            "not_supplied", f"supplier {supplier.code} does not list SKU '{sku}'", field="lines"
        )
    if not 0 < quantity <= MAX_MOVEMENT:
        raise InvalidInput("invalid_quantity", f"order 1 to {MAX_MOVEMENT} units of {sku}", field="lines")
    if quantity < listed.min_order_qty or quantity % listed.pack_size:
        raise InvalidInput(
            "invalid_order_quantity",
            f"{sku} is ordered in packs of {listed.pack_size}, at least {listed.min_order_qty}",
            field="lines",
            details={"sku": sku, "pack_size": listed.pack_size, "min_order_qty": listed.min_order_qty},
        )
    return NewPOLine(product.id, quantity, listed.unit_cost), listed.currency


def _warehouse_id(uow: UnitOfWork, code: str) -> int:
    found = next((w for w in uow.warehouses.reference().warehouses if w.code == code), None)
    if found is None:
        raise NotFound("warehouse_not_found", f"no active warehouse has code '{code}'", field="warehouse")
    return found.id


def send(ctx: ServiceContext, po_id: int, *, actor: str = "system") -> PODetail:
    return _change(ctx, po_id, lambda po, uow: po.send(ctx.clock.now()), actor=actor)


def confirm(
    ctx: ServiceContext, po_id: int, *, promised_date: date | None, actor: str = "system"
) -> PODetail:
    """The supplier confirms, with the date it commits to (the current one when it gives none)."""
    return _change(
        ctx,
        po_id,
        lambda po, uow: po.confirm(promised_date or po.promised_date, ctx.clock.now()),
        actor=actor,
    )


def change_date(
    ctx: ServiceContext, po_id: int, *, promised_date: date, reason: str, actor: str = "system"
) -> PODetail:
    check_text(reason, "reason")
    return _change(ctx, po_id, lambda po, uow: po.change_date(promised_date, reason), actor=actor)


def cancel(ctx: ServiceContext, po_id: int, *, reason: str = "", actor: str = "system") -> PODetail:
    check_text(reason, "reason")
    return _change(ctx, po_id, lambda po, uow: po.cancel(reason), actor=actor)


def _change(
    ctx: ServiceContext,
    po_id: int,
    verb: Callable[[PurchaseOrder, UnitOfWork], list[POEvent]],
    *,
    actor: str,
) -> PODetail:
    def work(uow: UnitOfWork) -> PODetail:
        po = _po(uow, po_id)
        before = (po.promised_date, po.status)
        events = verb(po, uow)
        if not uow.purchasing.save(po):
            raise TransientConflict("the purchase order changed while this ran")
        now = ctx.clock.now()
        uow.purchasing.add_events(po_id, events, at=now, actor=actor)
        if (po.promised_date, po.status) != before:
            # The backorders waiting for it are promised again, in this same transaction.
            why = f"purchase order {po.number} from the supplier now arrives {po.promised_date.isoformat()}"
            if po.status is POStatus.CANCELLED:
                why = f"purchase order {po.number} from the supplier was cancelled"
            repromise_backorders(uow, [x.sku for x in po.lines], now=now, actor=actor, reason=why)
        return _detail(uow, po_id)

    return run_transaction(ctx, work)


def _po(uow: UnitOfWork, po_id: int) -> PurchaseOrder:
    po = uow.purchasing.get(po_id)
    if po is None:
        raise NotFound("purchase_order_not_found", f"no purchase order {po_id}", field="po_id")
    return po


def _detail(uow: UnitOfWork, po_id: int) -> PODetail:
    found = uow.purchasing.detail(po_id)
    if found is None:
        raise NotFound("purchase_order_not_found", f"no purchase order {po_id}", field="po_id")
    return found


@dataclass(frozen=True, slots=True)
class Receipt:
    sku: str
    accepted: int
    rejected: int = 0
    reason: str | None = None  # why units were rejected (RejectionReason)
    note: str = ""


def receive(ctx: ServiceContext, po_id: int, receipt: Receipt, *, actor: str = "system") -> PODetail:
    """Accepted units go into the PO's warehouse; rejected ones are recorded with their reason and
    add nothing. Accepted units beyond ordered x (1 + allowance) are refused, 409 over_receipt."""
    reason = check_receipt(receipt.accepted, receipt.rejected, receipt.reason)
    if receipt.accepted > MAX_MOVEMENT or receipt.rejected > MAX_MOVEMENT:
        raise InvalidInput("invalid_quantity", f"receive at most {MAX_MOVEMENT} units", field="accepted")
    for name in ("sku", "note"):
        check_text(getattr(receipt, name), name)

    def work(uow: UnitOfWork) -> PODetail:
        # The PO's row first: receipts against one PO take turns, so its status follows them all.
        if not uow.purchasing.claim_for_receipt(po_id, RECEIVABLE):
            _po(uow, po_id).check_receivable()
            raise TransientConflict("the purchase order changed while this ran")
        po = _po(uow, po_id)
        line = po.line_for(receipt.sku)
        limit = receipt_limit(line.quantity, ctx.po_over_receipt_percent)
        received = uow.purchasing.receive_line(
            line.id, accepted=receipt.accepted, rejected=receipt.rejected, limit=limit
        )
        if received is None:
            raise over_receipt(line, receipt.accepted, limit)
        now = ctx.clock.now()
        uow.purchasing.add_receipt(
            po_id,
            line.id,
            accepted=receipt.accepted,
            rejected=receipt.rejected,
            reason=reason.value if reason else None,
            note=receipt.note.strip(),
            at=now,
            actor=actor,
        )
        if receipt.accepted:
            _book_stock(uow, po, receipt, at=now, actor=actor)
        uow.purchasing.add_events(po_id, _receipt_events(receipt, reason), at=now, actor=actor)
        fresh = _po(uow, po_id)
        uow.purchasing.set_status(po_id, status_after_receipt(fresh.lines))
        return _detail(uow, po_id)

    return run_transaction(ctx, work)


def _book_stock(uow: UnitOfWork, po: PurchaseOrder, receipt: Receipt, *, at: datetime, actor: str) -> None:
    product = uow.products.get(receipt.sku)
    assert product is not None  # the PO's line names it
    locked = lock_waiting_orders(uow, product.id)
    uow.stock.receive(product.id, po.warehouse_id, receipt.accepted)
    reason = f"purchase order {po.number}"
    movement = Movement(
        product.id,
        po.warehouse_id,
        "receipt",
        receipt.accepted,
        0,
        reason,
        actor,
        at,
        purchase_order_id=po.id,
    )
    uow.stock.record([movement])
    allocate_backorders(uow, product.id, po.warehouse_id, locked, now=at, actor=actor)


def _receipt_events(receipt: Receipt, reason: object) -> list[POEvent]:
    events = []
    if receipt.accepted:
        events.append(POEvent("po.received", {"sku": receipt.sku, "quantity": receipt.accepted}))
    if receipt.rejected:
        events.append(
            POEvent("po.rejected", {"sku": receipt.sku, "quantity": receipt.rejected, "reason": str(reason)})
        )
    return events


def list_purchase_orders(
    ctx: ServiceContext,
    *,
    status: str | None = None,
    supplier: str | None = None,
    after_id: int | None = None,
    limit: int = 200,
    caller: Principal = SYSTEM,
) -> list[POSummary]:
    staff_only(caller)
    if status is not None and status not in {s.value for s in POStatus}:
        raise InvalidInput(
            "invalid_status", "status is one of " + ", ".join(s.value for s in POStatus), field="status"
        )
    return read(
        ctx,
        lambda uow: uow.purchasing.summaries(
            status=status, supplier=supplier, after_id=after_id, limit=limit
        ),
    )


def get_purchase_order(ctx: ServiceContext, po_id: int, *, caller: Principal = SYSTEM) -> PODetail:
    staff_only(caller)
    return read(ctx, lambda uow: _detail(uow, po_id))
