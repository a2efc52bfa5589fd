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
    op.create_index("ix_shipments_shipped_at", "shipments", ["shipped_at"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("transit_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transit_basis", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("transit_basis")
        batch.drop_column("transit_days")
    op.drop_index("ix_shipments_shipped_at", table_name="shipments")
    op.drop_index("ix_shipments_delivered_at", table_name="shipments")
    op.drop_table("lane_transit_times")
