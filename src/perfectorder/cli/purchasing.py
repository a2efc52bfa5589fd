"""`perfectorder suppliers ...` and `perfectorder po ...`: suppliers and purchase orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.cli.common import console, run
from perfectorder.services import purchasing
from perfectorder.services.purchasing_ports import PODetail, SupplierProductView

suppliers_app = typer.Typer(help="Suppliers and the products they sell us.", no_args_is_help=True)
po_app = typer.Typer(help="Purchase orders: create, send, confirm, receive, cancel.", no_args_is_help=True)
CLI = "cli"


@suppliers_app.command("add")
def add_supplier(
    code: str,
    name: str,
    lead_time_days: Annotated[int, typer.Option("--lead-time-days")] = 14,
    working_days: Annotated[str, typer.Option(help="ISO weekdays worked, Monday 1")] = "12345",
    email: str = "",
    phone: str = "",
) -> None:
    made = run(
        lambda a: purchasing.create_supplier(
            a.services, purchasing.SupplierInput(code, name, lead_time_days, working_days, email, phone)
        )
    )
    console.print(f"supplier {made.code} added: {made.lead_time_days} working days' lead time")


@suppliers_app.command("add-product")
def add_product(
    supplier: str,
    sku: str,
    supplier_sku: str,
    unit_cost: str,
    currency: str,
    pack_size: int = 1,
    min_order_qty: int = 1,
) -> None:
    view = SupplierProductView(
        supplier, sku, supplier_sku, Decimal(unit_cost), currency, pack_size, min_order_qty
    )
    run(lambda a: purchasing.add_supplier_product(a.services, view))
    console.print(f"{supplier} sells {sku} as {supplier_sku} at {unit_cost} {currency}")


@suppliers_app.command("list")
def list_suppliers() -> None:
    table = Table("code", "name", "lead time", "working days", "e-mail", "phone")
    for s in run(lambda a: purchasing.list_suppliers(a.services)):
        table.add_row(s.code, s.name, str(s.lead_time_days), s.working_days, s.contact_email, s.contact_phone)
    console.print(table)


def _show(found: PODetail) -> None:
    s = found.summary
    console.print(
        f"{s.number} (id {s.id}) {s.status}: {s.supplier} to {s.warehouse}, promised {s.promised_date} "
        f"(first {s.original_promised_date}), {s.value} {s.currency}"
    )
    lines = Table("sku", "ordered", "received", "rejected", "outstanding", "unit cost")
    for x in found.lines:
        lines.add_row(
            x.sku,
            str(x.quantity),
            str(x.received_qty),
            str(x.rejected_qty),
            str(x.outstanding),
            str(x.unit_cost),
        )
    console.print(lines)
    if found.receipts:
        receipts = Table("received at", "sku", "accepted", "rejected", "reason", "actor")
        for r in found.receipts:
            receipts.add_row(
                str(r.received_at), r.sku, str(r.accepted), str(r.rejected), r.reason or "", r.actor
            )
        console.print(receipts)
    for e in found.timeline:
        console.print(f"  {e.occurred_at:%Y-%m-%d %H:%M} {e.type} {e.data}")


@po_app.command("create")
def create(
    supplier: str,
    warehouse: str,
    lines: Annotated[list[str], typer.Argument(help="SKU=QUANTITY ...")],
    promised_date: Annotated[str | None, typer.Option("--promised-date")] = None,
) -> None:
    parsed = []
    for text in lines:
        sku, _, quantity = text.partition("=")
        if not quantity.isdigit():
            raise typer.BadParameter(f"{text!r}: write SKU=QUANTITY")
        parsed.append((sku, int(quantity)))
    day = date.fromisoformat(promised_date) if promised_date else None
    _show(
        run(
            lambda a: purchasing.create_purchase_order(
                a.services, supplier=supplier, warehouse=warehouse, lines=parsed, promised_date=day, actor=CLI
            )
        )
    )


@po_app.command("list")
def list_pos(status: str | None = None, supplier: str | None = None, limit: int = 50) -> None:
    table = Table(
        "id",
        "number",
        "supplier",
        "warehouse",
        "status",
        "promised",
        "original",
        "ordered",
        "received",
        "rejected",
    )
    found = run(
        lambda a: purchasing.list_purchase_orders(a.services, status=status, supplier=supplier, limit=limit)
    )
    for s in found:
        table.add_row(
            str(s.id),
            s.number,
            s.supplier,
            s.warehouse,
            s.status,
            str(s.promised_date),
            str(s.original_promised_date),
            str(s.ordered),
            str(s.received),
            str(s.rejected),
        )
    console.print(table)


@po_app.command("show")
def show(po_id: int) -> None:
    _show(run(lambda a: purchasing.get_purchase_order(a.services, po_id)))


@po_app.command("send")
def send(po_id: int) -> None:
    _show(run(lambda a: purchasing.send(a.services, po_id, actor=CLI)))


@po_app.command("confirm")
def confirm(po_id: int, promised_date: Annotated[str | None, typer.Option("--promised-date")] = None) -> None:
    day = date.fromisoformat(promised_date) if promised_date else None
    _show(run(lambda a: purchasing.confirm(a.services, po_id, promised_date=day, actor=CLI)))


@po_app.command("change-date")
def change_date(po_id: int, promised_date: str, reason: str) -> None:
    day = date.fromisoformat(promised_date)
    _show(
        run(lambda a: purchasing.change_date(a.services, po_id, promised_date=day, reason=reason, actor=CLI))
    )


@po_app.command("receive")
def receive(
    po_id: int,
    sku: str,
    accepted: int = 0,
    rejected: int = 0,
    reason: Annotated[str | None, typer.Option(help="damaged, wrong_item, short_shelf_life, other")] = None,
    note: str = "",
) -> None:
    receipt = purchasing.Receipt(sku, accepted, rejected, reason, note)
    _show(run(lambda a: purchasing.receive(a.services, po_id, receipt, actor=CLI)))


@po_app.command("cancel")
def cancel(po_id: int, reason: str = "") -> None:
    _show(run(lambda a: purchasing.cancel(a.services, po_id, reason=reason, actor=CLI)))
