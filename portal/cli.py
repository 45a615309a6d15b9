"""Command line: database, demo world, periodic work and the job worker.

``flask --app wsgi demo`` is the one-command start of the embedded mode.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal import jobs
from portal.config import base_url_on_port
from portal.db import db


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(tick_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from portal.mailin.cli import mail_in_command

    app.cli.add_command(mail_in_command)


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Bring the schema to the newest migration.")
@with_appcontext
def db_upgrade() -> None:
    upgrade_database()
    click.echo("Database is up to date.")


def upgrade_database() -> None:
    """Bring the app's database to the newest migration, in one transaction."""
    from portal import migrate  # Alembic (and Mako) only for the commands: ~10 MB a web worker

    with db.engine.begin() as connection:
        migrate.upgrade(connection)


@db_group.command("check", help="Fail if the models and the migrations differ.")
@with_appcontext
def db_check() -> None:
    from portal import migrate

    with db.engine.connect() as connection:
        diff = migrate.differences(connection)
    if diff:
        for item in diff:
            click.echo(f"  {item}", err=True)
        raise click.ClickException("models and migrations differ: write a migration")
    click.echo("Models and migrations agree.")


@db_group.command("revision", help="Write a new migration from the model changes.")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    from alembic import command

    from portal import migrate

    command.revision(
        migrate.alembic_config(url=current_app.config["DATABASE_URL"]),
        message=message,
        autogenerate=True,
    )


@contextmanager
def _quiet_mail():
    """The demo world's own notifications would print ~70 emails before the sign-ins."""
    logger = logging.getLogger("portal.mail")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@click.command("seed", help="Create the demo world (safe to run again).")
@with_appcontext
def seed_command() -> None:
    from portal.seed import seed_demo_world

    with _quiet_mail():
        created = seed_demo_world()
    click.echo(f"Demo world ready ({created} new records).")


@click.command("demo", help="Migrate, seed the demo world and serve it on 127.0.0.1.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    help="Also the port of emailed links, unless BASE_URL names another host.",
)
@with_appcontext
def demo_command(port: int) -> None:
    from portal.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo_world

    # Before seeding: the demo world's own notifications carry links too.
    current_app.config["BASE_URL"] = base_url_on_port(current_app.config["BASE_URL"], port)
    upgrade_database()
    with _quiet_mail():
        seed_demo_world()
    url = f"http://127.0.0.1:{port}/"
    click.echo(f"\nThe portal is at {url}\nDemo sign-ins (password {DEMO_PASSWORD} for all):")
    for email, role, org in DEMO_USERS:
        click.echo(f"  {email:<34} {role:<16} {org}")
    click.echo("")
    # The flask CLI refuses app.run(); serve with Werkzeug directly (threaded, loopback only).
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)


@click.command("tick", help="Run periodic work once (expiries, retries). Safe to run twice.")
@click.argument("names", nargs=-1)
@with_appcontext
def tick_command(names: tuple[str, ...]) -> None:
    for name, result in jobs.run_periodic(list(names) or None).items():
        click.echo(f"{name}: {result}")


@click.command("worker", help="Run background jobs from Redis (needs REDIS_URL).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    backend = jobs.backend()
    if not isinstance(backend, jobs.RedisBackend):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed")
    from rq import Worker

    Worker([backend.queue], connection=backend.connection).work(burst=burst)


@click.command("backup", help="Write the database and a manifest of its checksums to PATH (.tar).")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    from portal import backup

    url = current_app.config["DATABASE_URL"]
    try:
        manifest = backup.create_backup(url, path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {backup.describe(url)} to {path}: {backup.summary(manifest)}.")


@click.command("restore", help="Restore the backup at PATH into the database and verify it.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    from portal import backup

    url = current_app.config["DATABASE_URL"]
    try:
        manifest, revision = backup.restore_backup(url, path, force=force)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Restored {path} into {backup.describe(url)}, verified: {backup.summary(manifest)}."
    )
    if revision != manifest["revision"]:
        click.echo(f"Migrated from {manifest['revision']} to {revision}.")
