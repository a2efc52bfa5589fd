"""order origin, unmeasured components; verdicts and rollups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("origin", sa.String(length=10), server_default="live", nullable=False))
    op.add_column("orders", sa.Column("unmeasured", sa.String(length=100), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("unmeasured")
        batch.drop_column("origin")
