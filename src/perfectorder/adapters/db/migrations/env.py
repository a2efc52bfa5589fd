"""Alembic environment: the connection comes from `perfectorder db upgrade` (or the tests)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from perfectorder.adapters.db.partitions import is_partition
from perfectorder.adapters.db.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)


def _schema_name(name: str | None, kind: str, _parent: object) -> bool:
    # Monthly partitions are made by the worker, never by a migration: autogenerate leaves them.
    return not (kind == "table" and name is not None and is_partition(name))


def _run(connection: Connection) -> None:
    # Batch mode lets SQLite, which cannot ALTER most things, take the same migrations.
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, include_name=_schema_name
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
