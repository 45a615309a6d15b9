"""Alembic, driven from the app's configuration (there is no alembic.ini to keep in step)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from portal.config import PROJECT_ROOT


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def differences(connection: Connection) -> list:
    """What the models have that the migrated schema lacks, or the reverse (empty = in step)."""
    from portal.app import load_models
    from portal.db import UNMODELLED_OBJECTS, Base

    load_models()
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": True,
            "include_name": lambda name, type_, parents: name not in UNMODELLED_OBJECTS,
        },
    )
    return compare_metadata(context, Base.metadata)
