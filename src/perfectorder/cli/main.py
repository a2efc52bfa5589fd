"""`perfectorder` command line (Typer + rich). Domain errors are shown in one place, with their code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.bootstrap import Application
from perfectorder.cli import fulfilment as fulfilment_cli
from perfectorder.cli import importing as importing_cli
from perfectorder.cli import metrics as metrics_cli
from perfectorder.cli import outbox as outbox_cli
from perfectorder.cli import payments as payments_cli
from perfectorder.cli import report as report_cli
from perfectorder.cli import simulate as simulate_cli
from perfectorder.cli.common import console, err, run
from perfectorder.cli.promise_risk import risk_app
from perfectorder.cli.purchasing import po_app, suppliers_app
from perfectorder.cli.transit import transit_app
from perfectorder.config import Settings
from perfectorder.domain.access import Role
from perfectorder.services import access, inventory, status_page
from perfectorder.services import orders as order_service
from perfectorder.services.ports import OrderFilter

app = typer.Typer(
    help="Perfect Order: run the order cycle and measure how often each order is perfect.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
orders_app = typer.Typer(help="Look at orders.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock levels, receipts and adjustments.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo store.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
users_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log of state-changing calls.", no_args_is_help=True)
docs_app = typer.Typer(help="Documents generated from the code.", no_args_is_help=True)
status_app = typer.Typer(
    help="The customer's signed order-status links: print one, or revoke them all.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(orders_app, name="orders")
app.add_typer(stock_app, name="stock")
app.add_typer(demo_app, name="demo")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(docs_app, name="docs")
app.add_typer(status_app, name="status-links")
app.add_typer(fulfilment_cli.picks, name="picks")
app.add_typer(payments_cli.payments, name="payments")
app.add_typer(fulfilment_cli.packs, name="packs")
app.add_typer(fulfilment_cli.shipments, name="shipments")
app.add_typer(fulfilment_cli.returns, name="returns")
app.add_typer(outbox_cli.outbox, name="outbox")
app.add_typer(importing_cli.imports, name="import")
app.add_typer(metrics_cli.metrics, name="metrics")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(po_app, name="po")
app.add_typer(transit_app, name="transit")
app.add_typer(risk_app, name="risk")
app.command("simulate")(simulate_cli.simulate_command)
app.command("worker")(outbox_cli.worker)
app.command("report")(report_cli.report)

DATABASE_URL_OPTION = "--database-url"


@app.callback()
def root(
    database_url: Annotated[
        str | None,
        typer.Option(
            DATABASE_URL_OPTION,
            envvar="PERFECTORDER_DATABASE_URL",
            help="Database for any command (also accepted after the command name); "
            "default: PERFECTORDER_DATABASE_URL, else the embedded SQLite file",
        ),
    ] = None,
) -> None:
    if database_url:
        os.environ["PERFECTORDER_DATABASE_URL"] = database_url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the REST API and the dashboard with uvicorn."""
    import uvicorn

    settings = Settings.from_env()
    console.print(f"Perfect Order API on http://{host}:{port}/docs")
    uvicorn.run(
        "perfectorder.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        # Deadlines for receiving each request (PERFECTORDER_HEADER_TIMEOUT, _BODY_TIMEOUT): a class
        # path, not the class, so that worker processes import it themselves.
        http="perfectorder.api.http_protocol:DeadlineH11Protocol",
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.max_connections,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Create or migrate the schema of PERFECTORDER_DATABASE_URL to the latest revision."""

    def action(application: Application) -> None:
        application.migrator.upgrade(revision)
        console.print(f"database at revision [bold]{application.migrator.current()}[/bold]")

    run(action, needs_schema=False)


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the sample store (warehouses, carriers, catalog, stock, customers) and print a fresh admin
    API key; safe to repeat."""
    from perfectorder.sample_data import load_sample_store

    def action(application: Application) -> tuple[int, str]:
        added = load_sample_store(application.services)
        issued = access.create_api_key(
            application.services, name="demo-admin", role=Role.ADMIN, created_by="demo"
        )
        return added, issued.secret

    added, secret = run(action)
    console.print(f"sample store ready ({added} products added)")
    console.print("admin API key for this demo (send as 'Authorization: Bearer ...'):")
    console.print(secret, soft_wrap=True)


@orders_app.command("list")
def orders_list(
    status: Annotated[str | None, typer.Option(help="received, on_hold, approved, ... cancelled")] = None,
    channel: Annotated[str | None, typer.Option(help="web, marketplace, phone, ...")] = None,
    customer: Annotated[int | None, typer.Option(help="Customer id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """List the newest orders, optionally filtered."""
    page = run(
        lambda a: order_service.list_orders(
            a.services,
            OrderFilter(status=status, channel=channel, customer_id=customer),
            cursor=None,
            limit=limit,
        )
    )
    table = Table("id", "channel", "reference", "customer", "status", "total", "promised", "placed")
    for o in page.items:
        table.add_row(
            str(o.id),
            o.channel,
            o.external_ref,
            str(o.customer_id),
            o.status,
            f"{o.total:.2f} {o.currency}",
            o.promised_date.isoformat(),
            f"{o.placed_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@status_app.command("show")
def status_links_show(order_id: Annotated[int, typer.Argument(help="Order id")]) -> None:
    """Print the order's status-page link (as its e-mails carry it), for customer care to send."""

    def action(a: Application) -> str:
        order_service.get_order(a.services, order_id)  # order_not_found for a wrong id
        return f"{a.settings.public_url}{status_page.link_path(a.services, order_id)}"

    console.print(run(action), soft_wrap=True)


@status_app.command("rotate")
def status_links_rotate() -> None:
    """Replace the signing secret: every status link sent so far stops working at once."""
    run(lambda a: status_page.rotate_secret(a.services))
    console.print("status-link secret replaced: earlier links no longer open; new e-mails carry new ones")


@orders_app.command("show")
def orders_show(order_id: Annotated[int, typer.Argument(help="Order id")]) -> None:
    """Show one order with its lines, holds and timeline."""

    def action(a: Application) -> None:
        o = order_service.get_order(a.services, order_id)
        console.print(
            f"[bold]order {o.id}[/bold] {o.channel}/{o.external_ref}  status [bold]{o.status}[/bold]  "
            f"total {o.total:.2f} {o.currency}  promised {o.promised_date}"
        )
        lines = Table("#", "sku", "qty", "unit price", "backordered", "from")
        for line in o.lines:
            sources = ", ".join(f"{x.warehouse}:{x.quantity}" for x in line.allocations)
            lines.add_row(
                str(line.line_no),
                line.sku,
                str(line.quantity),
                f"{line.unit_price:.2f}",
                str(line.backordered_qty),
                sources,
            )
        console.print(lines)
        for hold in o.holds:
            state = "released" if hold.released_at else "OPEN"
            console.print(f"hold {hold.id} {hold.reason} ({state}): {hold.note}")
        events = Table("time", "event", "actor", "data")
        for e in order_service.order_timeline(a.services, order_id):
            events.add_row(f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.type, e.actor, str(e.data)[:80])
        console.print(events)

    run(action)


@stock_app.command("show")
def stock_show(
    sku: Annotated[str | None, typer.Option(help="Only this SKU")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Only this warehouse code")] = None,
) -> None:
    """Stock per SKU and warehouse: on hand, reserved, available to promise."""
    rows = run(lambda a: inventory.stock_levels(a.services, sku=sku, warehouse=warehouse, limit=1000))
    table = Table("sku", "warehouse", "on hand", "reserved", "available")
    for r in rows:
        table.add_row(r.sku, r.warehouse, str(r.on_hand), str(r.reserved), str(r.available))
    console.print(table)


@stock_app.command("receive")
def stock_receive(
    sku: Annotated[str, typer.Argument(help="Product SKU")],
    warehouse: Annotated[str, typer.Argument(help="Warehouse code")],
    quantity: Annotated[int, typer.Argument(help="Units received")],
    reason: Annotated[str, typer.Option(help="e.g. the purchase order number")] = "",
) -> None:
    """Book goods received into a warehouse."""
    level = run(
        lambda a: inventory.receive_stock(
            a.services, sku=sku, warehouse=warehouse, quantity=quantity, reason=reason, actor="cli"
        )
    )
    console.print(f"{level.sku}@{level.warehouse}: on hand {level.on_hand}, available {level.available}")


@stock_app.command("adjust")
def stock_adjust(
    sku: Annotated[str, typer.Argument(help="Product SKU")],
    warehouse: Annotated[str, typer.Argument(help="Warehouse code")],
    delta: Annotated[
        int, typer.Option("--by", help="Units to add (positive) or remove (negative), e.g. --by -3")
    ],
    reason: Annotated[str, typer.Option(help="Why: cycle count, damage, loss ... (required)")],
) -> None:
    """Correct on-hand stock with a reason; refuses to go below what is reserved.

    Example: perfectorder stock adjust VASE-GLASS-TALL BER --by -3 --reason "cracked in transit"
    """
    level = run(
        lambda a: inventory.adjust_stock(
            a.services, sku=sku, warehouse=warehouse, delta=delta, reason=reason, actor="cli"
        )
    )
    console.print(f"{level.sku}@{level.warehouse}: on hand {level.on_hand}, available {level.available}")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, operator, analyst, channel or customer")],
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'shopify-store'")] = "",
    channel: Annotated[
        str | None, typer.Option(help="For channel keys: the channel it places orders for")
    ] = None,
    customer: Annotated[int | None, typer.Option(help="For customer keys: the customer id")] = None,
) -> None:
    """Create an API key. The secret is printed once and stored only as a hash: copy it now."""
    issued = run(
        lambda a: access.create_api_key(
            a.services, name=name, role=role, channel=channel, customer_id=customer, created_by="cli"
        )
    )
    err.print(f"key {issued.record.id} ({issued.record.role}) created; it will not be shown again:")
    console.print(issued.secret, soft_wrap=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    table = Table("id", "name", "prefix", "role", "scope", "created", "revoked")
    for k in run(lambda a: access.list_api_keys(a.services)):
        scope = k.channel or (f"customer {k.customer_id}" if k.customer_id else "")
        table.add_row(
            str(k.id),
            k.name,
            f"po_{k.prefix}_…",
            k.role,
            scope,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="Key id from `keys list`")]) -> None:
    """Revoke a key; running servers stop accepting it within a few seconds."""
    run(lambda a: access.revoke_api_key(a.services, key_id))
    console.print(f"key {key_id} revoked")


NEW_PASSWORD = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 12 characters; asked for when not given",
    ),
]


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[Role, typer.Option(help="admin, operator or analyst")],
    password: NEW_PASSWORD,
) -> None:
    """Create a dashboard user (password hashed with argon2)."""
    user_id = run(
        lambda a: access.create_user(a.services, a.passwords, username=username, password=password, role=role)
    )
    console.print(f"user {username} created (id {user_id})")


