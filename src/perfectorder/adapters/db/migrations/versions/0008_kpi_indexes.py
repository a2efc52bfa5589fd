"""KPI report: indexes its repeat-purchase and return-reason sums read alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_order_verdicts_customers", "order_verdicts", ["placed_on", "customer_id", "k_cancelled"]
    )
    op.create_index(
        "ix_order_verdicts_returns",
        "order_verdicts",
        ["placed_on"],
        postgresql_include=["k_return_reasons"],
        postgresql_where=sa.text("k_return_reasons <> ''"),
        sqlite_where=sa.text("k_return_reasons <> ''"),
    )


def downgrade() -> None:
    op.drop_index("ix_order_verdicts_returns", table_name="order_verdicts")
    op.drop_index("ix_order_verdicts_customers", table_name="order_verdicts")
