"""order origin, unmeasured components; verdicts and rollups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Frozen here: a later change to the counted columns needs its own migration.
COUNTS = (
    "placed",
    "whole",
    "perfect",
    *(
        f"{c}_{kind}"
        for c in ("complete", "on_time", "accurate", "undamaged", "communicated")
        for kind in ("evaluated", "failed")
    ),
)


def upgrade() -> None:
    op.add_column("orders", sa.Column("origin", sa.String(length=10), server_default="live", nullable=False))
    op.add_column("orders", sa.Column("unmeasured", sa.String(length=100), server_default="", nullable=False))
    op.create_table(
        "verdict_queue",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_verdict_queue")),
    )
    op.create_table(
        "order_verdicts",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("warehouses", sa.String(length=300), nullable=False),
        sa.Column("carriers", sa.String(length=300), nullable=False),
        sa.Column("categories", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("final_from", sa.Date(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("kpi", sa.JSON(), nullable=False),
        sa.Column("k_cancelled", sa.Boolean(), nullable=False),
        sa.Column("k_shipped", sa.Boolean(), nullable=False),
        sa.Column("k_delivered", sa.Boolean(), nullable=False),
        sa.Column("k_cycle_hours", sa.Float(), nullable=True),
        sa.Column("k_lead_hours", sa.Float(), nullable=True),
        sa.Column("k_approved_hours", sa.Float(), nullable=True),
        sa.Column("k_picked_hours", sa.Float(), nullable=True),
        sa.Column("k_packed_hours", sa.Float(), nullable=True),
        sa.Column("k_shipped_hours", sa.Float(), nullable=True),
        sa.Column("k_delivered_hours", sa.Float(), nullable=True),
        sa.Column("k_ship_on_time", sa.Boolean(), nullable=True),
        sa.Column("k_deliver_on_time", sa.Boolean(), nullable=True),
        sa.Column("k_lines_ordered", sa.Integer(), nullable=False),
        sa.Column("k_lines_complete_first", sa.Integer(), nullable=False),
        sa.Column("k_units_ordered", sa.Integer(), nullable=False),
        sa.Column("k_units_first_shipment", sa.Integer(), nullable=False),
        sa.Column("k_backordered", sa.Boolean(), nullable=False),
        sa.Column("k_pick_lines", sa.Integer(), nullable=False),
        sa.Column("k_pick_lines_correct", sa.Integer(), nullable=False),
        sa.Column("k_accurate", sa.Boolean(), nullable=True),
        sa.Column("k_returned", sa.Boolean(), nullable=False),
        sa.Column("k_return_reasons", sa.String(length=500), nullable=False),
        sa.Column("k_rating", sa.Integer(), nullable=True),
        sa.Column("refreshed_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_verdicts_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_verdicts")),
    )
    op.create_index("ix_order_verdicts_placed_on", "order_verdicts", ["placed_on"])
    op.create_table(
        "verdict_failures",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("sole", sa.Boolean(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("final_from", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_verdict_failures_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "component", "code", "stage", name=op.f("pk_verdict_failures")),
    )
    op.create_index(
        "ix_verdict_failures_failure", "verdict_failures", ["component", "code", "stage", "placed_on"]
    )
    op.create_table(
        "verdict_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("final_from", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint(
            "day", "dimension", "key", "state", "final_from", name=op.f("pk_verdict_rollups")
        ),
    )


def downgrade() -> None:
    op.drop_table("verdict_rollups")
    op.drop_index("ix_verdict_failures_failure", table_name="verdict_failures")
    op.drop_table("verdict_failures")
    op.drop_index("ix_order_verdicts_placed_on", table_name="order_verdicts")
    op.drop_table("order_verdicts")
    op.drop_table("verdict_queue")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("unmeasured")
        batch.drop_column("origin")
