"""Line-level promises and on-time terms (issue 18): an order's promise may carry a time and a
window's start, and the basis (date or time) and grace it is judged by; a line may carry its own
promise and delivery; customers may have their own terms. The rollups count lines evaluated and
late, so every order is judged again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_LINE_COUNTS = ("lines_evaluated", "lines_late")


def _requeue_everything() -> None:
    # The stored rollups lack the line counts a refresh would subtract: rebuilt from the orders.
    for table in ("verdict_rollups", "kpi_rollups", "verdict_failures", "order_verdicts"):
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    op.execute(
        "INSERT INTO verdict_queue (order_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM orders "
        "WHERE id NOT IN (SELECT order_id FROM verdict_queue)"
    )


def upgrade() -> None:
    _requeue_everything()
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("promised_by", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("promised_from", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("on_time_basis", sa.String(4), nullable=False, server_default="date"))
        batch.add_column(sa.Column("grace_minutes", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("promised_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("promised_by", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("promised_from", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_at", UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("on_time_basis", sa.String(4), nullable=True))
        batch.add_column(sa.Column("grace_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("verdict_rollups") as batch:
        for name in _LINE_COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    _requeue_everything()
    with op.batch_alter_table("verdict_rollups") as batch:
        for name in _LINE_COUNTS:
            batch.drop_column(name)
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("grace_minutes")
        batch.drop_column("on_time_basis")
    with op.batch_alter_table("order_lines") as batch:
        for name in ("delivered_at", "promised_from", "promised_by", "promised_on"):
            batch.drop_column(name)
    with op.batch_alter_table("orders") as batch:
        for name in ("grace_minutes", "on_time_basis", "promised_from", "promised_by"):
            batch.drop_column(name)
