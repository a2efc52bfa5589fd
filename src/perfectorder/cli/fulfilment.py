"""Operators' commands for the warehouse and after: picks, packs, shipments, returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.cli.common import console, run
from perfectorder.domain.errors import InvalidInput
from perfectorder.services import aftersales, facts, fulfilment

picks = typer.Typer(help="Pick lists: release orders, waves, scans, short picks.", no_args_is_help=True)
packs = typer.Typer(help="Pack picked orders (with the packing check).", no_args_is_help=True)
shipments = typer.Typer(help="Hand packages to carriers.", no_args_is_help=True)
returns = typer.Typer(help="Return authorisations and their inspection.", no_args_is_help=True)


def _items(values: list[str], option: str) -> list[tuple[str, int]]:
    items = []
    for value in values:
        sku, _, quantity = value.rpartition(":")
        if not sku or not quantity.isdigit():
            raise typer.BadParameter(
                f"use SKU:QUANTITY, e.g. MUG-CERAMIC-BLUE:2 (got {value!r})", param_hint=option
            )
        items.append((sku, int(quantity)))
    return items


@picks.command("release")
def picks_release(order_id: Annotated[int, typer.Argument(help="Order id")]) -> None:
    """Put an approved order's reserved units on pick lists (one per warehouse, in bin order)."""
    lists = run(lambda a: fulfilment.release_to_picking(a.services, order_id))
    console.print(f"order {order_id} on pick list(s) {', '.join(map(str, lists))}")


@picks.command("wave")
def picks_wave(
    warehouse: Annotated[str, typer.Option(help="Warehouse code")],
    ship_by: Annotated[str, typer.Option(help="Include orders due to ship by this day (YYYY-MM-DD)")],
    limit: Annotated[int, typer.Option(min=1, max=2000, help="At most this many orders")] = 200,
) -> None:
    """Batch a warehouse's approved orders due by the carrier cut-off day into one pick list."""
    lists = run(
        lambda a: fulfilment.create_wave(
            a.services, warehouse=warehouse, ship_by=date.fromisoformat(ship_by), limit=limit
        )
    )
    console.print(f"wave pick list {lists[0]}" + (f" (+ lists {lists[1:]} elsewhere)" if lists[1:] else ""))


@picks.command("show")
def picks_show(pick_list_id: Annotated[int, typer.Argument(help="Pick list id")]) -> None:
    """The tasks of a pick list in walking order."""
    table = Table("task", "order", "bin", "sku", "qty", "picked", "status")
    for t in run(lambda a: facts.pick_list(a.services, pick_list_id)):
        table.add_row(
            str(t.id), str(t.order_id), t.bin_location, t.sku, str(t.quantity), str(t.picked_qty), t.status
        )
    console.print(table)


@picks.command("scan")
def picks_scan(
    task_id: Annotated[int, typer.Argument(help="Pick task id")],
    code: Annotated[str, typer.Argument(help="Scanned SKU or barcode")],
    quantity: Annotated[int, typer.Option(min=1, help="Units in this scan")] = 1,
) -> None:
    """Confirm a pick by scan; a wrong item is refused and recorded as a picking error."""
    result = run(lambda a: fulfilment.scan(a.services, task_id, code=code, quantity=quantity))
    console.print(f"task {task_id}: scanned {quantity} x {result.task.sku}")


@picks.command("short")
def picks_short(
    task_id: Annotated[int, typer.Argument(help="Pick task id")],
    found: Annotated[int, typer.Option(min=0, help="Units really at the bin, in all")],
) -> None:
    """Report a short pick: the rest is re-sourced from another warehouse or backordered."""
    run(lambda a: fulfilment.short_pick(a.services, task_id, found=found))
    console.print(f"task {task_id}: short, {found} found; the rest is re-sourced or backordered")


