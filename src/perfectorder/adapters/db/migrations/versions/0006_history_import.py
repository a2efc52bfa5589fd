"""imported history: customers' external references

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("external_ref", sa.String(length=100), nullable=True))
        batch.create_unique_constraint(batch.f("uq_customers_external_ref"), ["external_ref"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customers_external_ref", type_="unique")
        batch.drop_column("external_ref")
