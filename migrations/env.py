"""Alembic environment: the connection comes from the caller (portal.migrate) or the app config."""

from alembic import context
from sqlalchemy import pool

from portal.app import load_models
from portal.config import from_environment
from portal.db import UNMODELLED_OBJECTS, Base, UTCDateTime
from portal.engine import make_engine

load_models()
target_metadata = Base.metadata
config = context.config


def render_item(type_, obj, autogen_context):
    # Migrations must not import application code that may change after they land.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=True,  # SQLite can only change a table by copying it
        compare_type=True,
        include_name=lambda name, type_, parents: name not in UNMODELLED_OBJECTS,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Migrations see every organisation's rows (row-level security, revision 0002).
            connection.exec_driver_sql("SELECT set_config('app.scope', 'all', true)")
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or from_environment()["DATABASE_URL"]
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        run_migrations(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_online()
