"""search across the portal: full-text indexes of organisations, people, leads, registrations,
quotes and cases

The indexes portal.search reads (no model describes them: portal.db.UNMODELLED_OBJECTS), as 0006
and 0010 made those of articles and ideas, over the columns the portal-wide search and the lists'
own searches look in:

- organizations (name), users (name, email), leads (company, contact_name, email),
  deal_registrations (customer_name, customer_domain, number), quotes (number, title),
  cases (subject, number).
- SQLite: an FTS5 table ``<table>_fts`` over the columns (``content='<table>'``, porter
  unicode61, which splits e-mail addresses, domains and numbers at their punctuation), kept in
  step by triggers and filled from the rows already there.
- PostgreSQL: a stored generated column ``search_vector``, the columns' tsvectors weighted A, B, …
  in order, each column's punctuation read as spaces first (so ``ana@acme.example`` is found by
  ``acme``, as on SQLite), with a GIN index ``ix_<table>_search``; filled for existing rows when
  the column is added.

A later migration that rebuilds one of these tables on SQLite (batch_alter_table) drops its
triggers with it and must create them again (``sqlite_statements`` below).

Row-level security: the policies read org_id (or the lead's offers) only; a column and a GIN
index change nothing there, and the FTS5 tables hold text the query joins back to its rows, which
the policies and the tenant wall then filter. But PostgreSQL evaluates a policy before any
operator not marked LEAKPROOF, so for the application's role ``search_vector @@ query`` could not
use the GIN index at all: every search read the whole table (about 100 ms at 100,000 leads, a
word matching nothing included). ``ts_match_vq`` (the ``tsvector @@ tsquery`` operator) only
answers true or false about its two arguments and raises no error that depends on them, so it is
marked LEAKPROOF here, where the migrating role may (a superuser: ``ALTER FUNCTION`` on a
built-in); elsewhere a DBA runs the statement below once, and until then searches still answer
correctly, by reading the table. The downgrade takes the mark back.

Revision ID: 0016_search
Revises: 0015_user_timezone
Create Date: 2026-12-03 02:30:00
"""

from alembic import op

revision = "0016_search"
down_revision = "0015_user_timezone"
branch_labels = None
depends_on = None

INDEXED = {
    "organizations": ("name",),
    "users": ("name", "email"),
    "leads": ("company", "contact_name", "email"),
    "deal_registrations": ("customer_name", "customer_domain", "number"),
    "quotes": ("number", "title"),
    "cases": ("subject", "number"),
}
WEIGHTS = "ABCD"
MATCH_OPERATOR = "ts_match_vq(tsvector, tsquery)"


def _mark_match_operator(leakproof: bool) -> None:
    """``ALTER FUNCTION ts_match_vq ... [NOT] LEAKPROOF`` if the migrating role may."""
    mark = "LEAKPROOF" if leakproof else "NOT LEAKPROOF"
    op.execute(
        "DO $$ BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
        f"ALTER FUNCTION {MATCH_OPERATOR} {mark}; END IF; END $$"
    )


def sqlite_statements(table: str, columns: tuple[str, ...]) -> list[str]:
    """The FTS5 table of ``table``, its triggers, and the statement that fills it."""
    fts = f"{table}_fts"
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', "
        "tokenize='porter unicode61')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN "
        f"{delete} {insert} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def postgresql_statements(table: str, columns: tuple[str, ...]) -> list[str]:
    vector = " || ".join(
        "setweight(to_tsvector('english'::regconfig, "
        f"regexp_replace(coalesce({c}, ''), '[^[:alnum:]]+', ' ', 'g')), '{WEIGHTS[i]}')"
        for i, c in enumerate(columns)
    )
    return [
        f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({vector}) STORED",
        f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)",
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, columns in INDEXED.items():
        build = postgresql_statements if postgresql else sqlite_statements
        for statement in build(table, columns):
            op.execute(statement)
    if postgresql:
        _mark_match_operator(leakproof=True)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        _mark_match_operator(leakproof=False)
    for table in reversed(INDEXED):
        if postgresql:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        else:
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
