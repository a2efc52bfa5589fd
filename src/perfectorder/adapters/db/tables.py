"""The schema. Constraints are named so migrations stay stable, and they are the last line of
defence: the CHECKs on stock hold even if a bug in our code tried to oversell."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DefaultClause,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)

from perfectorder.adapters.db.types import ExactDecimal, UtcDateTime
from perfectorder.metrics.rollup import COUNTS as ROLLUP_COUNTS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("category", String(100), nullable=False, server_default=""),
    Column("price", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("weight_kg", ExactDecimal(), nullable=False, server_default="0"),
    Column("unit_cost", ExactDecimal(), nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("fulfilment", String(20), nullable=False, server_default="made_to_stock"),
    Column("production_days", Integer, nullable=False, server_default="0"),
    Column("lead_time_days", Integer, nullable=False, server_default="14"),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("price >= 0", name="price_not_negative"),
    CheckConstraint("production_days >= 0", name="production_days_not_negative"),
)

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("handling_days", Integer, nullable=False, server_default="1"),
    Column("cutoff", String(5), nullable=False, server_default="14:00"),
    Column("priority", Integer, nullable=False, server_default="100"),
    Column("daily_capacity", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
)

stock = Table(
    "stock",
    metadata,
    Column("product_id", Integer, ForeignKey("products.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("bin_location", String(32), nullable=False, server_default=""),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

# Partitioned by month of created_at on PostgreSQL (migration 0030): the key there is (id, created_at).
stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("movement", String(20), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("order_id", Integer, nullable=True),
    Column("reason", String(500), nullable=False, server_default=""),
    Column("actor", String(100), nullable=False, server_default="system"),
    Column("created_at", UtcDateTime(), nullable=False),
    # The purchase order a receipt was booked against (migration 0027).
    Column("purchase_order_id", Integer, nullable=True),
    Index("ix_stock_movements_product_warehouse", "product_id", "warehouse_id", "id"),
    Index("ix_stock_movements_order_id", "order_id"),
    Index("ix_stock_movements_created_at", "created_at"),
)

shipping_services = Table(
    "shipping_services",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("carrier", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("transit_days", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)

holidays = Table(
    "holidays",
    metadata,
    Column("day", Date, primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
)

shipping_capacity = Table(
    "shipping_capacity",
    metadata,
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("ship_date", Date, primary_key=True),
    Column("booked", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), nullable=False, server_default=""),
    Column("tier", String(20), nullable=False, server_default="standard"),
    Column("credit_limit", ExactDecimal(), nullable=False, server_default="0"),
    Column("payment_terms_days", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    # The customer's id in another system, for customers who came with imported history.
    Column("external_ref", String(100), nullable=True, unique=True),
    # Delivery terms: how this customer's orders are judged on time (None: the channel's default).
    Column("on_time_basis", String(4), nullable=True),
    Column("grace_minutes", Integer, nullable=True),
)

customer_addresses = Table(
    "customer_addresses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("is_default", Boolean, nullable=False, server_default="0"),
    Column("name", String(200), nullable=False),
    Column("line1", String(200), nullable=False),
    Column("line2", String(200), nullable=False, server_default=""),
    Column("city", String(100), nullable=False),
    Column("region", String(100), nullable=False, server_default=""),
    Column("postal_code", String(20), nullable=False),
    Column("country", String(2), nullable=False),
    Column("phone", String(40), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("external_ref", String(100), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", ExactDecimal(), nullable=False),
    Column("ship_name", String(200), nullable=False),
    Column("ship_line1", String(200), nullable=False),
    Column("ship_line2", String(200), nullable=False, server_default=""),
    Column("ship_city", String(100), nullable=False),
    Column("ship_region", String(100), nullable=False, server_default=""),
    Column("ship_postal_code", String(20), nullable=False),
    Column("ship_country", String(2), nullable=False),
    Column("ship_phone", String(40), nullable=False, server_default=""),
    Column("ship_timezone", String(64), nullable=False, server_default="UTC"),
    Column("shipping_service", String(32), nullable=False),
    Column("backorder_policy", String(10), nullable=False),
    Column("requested_delivery_date", Date, nullable=True),
    Column("promised_ship_date", Date, nullable=False),
    # The promise made at capture; never updated, so lateness is always measured against it.
    Column("promised_date", Date, nullable=False),
    # A promise with a time (appointments, freight) or a window (earliest arrival), and the terms
    # it is judged by, fixed when the order was placed from its customer's or channel's.
    Column("promised_by", UtcDateTime(), nullable=True),
    Column("promised_from", UtcDateTime(), nullable=True),
    Column("on_time_basis", String(4), nullable=False, server_default="date"),
    Column("grace_minutes", Integer, nullable=False, server_default="0"),
    # The transit the promise counted (working days) and where it came from: the service's
    # configured days, or the lane's learned quantile ("p90"); None for imported history.
    Column("transit_days", Integer, nullable=True),
    Column("transit_basis", String(20), nullable=True),
    Column("rescheduled_date", Date, nullable=True),
    Column("reschedule_reason", String(500), nullable=True),
    Column("payment_method", String(20), nullable=True),
    Column("payment_status", String(20), nullable=True),
    Column("payment_authorized", ExactDecimal(), nullable=True),
    Column("payment_reference", String(100), nullable=True),
    Column("note", String(1000), nullable=False, server_default=""),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("approved_at", UtcDateTime(), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("shipped_at", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("at_risk_since", UtcDateTime(), nullable=True),
    Column("at_risk_reason", String(500), nullable=True),
    # The expected date last told in a delay notice, and when: a later slip is told again.
    Column("told_date", Date, nullable=True),
    Column("told_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    # "live" orders went through our cycle; "history" orders were imported as they happened elsewhere.
    Column("origin", String(10), nullable=False, server_default="live"),
    # Perfect Order components the order has no facts for (comma-separated): reported as not measured.
    Column("unmeasured", String(100), nullable=False, server_default=""),
    # Raised by every saved change: the order's own compare-and-set, behind the row lock.
    Column("version", Integer, nullable=False, server_default="0"),
    # Running sums of the payments ledger below, kept with the order so its rules need no extra read.
    Column("paid_amount", ExactDecimal(), nullable=False, server_default="0"),
    Column("invoiced_amount", ExactDecimal(), nullable=False, server_default="0"),
    Column("refunded_amount", ExactDecimal(), nullable=False, server_default="0"),
    UniqueConstraint("channel", "external_ref"),
    Index("ix_orders_customer_id", "customer_id", "id"),
    Index("ix_orders_status", "status", "id"),
    Index("ix_orders_placed_at", "placed_at"),
    Index("ix_orders_external_ref", "external_ref"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", ExactDecimal(), nullable=False),
    Column("backordered_qty", Integer, nullable=False, server_default="0"),
    Column("cancelled_qty", Integer, nullable=False, server_default="0"),
    Column("shipped_qty", Integer, nullable=False, server_default="0"),
    # The line's own schedule, when it differs from the order's (split deliveries in history files).
    Column("promised_on", Date, nullable=True),
    Column("promised_by", UtcDateTime(), nullable=True),
    Column("promised_from", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("order_id", "line_no"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("order_line_id", Integer, ForeignKey("order_lines.id"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reserves_stock", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("planned_ship_date", Date, nullable=False),
    # Placing books one slot of the warehouse's daily capacity; backorder and re-sourced allocations
    # ship on whatever day comes, and book none, so a cancel must not give one back for them.
    Column("books_capacity", Boolean, nullable=False, server_default=true()),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Money that moved for an order: captured (card, wallet, cash collected), invoiced, settled
# (an invoice paid), refunded (or a credit note on an invoice). Sums equal the order's columns.
payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(20), nullable=True),
    Column("reference", String(100), nullable=False, server_default=""),
    Column("return_id", Integer, ForeignKey("returns.id"), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("ix_payments_order_id", "order_id", "id"),
    Index("ix_payments_customer_id", "customer_id", "id"),
)

order_holds = Table(
    "order_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("reason", String(20), nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("placed_by", String(100), nullable=False),
    Column("released_at", UtcDateTime(), nullable=True),
    Column("released_by", String(100), nullable=True),
    Column("release_note", String(500), nullable=True),
)

# Partitioned by month of occurred_at on PostgreSQL (migration 0030): the key there is (id, occurred_at).
order_events = Table(
    "order_events",
    metadata,
    Column("id", Integer, primary_key=True),
    # No foreign key since 0030: a partition attached to a table with one locks orders against
    # writes; events are only written beside their order, in its transaction.
    Column("order_id", Integer, nullable=False),
    Column("type", String(50), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_order_events_order_id", "order_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    # The public part of the key, for lookup; the secret itself is only ever stored as a hash.
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("channel", String(20), nullable=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
)

# One row per failed login, kept for the throttle's window: a sliding count per name, and per name
# from one client, that every server process sees and `users unlock` can clear.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("client", String(100), nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
    Index("ix_login_failures_username_failed_at", "username", "failed_at"),
    Index("ix_login_failures_failed_at", "failed_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=True),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("client", String(100), nullable=False, server_default=""),
    Column("outcome", String(50), nullable=False),
    Column("detail", String(200), nullable=True),
    Index("ix_audit_log_occurred_at", "occurred_at"),
)

pick_lists = Table(
    "pick_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
)

pick_tasks = Table(
    "pick_tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pick_list_id", Integer, ForeignKey("pick_lists.id"), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("allocation_id", Integer, ForeignKey("allocations.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("bin_location", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("picked_qty", Integer, nullable=False, server_default="0"),
    Column("status", String(10), nullable=False),
    CheckConstraint("picked_qty >= 0 AND picked_qty <= quantity", name="picked_within_quantity"),
)

pick_scans = Table(
    "pick_scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pick_task_id", Integer, ForeignKey("pick_tasks.id"), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("scanned", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
)

packages = Table(
    "packages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("weight_kg", ExactDecimal(), nullable=False),
    Column("length_cm", Integer, nullable=False),
    Column("width_cm", Integer, nullable=False),
    Column("height_cm", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("packed_at", UtcDateTime(), nullable=False),
    Column("packed_by", String(200), nullable=False),
)

package_items = Table(
    "package_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("package_id", Integer, ForeignKey("packages.id"), nullable=False, index=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

SCORECARD_COLUMNS = (
    "shipped_at",
    "carrier",
    "service",
    "warehouse_id",
    "ship_country",
    "ship_postal_code",
    "promised_transit",
    "delivered_at",
    "first_scan_at",
    "damaged",
    "lost",
    "id",
)
shipments = Table(
    "shipments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("package_id", Integer, ForeignKey("packages.id"), nullable=False, unique=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("carrier", String(64), nullable=False),
    Column("service", String(32), nullable=False),
    Column("tracking_number", String(64), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("shipped_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    # Copied from the order as it ships (its address can no longer change) and kept up by each
    # carrier event as it is recorded: the carrier scorecard reads a month of parcels from this
    # table alone (joined to orders and events it took 0.55 s at 1,000,000 orders).
    Column("ship_country", String(2), nullable=True),
    Column("ship_postal_code", String(20), nullable=True),
    Column("promised_transit", Integer, nullable=True),  # the order's transit_days
    Column("first_scan_at", UtcDateTime(), nullable=True),
    Column("damaged", Boolean, nullable=False, server_default=false()),
    Column("lost", Boolean, nullable=False, server_default=false()),
    # Learning transit times reads the parcels delivered in its window; the carrier scorecard
    # those shipped in its period, from this index alone (read through the table, a month's first
    # visit at 1,000,000 orders was 300 ms p95 of scattered page reads).
    Index("ix_shipments_delivered_at", "delivered_at"),
    Index("ix_shipments_scorecard", *SCORECARD_COLUMNS),
)

carrier_events = Table(
    "carrier_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("carrier", String(64), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False, index=True),
    Column("type", String(20), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("detail", String(500), nullable=False, server_default=""),
    Column("received_at", UtcDateTime(), nullable=False),
    # The carrier's own estimate of the delivery day, when the event carries one.
    Column("estimated_delivery", Date, nullable=True),
    UniqueConstraint("carrier", "event_id"),
)

claims = Table(
    "claims",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    # The order that reshipped a lost parcel: a replacement, not a purchase of its own.
    Column("replacement_order_id", Integer, ForeignKey("orders.id"), nullable=True),
)

order_issues = Table(
    "order_issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("criterion", String(20), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("code", String(50), nullable=False),
    Column("detail", String(500), nullable=False, server_default=""),
    Column("occurred_at", UtcDateTime(), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("rating", Integer, nullable=False),
    Column("arrived_complete", Boolean, nullable=True),
    Column("undamaged", Boolean, nullable=True),
    Column("as_described", Boolean, nullable=True),
    Column("comment", String(2000), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating_between_1_and_5"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("reason", String(30), nullable=False),
    Column("criterion", String(20), nullable=True),
    Column("stage", String(20), nullable=True),
    Column("status", String(20), nullable=False),
    Column("note", String(1000), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=True),
    Column("refund_amount", ExactDecimal(), nullable=True),
    Column("exchange_order_id", Integer, ForeignKey("orders.id"), nullable=True),
    Index("ix_returns_created_at", "created_at"),
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("return_id", Integer, ForeignKey("returns.id"), nullable=False, index=True),
    Column("order_line_id", Integer, ForeignKey("order_lines.id"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("restocked_qty", Integer, nullable=False, server_default="0"),
    Column("scrapped_qty", Integer, nullable=False, server_default="0"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # Stable across retries, so receivers can de-duplicate (webhook-id, email Message-ID).
    Column("message_id", String(64), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # email | webhook | event
    Column("topic", String(50), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True, index=True),
    Column("subscription_id", Integer, nullable=True),
    Column("recipient", String(500), nullable=False, server_default=""),
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("locked_by", String(100), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=True),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    # Archiving may empty it: SQLite must not hand out an archived id again (migration 0030).
    sqlite_autoincrement=True,
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", String(500), nullable=True),
    Column("worker", String(100), nullable=False),
    sqlite_autoincrement=True,
)


# Delivered messages older than the outbox retention, moved out so the queue the workers claim
# from stays small (migration 0030; monthly partitions on PostgreSQL, where the primary keys also
# hold created_at / attempted_at).
def _text_default(column: Column[Any]) -> str | None:
    default = column.server_default
    return default.arg if isinstance(default, DefaultClause) and isinstance(default.arg, str) else None


def _archive_of(table: Table, *extra: Column[Any]) -> Table:
    """`table`'s columns without its foreign keys and unique keys: an archived row is never queued
    again, and what it referred to may be gone."""
    columns = [
        Column(
            c.name,
            c.type,
            primary_key=c.primary_key,
            autoincrement=False,
            nullable=c.nullable,
            index=c.index,
            server_default=_text_default(c),
        )
        for c in table.c
    ]
    return Table(f"{table.name}_archive", metadata, *columns, *extra)


outbox_archive = _archive_of(outbox, Column("archived_at", UtcDateTime(), nullable=False))
outbox_attempts_archive = _archive_of(outbox_attempts)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(100), nullable=False),
    # After a rotation deliveries are signed with the previous secret too, until the grace ends.
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", UtcDateTime(), nullable=True),
    Column("event_types", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("disabled_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Orders whose facts changed since their verdict was last stored; drained by metrics.refresh.
verdict_queue = Table(
    "verdict_queue",
    metadata,
    Column("order_id", Integer, primary_key=True),
    Column("queued_at", UtcDateTime(), nullable=False),
)
# Each order's stored verdict (default settings) with the slices it belongs to and its KPI facts.
order_verdicts = Table(
    "order_verdicts",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("placed_on", Date, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("tier", String(20), nullable=False),
    Column("warehouses", String(300), nullable=False),
    Column("carriers", String(300), nullable=False),
    Column("categories", String(1000), nullable=False),
    Column("state", String(10), nullable=False),
    Column("final_from", Date, nullable=False),
    Column("components", JSON, nullable=False),
    Column("failures", JSON, nullable=False),
    Column("kpi", JSON, nullable=False),
    Column("refreshed_at", UtcDateTime(), nullable=False),
    # Root causes (metrics.root_causes): each parcel's lane, and the refunds and reshipments the
    # order cost, as counted into failure_rollups (a refresh subtracts what the old row added).
    Column("lanes", String(1000), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False, server_default=""),
    Column("refunded", ExactDecimal(), nullable=False, server_default="0"),
    Column("reshipped", Integer, nullable=False, server_default="0"),
    # A list, not joined text: supplier codes may hold any character, and an order may hold many.
    Column("suppliers", JSON, nullable=False, server_default="[]"),
    Index("ix_order_verdicts_placed_on", "placed_on"),
    Index("ix_order_verdicts_customer_id", "customer_id"),
)
verdict_failures = Table(
    "verdict_failures",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("component", String(20), primary_key=True),
    Column("code", String(50), primary_key=True),
    Column("stage", String(20), primary_key=True),
    # The order's only failure: without it the order would have been perfect.
    Column("sole", Boolean, nullable=False),
    Column("placed_on", Date, nullable=False),
    Column("final_from", Date, nullable=False),
    Index("ix_verdict_failures_failure", "component", "code", "stage", "placed_on"),
)
# Daily sums of stored verdicts per slice; reports add these up instead of reading orders.
verdict_rollups = Table(
    "verdict_rollups",
    metadata,
    Column("day", Date, primary_key=True),
    Column("dimension", String(20), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("state", String(10), primary_key=True),
    Column("final_from", Date, primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in ROLLUP_COUNTS),
)
# Where each failure concentrates (metrics.root_causes): per day placed and first day final, per
# failure (and "*" for every order) and slice, the delivered orders with their refunds (minor units,
# on the currency rows only) and reshipments. The improvement page sums a period's rows.
failure_rollups = Table(
    "failure_rollups",
    metadata,
    Column("day", Date, primary_key=True),
    Column("final_from", Date, primary_key=True),
    Column("component", String(20), primary_key=True),
    Column("code", String(50), primary_key=True),
    Column("stage", String(20), primary_key=True),
    Column("dimension", String(20), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("orders", Integer, nullable=False, server_default="0"),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("reshipped", Integer, nullable=False, server_default="0"),
)
# The KPIs' daily rollups (metrics.kpi_rollup): sums and counts, return reasons, each customer's
# purchases and the duration histograms, so a KPI report reads no per-order row.
kpi_rollups = Table(
    "kpi_rollups",
    metadata,
    Column("day", Date, primary_key=True),
    Column("measure", String(40), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("n", Integer, nullable=False, server_default="0"),
    # A month's KPI report reads its rows from this index alone: through the table they were one
    # page read each, scattered among the customers' rows (p95 145 ms at 10,000,000 orders, 14 ms
    # with it). The price: a refresh's change of n rewrites the index entry too.
    Index("ix_kpi_rollups_covering", "day", "measure", "key", "bucket", "n"),
)
# Transit times learned per lane from the parcels delivered in a rolling window (services.transit):
# new promises count the configured quantile of their lane's; lanes without enough parcels are
# absent, and their promises keep the service's configured days.
lane_transit_times = Table(
    "lane_transit_times",
    metadata,
    Column("service", String(32), primary_key=True),
    Column("warehouse_id", Integer, primary_key=True),
    Column("region", String(20), primary_key=True),
    Column("parcels", Integer, nullable=False),
    Column("p50", Integer, nullable=False),
    Column("p90", Integer, nullable=False),
    Column("p95", Integer, nullable=False),
    Column("gap_p95_hours", Float, nullable=True),
    Column("learned_at", UtcDateTime(), nullable=False),
)
# Loyalty, kept with the verdicts: each purchase with its judgement and the days to the same
# customer's next purchase (the report sums one period of these), and each customer's rhythm (the
# lapsed list reads these): a report read all its buyers' histories (6.3 s at 1,000,000 orders).
loyalty_purchases = Table(
    "loyalty_purchases",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("placed_on", Date, nullable=False),
    Column("perfect", Boolean, nullable=True),  # None: not judged as a whole delivered order
    Column("days_to_next", Integer, nullable=True),  # None: no later purchase yet
    Index("ix_loyalty_purchases_customer", "customer_id", "placed_on", "order_id"),
    # A period's report reads its rows from this index alone.
    Index("ix_loyalty_purchases_placed_on", "placed_on", "perfect", "days_to_next", "order_id"),
)
customer_rhythms = Table(
    "customer_rhythms",
    metadata,
    Column("customer_id", Integer, primary_key=True),
    Column("purchases", Integer, nullable=False),
    # The last purchase's day, as days since 1970-01-01: the lapsed test is then arithmetic that
    # both databases spell the same.
    Column("last_order_day", Integer, nullable=False),
    Column("usual_interval_days", Float, nullable=True),
    Column("last_imperfect_order_id", Integer, nullable=True),
)
# Demand the store could not serve: each order line refused for lack of stock, written in its own
# transaction after the refusal (which writes nothing else). Keyed by the order's reference so a
# retry of the same refused order counts once; a reference that later became an order is not lost.
lost_demand = Table(
    "lost_demand",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("external_ref", String(100), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("requested", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("unit_price", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("refused_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "external_ref", "line_no"),
    Index("ix_lost_demand_refused_at", "refused_at"),
)
# The promise-risk model the worker trained last (services.promise_risk), kept whole as JSON: it
# is read once per scoring run and replaced, never queried by its parts.
risk_models = Table(
    "risk_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("trained_at", UtcDateTime(), nullable=False),
    Column("snapshots", Integer, nullable=False),
    Column("model", JSON, nullable=False),
)
# Each open order's latest chance of missing its promise, with its reasons and suggested action.
# Its own table, not columns of orders: scoring every open order must not take their row locks or
# raise their versions, which the order's own changes compare and set.
order_risk = Table(
    "order_risk",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("probability", Float, nullable=False),
    Column("rule_flag", Boolean, nullable=False),
    Column("stage", String(20), nullable=False),
    Column("action", String(20), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("scored_at", UtcDateTime(), nullable=False),
    Index("ix_order_risk_probability", "probability", "order_id"),
)
# When each projection (the verdicts and their rollups) was last brought up to date: reports say
# "as of" this moment, since a GET reads them and never refreshes them itself.
projection_refreshes = Table(
    "projection_refreshes",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("refreshed_at", UtcDateTime(), nullable=False),
)
# Raised by triggers (migration 0029) whenever the reference data changes: caches compare it.
cache_versions = Table(
    "cache_versions",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="0"),
)

# One row per long job (by name), written by the job as it goes; real time, not simulated time.
job_progress = Table(
    "job_progress",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
)

# Server secrets for signed links, by purpose; replacing one revokes every link signed with it.
signing_secrets = Table(
    "signing_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Suppliers and purchase orders (issue 22, docs/purchasing.md). Working days are ISO weekday digits.
suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("lead_time_days", Integer, nullable=False),
    Column("working_days", String(7), nullable=False, server_default="12345"),
    Column("contact_email", String(254), nullable=False, server_default=""),
    Column("contact_phone", String(40), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
)
supplier_products = Table(
    "supplier_products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("supplier_sku", String(64), nullable=False),
    Column("unit_cost", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pack_size", Integer, nullable=False, server_default="1"),
    Column("min_order_qty", Integer, nullable=False, server_default="1"),
    UniqueConstraint("supplier_id", "product_id"),
    CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
    CheckConstraint("pack_size >= 1", name="pack_size_positive"),
    CheckConstraint("min_order_qty >= 1", name="min_order_qty_positive"),
)
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("original_promised_date", Date, nullable=False),
    Column("promised_date", Date, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("confirmed_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_purchase_orders_status", "status", "id"),
    Index("ix_purchase_orders_supplier_id", "supplier_id", "id"),
)
purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_cost", ExactDecimal(), nullable=False),
    Column("received_qty", Integer, nullable=False, server_default="0"),
    Column("rejected_qty", Integer, nullable=False, server_default="0"),
    UniqueConstraint("purchase_order_id", "product_id"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("received_qty >= 0", name="received_not_negative"),
    CheckConstraint("rejected_qty >= 0", name="rejected_not_negative"),
)
po_events = Table(
    "po_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("type", String(50), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_po_events_purchase_order_id", "purchase_order_id", "id"),
)
po_receipts = Table(
    "po_receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("line_id", Integer, ForeignKey("purchase_order_lines.id"), nullable=False),
    Column("accepted_qty", Integer, nullable=False),
    Column("rejected_qty", Integer, nullable=False),
    Column("reason", String(20), nullable=True),
    Column("note", String(500), nullable=False, server_default=""),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Index("ix_po_receipts_purchase_order_id", "purchase_order_id", "id"),
    CheckConstraint("accepted_qty >= 0 AND rejected_qty >= 0", name="quantities_not_negative"),
)

ALL_TABLES = [t.name for t in metadata.sorted_tables]
