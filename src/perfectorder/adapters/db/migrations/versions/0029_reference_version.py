"""The reference data's version: a counter the database itself raises whenever warehouses,
shipping services, holidays or learned lane transit times change, so every process's cache of
them sees a change within a second, whoever made it (another process, an import, SQL by hand)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

TABLES = ("warehouses", "shipping_services", "holidays", "lane_transit_times")
BUMP = "UPDATE cache_versions SET version = version + 1 WHERE name = 'reference'"


def upgrade() -> None:
    op.create_table(
        "cache_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_versions")),
    )
    op.execute("INSERT INTO cache_versions (name, version) VALUES ('reference', 0)")
    # Triggers, not a call in each repository: a writer that forgets cannot leave caches stale.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION perfectorder_reference_changed() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_reference_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION perfectorder_reference_changed()"
            )
    else:
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_reference_changed AFTER {event} ON {table} "
                    f"BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS perfectorder_reference_changed()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_reference_changed")
    op.drop_table("cache_versions")