@packs.command("create")
def packs_create(
    order_id: Annotated[int, typer.Argument(help="Order id")],
    item: Annotated[list[str], typer.Option(help="SKU:QUANTITY, repeat for each item")],
    weight: Annotated[str, typer.Option(help="Kilograms, e.g. 1.8")],
    size: Annotated[str, typer.Option(help="Centimetres LxWxH, e.g. 40x30x20")],
    warehouse: Annotated[str | None, typer.Option(help="Packing warehouse (needed for split orders)")] = None,
) -> None:
    """Pack one package; a difference from what was picked is recorded as a packing error."""
    dims = tuple(int(x) for x in size.lower().split("x"))
    if len(dims) != 3:
        raise typer.BadParameter("use LxWxH in centimetres", param_hint="--size")
    spec = fulfilment.PackageSpec(
        tuple(_items(item, "--item")), Decimal(weight), (dims[0], dims[1], dims[2]), warehouse
    )
    ids = run(lambda a: fulfilment.pack(a.services, order_id, [spec]))
    console.print(f"order {order_id}: package {ids[0]} packed")


@shipments.command("ship")
def shipments_ship(
    order_id: Annotated[int, typer.Argument(help="Order id")],
    package_id: Annotated[int, typer.Argument(help="Package id")],
    carrier: Annotated[str, typer.Option(help="Carrier name")],
    tracking: Annotated[str, typer.Option(help="Tracking number")],
    service: Annotated[str, typer.Option(help="Service level")] = "standard",
) -> None:
    """Hand a package to the carrier."""
    shipment_id = run(
        lambda a: fulfilment.ship(
            a.services, order_id, package_id, carrier=carrier, service=service, tracking_number=tracking
        )
    )
    console.print(f"shipment {shipment_id}: {carrier} {tracking}")


@returns.command("open")
def returns_open(
    order_id: Annotated[int, typer.Argument(help="Order id")],
    reason: Annotated[
        str, typer.Option(help="damaged_in_transit, wrong_item, missing_item, arrived_late, ...")
    ],
    item: Annotated[list[str], typer.Option(help="SKU:QUANTITY coming back, repeat for each")],
    note: Annotated[str, typer.Option(help="What the customer said")] = "",
) -> None:
    """Authorise a return; the reason names the Perfect Order criterion and stage that failed."""
    record = run(
        lambda a: aftersales.open_return(
            a.services, order_id, reason=reason, lines=_items(item, "--item"), note=note
        )
    )
    failed = f"{record.criterion} / {record.stage}" if record.criterion else "not a failure"
    console.print(f"return {record.id} authorised ({reason}: {failed})")


@returns.command("receive")
def returns_receive(
    return_id: Annotated[int, typer.Argument(help="Return id")],
    restock: Annotated[list[str], typer.Option(help="SKU:QUANTITY back to stock")] = [],  # noqa: B006
    scrap: Annotated[list[str], typer.Option(help="SKU:QUANTITY written off")] = [],  # noqa: B006
    refund: Annotated[str | None, typer.Option(help="Refund amount; default: what the items cost")] = None,
    exchange: Annotated[bool, typer.Option(help="Ship the same items again as a linked order")] = False,
) -> None:
    """Inspect a return: restock or scrap each unit, then refund or exchange."""
    counts: dict[str, list[int]] = {}
    for sku, qty in _items(restock, "--restock"):
        counts.setdefault(sku, [0, 0])[0] += qty
    for sku, qty in _items(scrap, "--scrap"):
        counts.setdefault(sku, [0, 0])[1] += qty
    if not counts:
        raise InvalidInput("no_lines", "say what was restocked or scrapped", field="restock")
    lines = [aftersales.ReceivedLine(sku, r, s) for sku, (r, s) in counts.items()]
    record = run(
        lambda a: aftersales.receive_return(
            a.services, return_id, lines=lines, refund=Decimal(refund) if refund else None, exchange=exchange
        )
    )
    extra = f", exchange order {record.exchange_order_id}" if record.exchange_order_id else ""
    console.print(f"return {return_id} received: refund {record.refund_amount}{extra}")
