"""Metric definitions corrected (issue 17): order lead time runs placed -> delivered, placed ->
shipped is kept as time to ship; a lost parcel's claim names the order that reshipped it, and
exchanges and reshipments are marked so they are not counted as purchases; every stored verdict
is queued to be judged again

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("replacement_order_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_claims_replacement_order_id_orders"), "orders", ["replacement_order_id"], ["id"]
        )
    with op.batch_alter_table("order_verdicts") as batch:
        batch.add_column(sa.Column("k_ship_hours", sa.Float(), nullable=True))
        batch.add_column(sa.Column("k_replacement", sa.Boolean(), server_default=sa.false(), nullable=False))
    # The stored hours are exact under the new names; what else changed (unit fill capped per line,
    # lost parcels judged, replacements marked) needs the order's facts, so every stored verdict is
    # queued for the next refresh.
    op.execute("UPDATE order_verdicts SET k_ship_hours = k_lead_hours, k_lead_hours = k_cycle_hours")
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT order_id, refreshed_at FROM order_verdicts "
        "WHERE order_id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def downgrade() -> None:
    op.execute("UPDATE order_verdicts SET k_lead_hours = k_ship_hours")
    with op.batch_alter_table("order_verdicts") as batch:
        batch.drop_column("k_replacement")
        batch.drop_column("k_ship_hours")
    with op.batch_alter_table("claims") as batch:
        batch.drop_constraint(op.f("fk_claims_replacement_order_id_orders"), type_="foreignkey")
        batch.drop_column("replacement_order_id")
