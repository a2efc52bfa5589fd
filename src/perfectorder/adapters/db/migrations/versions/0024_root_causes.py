"""Root causes on the improvement page: each stored verdict keeps its parcels' lanes, its currency,
refunds and reshipments, and failure_rollups counts each failure's orders per slice (with every
order's under "*") so a period's lift table and cost are sums of rows; every order is judged again
to fill them

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import ExactDecimal

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _requeue_everything() -> None:
    # A refresh subtracts what a stored verdict added: rows stored before this revision never added
    # to failure_rollups, so the verdicts and rollups are thrown away and every order queued; the
    # worker judges them again.
    for table in ("verdict_rollups", "kpi_rollups", "verdict_failures", "order_verdicts"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM orders "
        "WHERE id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def upgrade() -> None:
    _requeue_everything()
    with op.batch_alter_table("order_verdicts") as batch:
        batch.add_column(sa.Column("lanes", sa.String(length=1000), server_default="", nullable=False))
        batch.add_column(sa.Column("currency", sa.String(length=3), server_default="", nullable=False))
        batch.add_column(sa.Column("refunded", ExactDecimal(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reshipped", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "failure_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("final_from", sa.Date(), nullable=False),
        sa.Column("component", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("orders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reshipped", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "final_from",
            "component",
            "code",
            "stage",
            "dimension",
            "key",
            name=op.f("pk_failure_rollups"),
        ),
    )


def downgrade() -> None:
    # The verdicts and rollups of the revision before count nothing these columns hold: kept.
    op.drop_table("failure_rollups")
    with op.batch_alter_table("order_verdicts") as batch:
        for name in ("reshipped", "refunded", "currency", "lanes"):
            batch.drop_column(name)
