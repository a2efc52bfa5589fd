"""Money commands: an order's or a customer's payments, invoices settled, captures by hand."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.cli.common import console, run
from perfectorder.domain.values import in_minor_units
from perfectorder.services import payments as payment_service
from perfectorder.services.views import PaymentRecord

payments = typer.Typer(help="Payments: list, settle invoices, capture by hand.", no_args_is_help=True)


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation as e:
        raise typer.BadParameter(f"an amount such as 120.50 (got {value!r})", param_hint="--amount") from e


@payments.command("list")
def payments_list(
    order: Annotated[int | None, typer.Option(help="Payments of this order")] = None,
    customer: Annotated[int | None, typer.Option(help="Payments of this customer, newest first")] = None,
) -> None:
    """Every movement of money of one order or one customer."""
    if (order is None) == (customer is None):
        raise typer.BadParameter("give --order or --customer")
    if order is not None:
        found = run(lambda a: payment_service.order_payments(a.services, order))
    else:
        found = run(lambda a: payment_service.customer_payments(a.services, customer or 0))
    _print(found)


@payments.command("settle")
def payments_settle(
    order_id: Annotated[int, typer.Argument(help="The invoice order that was paid")],
    reference: Annotated[str, typer.Option(help="The transfer's or remittance's reference")],
    amount: Annotated[str | None, typer.Option(help="Defaults to everything still outstanding")] = None,
) -> None:
    """Record that an invoice was paid; orders of the customer held for credit are released when
    they now fit under the credit line."""
    done = run(
        lambda a: payment_service.settle_invoice(
            a.services, order_id, amount=_amount(amount), reference=reference
        )
    )
    console.print(
        f"order {order_id}: settled {in_minor_units(done.amount, done.currency)} {done.currency}, "
        f"outstanding {in_minor_units(done.outstanding, done.currency)} {done.currency}"
    )
    if done.released_orders:
        console.print(f"released from credit hold: {', '.join(map(str, done.released_orders))}")


@payments.command("capture")
def payments_capture(
    order_id: Annotated[
        int, typer.Argument(help="Order with an authorized card, wallet or transfer payment")
    ],
    amount: Annotated[str | None, typer.Option(help="Defaults to everything still outstanding")] = None,
    reference: Annotated[str, typer.Option(help="The payment provider's capture reference")] = "",
) -> None:
    """Capture an authorized payment by hand (when PERFECTORDER_CAPTURE_AT=manual)."""
    done = run(
        lambda a: payment_service.capture_payment(
            a.services, order_id, amount=_amount(amount), reference=reference
        )
    )
    _print([done])


def _print(found: list[PaymentRecord]) -> None:
    table = Table("id", "order", "kind", "amount", "reference", "at", "by")
    for x in found:
        table.add_row(
            str(x.id),
            str(x.order_id),
            x.kind,
            f"{in_minor_units(x.amount, x.currency)} {x.currency}",
            x.reference or (f"return {x.return_id}" if x.return_id else ""),
            x.occurred_at.strftime("%Y-%m-%d %H:%M"),
            x.actor,
        )
    console.print(table)
