"""Growth: on PostgreSQL the order timeline (order_events) and the stock ledger (stock_movements)
are partitioned by month, and delivered outbox messages move to an archive (outbox_archive,
outbox_attempts_archive) that is partitioned by month too. On SQLite the archive tables are plain.

Rows are copied into a DEFAULT partition here; `upgrade()` (adapters/db/migrate.py) then gives
every month with rows its own partition, as the worker does from then on.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from perfectorder.adapters.db.types import UtcDateTime

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# table -> (partition key, indexes as (name, columns), foreign keys as (name, column, target))
REBUILT = {
    # No foreign key to orders any more: attaching a partition to a table with one locks orders
    # against writes until the attach commits, which would stop order capture for every new month.
    # Events are only ever written beside their order, in its transaction.
    "order_events": ("occurred_at", [("ix_order_events_order_id", "order_id, id")], []),
    "stock_movements": (
        "created_at",
        [
            ("ix_stock_movements_product_warehouse", "product_id, warehouse_id, id"),
            ("ix_stock_movements_order_id", "order_id"),
            ("ix_stock_movements_created_at", "created_at"),
        ],
        [
            ("fk_stock_movements_product_id_products", "product_id", "products (id)"),
            ("fk_stock_movements_warehouse_id_warehouses", "warehouse_id", "warehouses (id)"),
        ],
    ),
}


def _message_columns() -> list[sa.Column[object]]:
    # outbox's columns, and when the row moved here.
    return [
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("topic", sa.String(length=50), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=500), server_default="", nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("archived_at", UtcDateTime(), nullable=False),
    ]


def _attempt_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UtcDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=False),
    ]


def _archive_tables(postgres: bool) -> None:
    # No unique message id (an archived message is never queued again) and no foreign key to the
    # outbox row it came from (that row is gone). On PostgreSQL a partitioned table's keys must
    # hold its partition key.
    for name, columns, key in (
        ("outbox_archive", _message_columns(), "created_at"),
        ("outbox_attempts_archive", _attempt_columns(), "attempted_at"),
    ):
        op.create_table(
            name,
            *columns,
            sa.PrimaryKeyConstraint("id", *((key,) if postgres else ()), name=f"pk_{name}"),
            postgresql_partition_by=f"RANGE ({key})",
        )
        if postgres:
            op.execute(f"CREATE TABLE {name}_default PARTITION OF {name} DEFAULT")
    op.create_index("ix_outbox_archive_order_id", "outbox_archive", ["order_id"])
    op.create_index("ix_outbox_attempts_archive_outbox_id", "outbox_attempts_archive", ["outbox_id"])


def _partition(table: str, key: str, indexes: list[tuple[str, str]], fks: list[tuple[str, str, str]]) -> None:
    # LIKE keeps the columns, their defaults (the same id sequence) and NOT NULLs; the keys are
    # built after the copy, which is faster than keeping them up to date row by row.
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
    op.execute(
        f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE ({key})"
    )
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")  # noqa: S608 - fixed names
    op.execute(f"DROP TABLE {table}_unpartitioned")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {key})")
    _keys(table, indexes, fks)


def _keys(table: str, indexes: list[tuple[str, str]], fks: list[tuple[str, str, str]]) -> None:
    for name, columns in indexes:
        op.execute(f"CREATE INDEX {name} ON {table} ({columns})")
    for name, column, target in fks:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {target}")


EVENTS_FK = ("fk_order_events_order_id_orders", "order_id", "orders (id)")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table, (key, indexes, fks) in REBUILT.items():
            _partition(table, key, indexes, fks)
    else:
        with op.batch_alter_table("order_events") as batch:
            batch.drop_constraint(EVENTS_FK[0], type_="foreignkey")
        # Archiving may empty the outbox; a plain rowid key would then hand out the archived ids
        # again. AUTOINCREMENT never reuses one.
        for table in ("outbox", "outbox_attempts"):
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
    _archive_tables(postgres)


def downgrade() -> None:
    # Archived messages go back to the outbox (the revision before keeps them all there).
    columns = ", ".join(c.name for c in _message_columns()[:-1])
    op.execute(f"INSERT INTO outbox ({columns}) SELECT {columns} FROM outbox_archive")  # noqa: S608
    op.execute("INSERT INTO outbox_attempts SELECT * FROM outbox_attempts_archive")
    op.drop_table("outbox_attempts_archive")
    op.drop_table("outbox_archive")
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("order_events") as batch:
            batch.create_foreign_key(EVENTS_FK[0], "orders", ["order_id"], ["id"])
        return
    # Back to plain tables, rows and ids kept (dropping a partitioned table drops its partitions).
    for table, (_key, indexes, fks) in REBUILT.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
        op.execute(f"CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING DEFAULTS)")
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}_partitioned")  # noqa: S608 - fixed names
        op.execute(f"DROP TABLE {table}_partitioned")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        _keys(table, indexes, [*fks, *([EVENTS_FK] if table == "order_events" else [])])
