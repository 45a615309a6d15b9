"""PostgreSQL: row-level security policies read the session's settings once per statement

The policies compared ``current_setting('app.scope', true)`` and ``app.org_id`` inline, and
PostgreSQL calls a function in a policy's condition on every row the statement reads: about
1.1 µs a row. The ideas' similar titles, a full-text search that ranks 4,400 matches at 20,000
ideas, took 10.3 ms in the database as the portal's role against 4.8 ms as the owner, whom the
policies do not bind. With each setting read by a scalar subquery (an InitPlan, evaluated once
per statement) it takes 4.9 ms.

An InitPlan inside a subquery makes the whole statement parallel-restricted: a vendor-wide count
over 100,000 registrations then ran in one process (43 ms became 49-52 ms; the registrations'
policy reads the organisations in a subquery, and so their policy too). So only the calls at a
condition's top level are wrapped, and not at all in the policies of the tables other policies
read in a subquery (organisations, quotes, lead offers, supplier offers): those run their calls
per row, as before.

The conditions are rewritten in place from ``pg_policies``, so what each policy allows is
unchanged: only the calls are wrapped. Later policies follow the rules written down in
``portal.migrate`` (``SCOPE_ALL``, ``ORG``, ``OWN_ORG``). SQLite has no policies.

Revision ID: 0043_policies_read_settings_once
Revises: 0042_case_counts_index
Create Date: 2026-12-04 08:50:00
"""

import re

import sqlalchemy as sa
from alembic import op

from portal.migrate import setting_calls, tables_read_in_subqueries

revision = "0043_policies_read_settings_once"
down_revision = "0042_case_counts_index"
branch_labels = None
depends_on = None

# The scalar subqueries ``read_once`` writes, as PostgreSQL prints them back: the downgrade
# takes the call out of each.
READ_ONCE_PRINTED = re.compile(
    r"\( SELECT (\(NULLIF\(current_setting\('app\.org_id'::text(?:, true)?\), ''::text\)\)::integer)"
    r" AS \"nullif\"\)"
    r"|\( SELECT (current_setting\('app\.\w+'::text(?:, true)?\)) AS current_setting\)"
)


def read_once(condition: str) -> str:
    """Each call at the top level of ``condition`` in a scalar subquery; those inside the
    policy's own subqueries stay (``portal.migrate``: an InitPlan there would make every
    statement on the table parallel-restricted)."""
    for start, end, subqueries, _scalar in reversed(setting_calls(condition)):
        if subqueries:
            continue
        condition = f"{condition[:start]}(SELECT {condition[start:end]}){condition[end:]}"
    return condition


def read_per_row(condition: str) -> str:
    return READ_ONCE_PRINTED.sub(lambda m: m[1] or m[2], condition)


def _rewrite(change, *, keep: set[str] | None = None) -> None:
    """``change`` every policy's conditions but those of the tables in ``keep`` (None: the
    tables other policies read in a subquery)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    policies = bind.execute(
        sa.text(
            "SELECT policyname, tablename, qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema()"
        )
    ).all()
    # The tables other policies read in a subquery keep reading per row: their policies'
    # InitPlans would sit inside those subqueries (see above).
    if keep is None:
        keep = tables_read_in_subqueries(c for row in policies for c in row[2:] if c)
    quote = bind.dialect.identifier_preparer.quote
    for name, table, using, check in policies:
        if table in keep:
            continue
        clauses = []
        if using and change(using) != using:
            clauses.append(f"USING ({change(using)})")
        if check and change(check) != check:
            clauses.append(f"WITH CHECK ({change(check)})")
        if clauses:
            # The driver's own SQL: a ':' in a condition's literal is no bind parameter here.
            bind.exec_driver_sql(
                f"ALTER POLICY {quote(name)} ON {quote(table)} {' '.join(clauses)}"
            )


def upgrade() -> None:
    _rewrite(read_once)


def downgrade() -> None:
    _rewrite(read_per_row, keep=set())
