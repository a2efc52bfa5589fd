"""Schema migrations with Alembic, run in-process against our own engine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from perfectorder.adapters.clock import SystemClock
from perfectorder.adapters.db.partitions import ensure_partitions
from perfectorder.domain.errors import Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        # A store just partitioned has all its rows in the default partitions: each month gets
        # its own now, and the months ahead exist before the first order of them arrives.
        ensure_partitions(conn, SystemClock().now())


@cache
def head_revision() -> str | None:
    # The scripts ship with the code and do not change under a running process; reading all of
    # them took 25 ms, at every readiness probe.
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


class EngineMigrator:
    """The migrations of one engine's database, for the CLI's `db upgrade` and the readiness probe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upgrade(self, revision: str = "head") -> None:
        upgrade(self.engine, revision)

    def current(self) -> str | None:
        return current_revision(self.engine)

    def head(self) -> str | None:
        return head_revision()

    def readiness(self) -> tuple[str | None, str | None]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return self.current(), self.head()
        except SQLAlchemyError as e:
            raise Unavailable() from e
