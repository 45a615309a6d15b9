"""organizations: the account manager, a vendor user who looks after the organisation

organizations.account_manager_id: nullable, a foreign key to users (SET NULL when the user row
goes), indexed (the vendor's "my accounts" reads by it). Vendor staff who manage organisations
assign it (portal.identity.services.assign_account_manager, audited); the organisation reads the
manager's name and email on its home, cases and quotes.

On SQLite both directions avoid a table rebuild: a rebuild drops ``organizations``, which nearly
every table references, and that DROP's implicit DELETE runs their ON DELETE actions (foreign
keys are on, and a migration's transaction cannot turn them off). The column is added plain, and
its constraint is written into the stored table definition as a table constraint, SQLite's
documented procedure for constraint changes that leave the stored rows as they are (every row's
value is NULL, so none can break it); SQLite enforces it from the next statement on, and
reflection reads its name and ON DELETE back, so the models and the migrations compare equal.
The downgrade takes the constraint out the same way, then drops the index and the column.

Row-level security: the organizations policy (0002) reads id, kind and managed_by_id only, so the
new column changes nothing there.

Revision ID: 0014_account_manager
Revises: 0013_client_status
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0014_account_manager"
down_revision = "0013_client_status"
branch_labels = None
depends_on = None

FK = "fk_organizations_account_manager_id_users"
INDEX = "ix_organizations_account_manager_id"
FOREIGN_KEY = ("organizations", "account_manager_id", "users")


def upgrade() -> None:
    op.add_column("organizations", sa.Column("account_manager_id", sa.Integer()))
    add_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    op.create_index(INDEX, "organizations", ["account_manager_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="organizations")
    drop_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    if op.get_bind().dialect.name == "sqlite":  # no rebuild (see add_foreign_key)
        op.execute("ALTER TABLE organizations DROP COLUMN account_manager_id")
    else:
        op.drop_column("organizations", "account_manager_id")
