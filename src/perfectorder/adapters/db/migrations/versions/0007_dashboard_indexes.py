"""dashboard: indexes its pages start from (search by reference, a customer's verdicts, returns
of a period, the stock ledger of a period)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_orders_external_ref", "orders", "external_ref"),
    ("ix_order_verdicts_customer_id", "order_verdicts", "customer_id"),
    ("ix_returns_created_at", "returns", "created_at"),
    ("ix_stock_movements_created_at", "stock_movements", "created_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
