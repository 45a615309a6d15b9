"""ideas searched like articles (portal.search); support teams have a lead

The ideas board's full-text index, as 0006 made the knowledge base's (no model describes it:
portal.db.UNMODELLED_OBJECTS). SQLite: an FTS5 table over title and description, kept in step by
triggers and filled from the ideas already there. PostgreSQL: a stored generated column of the
weighted tsvector with a GIN index (filled for existing rows when the column is added).

support_teams.lead_id: who hears of a low satisfaction rating on the team's cases. The table is
vendor-only under row-level security already (0006); a column changes nothing there.

Revision ID: 0010_search_and_leads
Revises: 0009_csat
Create Date: 2026-11-23 21:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_search_and_leads"
down_revision = "0009_csat"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE ideas_fts USING fts5(title, description, content='ideas', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER ideas_fts_insert AFTER INSERT ON ideas BEGIN "
    "INSERT INTO ideas_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER ideas_fts_delete AFTER DELETE ON ideas BEGIN "
    "INSERT INTO ideas_fts(ideas_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER ideas_fts_update AFTER UPDATE OF title, description ON ideas BEGIN "
    "INSERT INTO ideas_fts(ideas_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO ideas_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO ideas_fts(ideas_fts) VALUES ('rebuild')",
]
PG_SEARCH = [
    "ALTER TABLE ideas ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')) STORED",
    "CREATE INDEX ix_ideas_search ON ideas USING gin (search_vector)",
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in PG_SEARCH if postgresql else SQLITE_FTS:
        op.execute(statement)
    with op.batch_alter_table("support_teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_support_teams_lead_id_users"),
            "users",
            ["lead_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("support_teams", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_support_teams_lead_id_users"), type_="foreignkey")
        batch_op.drop_column("lead_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ideas_search")
        op.execute("ALTER TABLE ideas DROP COLUMN IF EXISTS search_vector")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS ideas_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS ideas_fts")
