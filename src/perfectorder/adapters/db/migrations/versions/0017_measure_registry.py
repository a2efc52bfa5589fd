"""One registry of measures (issue 17): the KPI rollups are keyed by the registry's measure names
(with each calendar month's customers by number of purchases) and read through a covering index,
and the per-order KPI columns of order_verdicts, which no report reads any more, are dropped;
every order is judged again to fill the rollups under the new keys

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_FLAGS = ("k_cancelled", "k_shipped", "k_delivered", "k_backordered", "k_returned", "k_replacement")
_COUNTS = (
    "k_lines_ordered",
    "k_lines_complete_first",
    "k_units_ordered",
    "k_units_first_shipment",
    "k_pick_lines",
    "k_pick_lines_correct",
)
_HOURS = (
    "k_cycle_hours",
    "k_lead_hours",
    "k_ship_hours",
    *(f"k_{s}_hours" for s in ("approved", "picked", "packed", "shipped", "delivered")),
)
_MAYBE = ("k_ship_on_time", "k_deliver_on_time", "k_accurate")


def _requeue_everything() -> None:
    # A refresh subtracts what a stored verdict added under the old keys: so the verdicts and
    # rollups are thrown away and every order queued; the worker judges them again.
    for table in ("verdict_rollups", "kpi_rollups", "verdict_failures", "order_verdicts"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM orders "
        "WHERE id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def upgrade() -> None:
    _requeue_everything()
    op.drop_index("ix_order_verdicts_returns", table_name="order_verdicts")
    op.drop_index("ix_order_verdicts_customers", table_name="order_verdicts")
    with op.batch_alter_table("order_verdicts") as batch:
        for name in (*_FLAGS, *_COUNTS, *_HOURS, *_MAYBE, "k_return_reasons", "k_rating"):
            batch.drop_column(name)
    # Index-only reads of a month's KPI rollups (docs/scaling.md).
    op.create_index("ix_kpi_rollups_covering", "kpi_rollups", ["day", "measure", "key", "bucket", "n"])


def downgrade() -> None:
    op.drop_index("ix_kpi_rollups_covering", table_name="kpi_rollups")
    _requeue_everything()
    with op.batch_alter_table("order_verdicts") as batch:
        for name in _FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))
        for name in _COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
        for name in _HOURS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        for name in _MAYBE:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("k_return_reasons", sa.String(length=500), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("k_rating", sa.Integer(), nullable=True))
    op.create_index(
        "ix_order_verdicts_customers", "order_verdicts", ["placed_on", "customer_id", "k_cancelled"]
    )
    op.create_index(
        "ix_order_verdicts_returns",
        "order_verdicts",
        ["placed_on"],
        postgresql_include=["k_return_reasons"],
        postgresql_where=sa.text("k_return_reasons <> ''"),
        sqlite_where=sa.text("k_return_reasons <> ''"),
    )
