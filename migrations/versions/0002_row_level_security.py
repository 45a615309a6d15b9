"""PostgreSQL row-level security: the second wall behind the ORM's tenant scoping

Revision ID: 0002_row_level_security
Revises: 0001_platform
Create Date: 2026-11-23

The session sets two transaction-local settings (portal/db.py): app.scope is 'all' (vendor staff,
or code that opted out with unscoped()), 'org' (one organisation, app.org_id) or 'none'. FORCE
makes the policies bind the tables' owner too; only superusers bypass them. Audit events, in-app
notifications and mail may be written across organisations (a partner's action notifies vendor
staff) but are read only within the wall; audit events cannot be updated or deleted at all.
"""

from alembic import op

revision = "0002_row_level_security"
down_revision = "0001_platform"
branch_labels = None
depends_on = None

ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({ALL} OR org_id = {ORG})"

# table -> (read rule, write rule); None = no write policy for that command.
POLICIES = {
    "users": (OWN_ORG, OWN_ORG),
    "user_sessions": (OWN_ORG, OWN_ORG),
    "invitations": (OWN_ORG, OWN_ORG),
    "notification_preferences": (OWN_ORG, OWN_ORG),
    "organizations": (f"({ALL} OR id = {ORG} OR kind = 'vendor' OR managed_by_id = {ORG})", ALL),
}
READ_AND_INSERT_ONLY = {"audit_events": OWN_ORG}
READ_AND_INSERT_ANYWHERE = {"notifications": OWN_ORG, "outbox_messages": OWN_ORG}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (read, write) in POLICIES.items():
        _enable(table)
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {read}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK {write}")
        op.execute(
            f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING {read} WITH CHECK {write}"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING {write}")
    for table, read in READ_AND_INSERT_ONLY.items():
        _enable(table)
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {read}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK (true)")
    for table, read in READ_AND_INSERT_ANYWHERE.items():
        _enable(table)
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {read}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK (true)")
        op.execute(f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING {read}")
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING {read}")


def _enable(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = [*POLICIES, *READ_AND_INSERT_ONLY, *READ_AND_INSERT_ANYWHERE]
    for table in tables:
        for name in ("tenant_read", "tenant_insert", "tenant_update", "tenant_delete"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
