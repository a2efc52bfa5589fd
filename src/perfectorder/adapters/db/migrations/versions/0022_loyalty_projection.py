"""Loyalty kept with the verdicts: each purchase's days to the customer's next one, each customer's
rhythm; the loyalty report sums a period of these instead of reading its buyers' whole histories

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_purchases",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("perfect", sa.Boolean(), nullable=True),
        sa.Column("days_to_next", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_loyalty_purchases_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_loyalty_purchases")),
    )
    op.create_index(
        "ix_loyalty_purchases_customer", "loyalty_purchases", ["customer_id", "placed_on", "order_id"]
    )
    op.create_index(
        "ix_loyalty_purchases_placed_on",
        "loyalty_purchases",
        ["placed_on", "perfect", "days_to_next", "order_id"],
    )
    op.create_table(
        "customer_rhythms",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("last_order_day", sa.Integer(), nullable=False),
        sa.Column("usual_interval_days", sa.Float(), nullable=True),
        sa.Column("last_imperfect_order_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_rhythms")),
    )
    # Filled from the store's purchases by the next verdict refresh (services.loyalty.rebuild), which
    # finds no "loyalty" row in projection_refreshes.


def downgrade() -> None:
    op.drop_table("customer_rhythms")
    op.drop_index("ix_loyalty_purchases_placed_on", table_name="loyalty_purchases")
    op.drop_index("ix_loyalty_purchases_customer", table_name="loyalty_purchases")
    op.drop_table("loyalty_purchases")
