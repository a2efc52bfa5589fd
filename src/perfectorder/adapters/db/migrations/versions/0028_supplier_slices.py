"""Root causes by supplier: each stored verdict keeps the suppliers listing the order's products,
and failure_rollups count failures per supplier; every order is judged again to fill them

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def _requeue_everything() -> None:
    # A refresh subtracts what a stored verdict added: rows stored before this revision added no
    # supplier slice, so subtracting their new one would count below zero. The verdicts and
    # rollups are thrown away and every order queued; the worker judges them again (as 0024).
    for table in ("failure_rollups", "verdict_rollups", "kpi_rollups", "verdict_failures", "order_verdicts"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM orders "
        "WHERE id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def upgrade() -> None:
    _requeue_everything()
    with op.batch_alter_table("order_verdicts") as batch:
        # A list: supplier codes may hold commas, and an order's products may have many suppliers.
        batch.add_column(sa.Column("suppliers", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    # Rollups by supplier mean nothing to the revision before: gone with the column.
    op.execute("DELETE FROM failure_rollups WHERE dimension = 'supplier'")
    with op.batch_alter_table("order_verdicts") as batch:
        batch.drop_column("suppliers")
