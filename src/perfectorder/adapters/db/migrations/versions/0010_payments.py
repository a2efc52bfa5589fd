"""Payments: a ledger of captures, invoices, settlements and refunds, with running sums on the order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import perfectorder.adapters.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AMOUNT = perfectorder.adapters.db.types.ExactDecimal(precision=18, scale=4)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("paid_amount", AMOUNT, nullable=False, server_default="0"))
        batch.add_column(sa.Column("invoiced_amount", AMOUNT, nullable=False, server_default="0"))
        batch.add_column(sa.Column("refunded_amount", AMOUNT, nullable=False, server_default="0"))
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.String(20), nullable=True),
        sa.Column("reference", sa.String(100), nullable=False, server_default=""),
        sa.Column("return_id", sa.Integer(), sa.ForeignKey("returns.id"), nullable=True),
        sa.Column("occurred_at", perfectorder.adapters.db.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id", "id"])
    op.create_index("ix_payments_customer_id", "payments", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_payments_customer_id", table_name="payments")
    op.drop_index("ix_payments_order_id", table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("refunded_amount")
        batch.drop_column("invoiced_amount")
        batch.drop_column("paid_amount")
