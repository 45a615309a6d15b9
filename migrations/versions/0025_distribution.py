"""two-tier distribution: a distributor reads its resellers' records; leads passed down; quotes
through a distributor

Issue 15, item 3. A reseller is attached to a distributor by ``organizations.managed_by_id``
(the organisation form allows it). The tenant rules grow by one sentence: "a distributor sees
what its resellers own, read-only". The models say it once (partners.two_tier.owned_or_resold,
in the visibility rules of registrations, lead offers, leads and quotes); here the PostgreSQL
policies say the same: ``RESOLD`` is the organisation's own rows or rows whose organisation is a
reseller it manages. Only reading widens. The single FOR ALL policies (0004, 0005) of
``deal_registrations``, ``lead_offers``, ``quotes`` and ``quote_lines`` are split into a read
policy (own or resold) and insert, update and delete policies (own only, as before), because
permissive policies are ORed: a FOR ALL policy with the wider rule would let a distributor write
its resellers' rows. ``leads`` keeps its write policy; its read policy also follows an open
offer to one of the distributor's resellers. Quote drafts stay the vendor's alone.

Columns (both nullable, every existing row NULL, so no data moves):
- ``lead_offers.passed_down_from_id``: the distributor's offer that this offer passed down to
  one of its resellers, with its own respond-by (CASCADE: it goes with the offer it came from);
  indexed (a distributor's offer finds what it passed down), and at most one open offer per
  offer it came from (``uq_lead_offers_open_per_parent``, partial: a distributor passes a lead to
  one reseller at a time, enforced by the database so two pass-downs at once end with one).
- ``quotes.via_org_id``: the distributor a quote to one of its resellers goes through (named on
  the quote, told when it is sent; SET NULL if the organisation row goes).
Both foreign keys are added without a table rebuild on SQLite (portal.migrate.add_foreign_key).

Revision ID: 0025_distribution
Revises: 0024_conflict_settlement
Create Date: 2026-12-03 08:40:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0025_distribution"
down_revision = "0024_conflict_settlement"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"


def _owned(table: str) -> str:
    return f"{table}.org_id = {ORG}"


def _resold(table: str) -> str:
    """partners.two_tier.owned_or_resold, in SQL: own, or a reseller's the organisation manages."""
    return (
        f"({_owned(table)} OR {table}.org_id IN (SELECT r.id FROM organizations r "
        f"WHERE r.managed_by_id = {ORG} AND r.kind = 'reseller'))"
    )


# table -> (read, write): the new read rule, and the write rule the single policy of 0004 or
# 0005 had (the downgrade puts that policy back).
NOT_DRAFT = "status <> 'draft'"
LINE_OF_SENT_QUOTE = (
    "EXISTS (SELECT 1 FROM quotes q WHERE q.id = quote_lines.quote_id AND q.status <> 'draft')"
)
POLICIES = {
    "deal_registrations": (
        f"({SCOPE_ALL} OR {_resold('deal_registrations')})",
        f"({SCOPE_ALL} OR {_owned('deal_registrations')})",
    ),
    "lead_offers": (
        f"({SCOPE_ALL} OR {_resold('lead_offers')})",
        f"({SCOPE_ALL} OR {_owned('lead_offers')})",
    ),
    "quotes": (
        f"({SCOPE_ALL} OR ({_resold('quotes')} AND {NOT_DRAFT}))",
        f"({SCOPE_ALL} OR ({_owned('quotes')} AND {NOT_DRAFT}))",
    ),
    "quote_lines": (
        f"({SCOPE_ALL} OR ({_resold('quote_lines')} AND {LINE_OF_SENT_QUOTE}))",
        f"({SCOPE_ALL} OR ({_owned('quote_lines')} AND {LINE_OF_SENT_QUOTE}))",
    ),
}
LEADS_READ_BEFORE = (
    f"({SCOPE_ALL} OR org_id = {ORG} OR EXISTS (SELECT 1 FROM lead_offers o "
    f"WHERE o.lead_id = leads.id AND o.org_id = {ORG} "
    f"AND o.status IN ('offered', 'accepted')))"
)
LEADS_READ = (
    f"({SCOPE_ALL} OR org_id = {ORG} OR EXISTS (SELECT 1 FROM lead_offers o "
    f"WHERE o.lead_id = leads.id AND {_resold('o')} "
    f"AND o.status IN ('offered', 'accepted')))"
)

PASSED_DOWN = ("lead_offers", "passed_down_from_id", "lead_offers")
PASSED_DOWN_FK = "fk_lead_offers_passed_down_from_id_lead_offers"
PASSED_DOWN_INDEX = "ix_lead_offers_passed_down_from_id"
ONE_RESELLER_INDEX = "uq_lead_offers_open_per_parent"
OPEN_RESELLER_OFFER = sa.text(
    "passed_down_from_id IS NOT NULL AND status IN ('offered', 'accepted')"
)
VIA = ("quotes", "via_org_id", "organizations")
VIA_FK = "fk_quotes_via_org_id_organizations"


def _policies(read_now: bool) -> None:
    for table, (read, write) in POLICIES.items():
        for name in ("tenant_wall", "tenant_read", "tenant_insert", "tenant_update"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"DROP POLICY IF EXISTS tenant_delete ON {table}")
        if not read_now:  # as 0004 and 0005 left them
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {write} WITH CHECK {write}")
            continue
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {read}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK {write}")
        op.execute(
            f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING {write} WITH CHECK {write}"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING {write}")
    op.execute("DROP POLICY IF EXISTS tenant_read ON leads")
    rule = LEADS_READ if read_now else LEADS_READ_BEFORE
    op.execute(f"CREATE POLICY tenant_read ON leads FOR SELECT USING {rule}")


def upgrade() -> None:
    op.add_column("lead_offers", sa.Column("passed_down_from_id", sa.Integer()))
    add_foreign_key(op, *PASSED_DOWN, name=PASSED_DOWN_FK, ondelete="CASCADE")
    op.create_index(PASSED_DOWN_INDEX, "lead_offers", ["passed_down_from_id"])
    op.create_index(
        ONE_RESELLER_INDEX,
        "lead_offers",
        ["passed_down_from_id"],
        unique=True,
        sqlite_where=OPEN_RESELLER_OFFER,
        postgresql_where=OPEN_RESELLER_OFFER,
    )
    op.add_column("quotes", sa.Column("via_org_id", sa.Integer()))
    add_foreign_key(op, *VIA, name=VIA_FK, ondelete="SET NULL")
    if op.get_bind().dialect.name == "postgresql":
        _policies(read_now=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _policies(read_now=False)
    drop_foreign_key(op, *VIA, name=VIA_FK, ondelete="SET NULL")
    op.drop_index(ONE_RESELLER_INDEX, table_name="lead_offers")
    op.drop_index(PASSED_DOWN_INDEX, table_name="lead_offers")
    drop_foreign_key(op, *PASSED_DOWN, name=PASSED_DOWN_FK, ondelete="CASCADE")
    if bind.dialect.name == "sqlite":  # no rebuild (see add_foreign_key)
        op.execute("ALTER TABLE quotes DROP COLUMN via_org_id")
        op.execute("ALTER TABLE lead_offers DROP COLUMN passed_down_from_id")
    else:
        op.drop_column("quotes", "via_org_id")
        op.drop_column("lead_offers", "passed_down_from_id")
