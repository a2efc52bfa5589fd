"""Every slip told: the expected date last told to the customer and when, so each later slip is
told again (at most once a day) and the verdict can check that none went untold; carriers' ETAs

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("told_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("told_at", UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("carrier_events") as batch:
        batch.add_column(sa.Column("estimated_delivery", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carrier_events") as batch:
        batch.drop_column("estimated_delivery")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("told_at")
        batch.drop_column("told_date")
