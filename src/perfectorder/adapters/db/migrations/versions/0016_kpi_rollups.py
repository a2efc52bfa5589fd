"""The KPIs' daily rollups, with duration histograms: KPI reports read no per-order row

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "measure", "key", "bucket", name=op.f("pk_kpi_rollups")),
    )
    # The stored verdicts never added to these rollups, and a refresh subtracts what a verdict added
    # before: so the verdicts are thrown away and every order queued, and the worker judges them
    # again (what services.verdicts.rebuild does), filling both rollups from scratch.
    for table in ("verdict_rollups", "verdict_failures", "order_verdicts"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM orders "
        "WHERE id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def downgrade() -> None:
    op.drop_table("kpi_rollups")
