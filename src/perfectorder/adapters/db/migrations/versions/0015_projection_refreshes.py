"""When the verdicts and rollups were last refreshed, for the reports' "as of"

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import perfectorder.adapters.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_refreshes",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("refreshed_at", perfectorder.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("projection_refreshes")
