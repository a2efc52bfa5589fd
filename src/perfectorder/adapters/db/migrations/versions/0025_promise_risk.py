"""The promise-risk model and each open order's score (issue 21)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trained_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("snapshots", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_models")),
    )
    op.create_table(
        "order_risk",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("rule_flag", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("scored_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_risk_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_risk")),
    )
    op.create_index("ix_order_risk_probability", "order_risk", ["probability", "order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_risk_probability", table_name="order_risk")
    op.drop_table("order_risk")
    op.drop_table("risk_models")