USERNAME = Annotated[str, typer.Argument(help="Login name, as in `users list`")]


@users_app.command("list")
def users_list() -> None:
    """List dashboard users (never their password hashes)."""
    table = Table("id", "username", "role", "disabled since")
    for user in run(lambda a: access.list_users(a.services)):
        disabled = f"{user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else ""
        table.add_row(str(user.id), user.username, user.role, disabled)
    console.print(table)


@users_app.command("disable")
def users_disable(username: USERNAME) -> None:
    """Refuse the user's logins and end their sessions at once (`users enable` undoes it)."""
    ended = run(lambda a: access.disable_user(a.services, username))
    console.print(f"user {username} disabled; {ended} session(s) ended")


@users_app.command("enable")
def users_enable(username: USERNAME) -> None:
    """Let a disabled user log in again."""
    run(lambda a: access.enable_user(a.services, username))
    console.print(f"user {username} enabled")


@users_app.command("unlock")
def users_unlock(username: USERNAME) -> None:
    """Forget the failed logins at this name from every address, so no throttle holds it back."""
    cleared = run(lambda a: access.unlock_user(a.services, username))
    console.print(f"user {username} unlocked ({cleared} failed login(s) forgotten)")


@users_app.command("reset-password")
def users_reset_password(
    username: USERNAME,
    password: NEW_PASSWORD,
) -> None:
    """Set a new password; ends the user's sessions and forgets failed logins."""
    ended = run(
        lambda a: access.reset_password(a.services, a.passwords, username=username, password=password)
    )
    console.print(f"password of {username} changed; {ended} session(s) ended")


