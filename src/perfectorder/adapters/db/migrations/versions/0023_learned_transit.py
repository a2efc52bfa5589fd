"""Transit times learned per lane; each promise records the transit it counted and its basis;
shipments indexed by when they left and arrived (learning, the carrier scorecard)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lane_transit_times",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("p50", sa.Integer(), nullable=False),
        sa.Column("p90", sa.Integer(), nullable=False),
        sa.Column("p95", sa.Integer(), nullable=False),
        sa.Column("gap_p95_hours", sa.Float(), nullable=True),
        sa.Column("learned_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "warehouse_id", "region", name=op.f("pk_lane_transit_times")),
    )
    op.create_index("ix_shipments_delivered_at", "shipments", ["delivered_at"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("transit_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transit_basis", sa.String(length=20), nullable=True))
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("ship_country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("ship_postal_code", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("promised_transit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_scan_at", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("damaged", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("lost", sa.Boolean(), server_default=sa.false(), nullable=False))
    # What the shipments already had, from their orders and carrier events.
    of_order = "(SELECT o.{} FROM orders o WHERE o.id = shipments.order_id)"
    events = "FROM carrier_events e WHERE e.shipment_id = shipments.id"
    op.execute(
        f"UPDATE shipments SET ship_country = {of_order.format('ship_country')}, "
        f"ship_postal_code = {of_order.format('ship_postal_code')}, "
        f"first_scan_at = (SELECT min(e.occurred_at) {events}), "
        f"damaged = EXISTS (SELECT 1 {events} AND e.type = 'damaged'), "
        f"lost = EXISTS (SELECT 1 {events} AND e.type = 'lost')"
    )
    # The carrier scorecard reads a period's parcels from this index alone.
    op.create_index(
        "ix_shipments_scorecard",
        "shipments",
        [
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
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_shipments_scorecard", table_name="shipments")
    op.drop_index("ix_shipments_delivered_at", table_name="shipments")
    with op.batch_alter_table("shipments") as batch:
        for column in ("lost", "damaged", "first_scan_at", "promised_transit"):
            batch.drop_column(column)
        batch.drop_column("ship_postal_code")
        batch.drop_column("ship_country")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("transit_basis")
        batch.drop_column("transit_days")
    op.drop_table("lane_transit_times")
