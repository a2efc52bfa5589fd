"""Allocations say whether they booked a day of their warehouse's shipping capacity

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep what a cancel did before: give back the day of each reserved allocation.
    with op.batch_alter_table("allocations") as batch:
        batch.add_column(sa.Column("books_capacity", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("allocations") as batch:
        batch.drop_column("books_capacity")
