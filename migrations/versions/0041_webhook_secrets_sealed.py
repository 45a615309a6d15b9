"""webhook signing secrets are stored sealed (encrypted with a key derived from SECRET_KEY)

webhook_subscriptions.secret and .previous_secret: VARCHAR(100) to VARCHAR(300), and every
stored ``whsec_`` secret replaced by its ``portal.sealed`` token (purpose ``webhook-secrets``,
164 characters for a secret of 50). The downgrade unseals them and narrows the columns again; it
stops, changing nothing, if a secret cannot be unsealed with this SECRET_KEY (a narrowed column
could not hold the token, and the secret is lost anyway: rotate it first).

The key comes from the app's SECRET_KEY (``flask db upgrade`` runs in the app's context), else
from the environment as the app would read it; it is only looked up when there are rows to
change, so building an empty database needs none. A receiver sees no change: its deliveries are
signed with the same secrets.

On SQLite neither direction rebuilds the table: a rebuild drops webhook_subscriptions, and that
DROP's implicit DELETE runs ON DELETE CASCADE of webhook_deliveries (the delivery log would be
lost). The columns' lengths are changed in the stored CREATE TABLE instead
(``portal.migrate.sqlite_rewrite_table``; SQLite does not enforce a VARCHAR's length, so every
stored row stays valid). Row-level security: the policy (0034) reads org_id only; the rows are
read and written past it (scope 'all' for the transaction), as the migration sees every
organisation.

Revision ID: 0041_webhook_secrets_sealed
Revises: 0040_passkeys
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

from portal import sealed
from portal.migrate import sqlite_rewrite_table

revision = "0041_webhook_secrets_sealed"
down_revision = "0040_passkeys"
branch_labels = None
depends_on = None

TABLE = "webhook_subscriptions"
COLUMNS = ("secret", "previous_secret")
PURPOSE = "webhook-secrets"  # as portal.webhooks.services.SEALED_AS
PLAIN_PREFIX = "whsec_"  # a secret as transport.new_secret makes it; a sealed token never is
NARROW, WIDE = 100, 300
# The columns in SQLite's stored CREATE TABLE (as 0034 wrote them).
SQLITE_COLUMNS = ("\tsecret VARCHAR({n}) NOT NULL, \n", "\tprevious_secret VARCHAR({n}), \n")


def upgrade() -> None:
    _set_length(WIDE, NARROW)
    _as_every_organisation(op.get_bind(), _seal_rows)


def downgrade() -> None:
    _as_every_organisation(op.get_bind(), _unseal_rows)
    _set_length(NARROW, WIDE)


def _seal_rows(bind) -> None:
    key = None
    for column, id_, value in _stored(bind):
        if value.startswith(PLAIN_PREFIX):
            key = key or _secret_key()
            _write(bind, column, id_, sealed.seal(PURPOSE, value, secret_key=key))


def _unseal_rows(bind) -> None:
    key = None
    plain = []
    for column, id_, value in _stored(bind):
        if value.startswith(PLAIN_PREFIX):
            continue
        key = key or _secret_key()
        secret = sealed.unseal(PURPOSE, value, secret_key=key)
        if secret is None:
            raise RuntimeError(
                f"{TABLE} {id_}: the {column} cannot be unsealed with this SECRET_KEY, so the "
                "downgrade cannot store it in plain; rotate the endpoint's secret (or delete "
                "the endpoint) first"
            )
        plain.append((column, id_, secret))
    for column, id_, secret in plain:  # written once every one has been read
        _write(bind, column, id_, secret)


def _stored(bind) -> list[tuple[str, int, str]]:
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(COLUMNS)} FROM {TABLE} ORDER BY id"))
    return [
        (column, row.id, getattr(row, column))
        for row in rows
        for column in COLUMNS
        if getattr(row, column) is not None
    ]


def _write(bind, column: str, id_: int, value: str) -> None:
    bind.execute(
        sa.text(f"UPDATE {TABLE} SET {column} = :value WHERE id = :id"), {"id": id_, "value": value}
    )


def _set_length(new: int, old: int) -> None:
    if op.get_bind().dialect.name == "sqlite":  # no rebuild (see above)

        def replace(sql: str) -> str:
            for template in SQLITE_COLUMNS:
                before, after = template.format(n=old), template.format(n=new)
                if sql.count(before) != 1:
                    raise RuntimeError(f"{TABLE}: a secret column is not as expected ({before!r})")
                sql = sql.replace(before, after)
            return sql

        sqlite_rewrite_table(op.get_bind(), TABLE, replace)
        return
    for column in COLUMNS:
        op.alter_column(
            TABLE,
            column,
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=column == "previous_secret",
        )


def _secret_key() -> str:
    """The SECRET_KEY the app runs with: its config in its context, else the environment."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config["SECRET_KEY"]
    from portal.config import from_environment

    return from_environment()["SECRET_KEY"]


def _as_every_organisation(bind, statements) -> None:
    """Run ``statements(bind)`` past PostgreSQL's row-level security (scope 'all' for this
    transaction), then give the setting back as it was (as 0018 and 0031 do)."""
    if bind.dialect.name != "postgresql":
        statements(bind)
        return
    before = bind.scalar(sa.text("SELECT current_setting('app.scope', true)"))
    bind.execute(sa.text("SELECT set_config('app.scope', 'all', true)"))
    try:
        statements(bind)
    finally:
        bind.execute(
            sa.text("SELECT set_config('app.scope', :before, true)"), {"before": before or ""}
        )