@users_app.command("revoke-sessions")
def users_revoke_sessions(username: USERNAME) -> None:
    """End every session of the user (they log in again)."""
    ended = run(lambda a: access.revoke_sessions(a.services, username))
    console.print(f"{ended} session(s) of {username} ended")


@audit_app.command("tail")
def audit_tail(limit: Annotated[int, typer.Option(min=1, max=500, help="How many entries")] = 20) -> None:
    """The newest state-changing calls: who, what, when, from where, outcome."""
    table = Table("time", "actor", "role", "call", "status", "client", "outcome", "detail")
    for r in reversed(run(lambda a: access.audit_page(a.services, before_id=None, limit=limit))):
        e = r.entry
        table.add_row(
            f"{e.occurred_at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.role or "",
            f"{e.method} {e.path}",
            str(e.status_code),
            e.client,
            e.outcome,
            e.detail or "",
        )
    console.print(table)


@docs_app.command("order-cycle")
def docs_order_cycle(
    output: Annotated[Path, typer.Option(help="Where to write the diagram")] = Path("docs/order-cycle.md"),
    check: Annotated[bool, typer.Option(help="Only check that the file is up to date")] = False,
) -> None:
    """Write the order-cycle diagram from the transition table (or --check that it is current)."""
    from perfectorder.domain.order_cycle import order_cycle_markdown

    wanted = order_cycle_markdown()
    if check:
        if not output.exists() or output.read_text() != wanted:
            err.print(f"{output} is stale: run `perfectorder docs order-cycle`")
            raise typer.Exit(1)
        console.print(f"{output} is up to date")
        return
    output.write_text(wanted)
    console.print(f"wrote {output}")


def hoist_database_url(argv: list[str]) -> list[str]:
    """`perfectorder report --database-url X` reads naturally; Typer only knows the option on the
    root, so it is moved there wherever it was written."""
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == DATABASE_URL_OPTION and i + 1 < len(argv):
            hoisted = [arg, argv[i + 1]]
            i += 2
            continue
        if arg.startswith(DATABASE_URL_OPTION + "="):
            hoisted = [arg]
        else:
            rest.append(arg)
        i += 1
    return hoisted + rest


def main() -> None:
    app(hoist_database_url(sys.argv[1:]))
