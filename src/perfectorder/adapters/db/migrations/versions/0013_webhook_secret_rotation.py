"""Webhook subscriptions keep their previous secret for a grace period after a rotation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import perfectorder.adapters.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column(
                "previous_secret_until",
                perfectorder.adapters.db.types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
