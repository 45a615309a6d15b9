"""self-service: SLA policies, cases, replies and notes, status history, watchers; the
knowledge base (categories, articles with a full-text index, votes, events)

Revision ID: 0006_selfservice
Revises: 0005_quotes
Create Date: 2026-11-23 18:27:19.625183
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_selfservice"
down_revision = "0005_quotes"
branch_labels = None
depends_on = None

# Row-level security, as in 0004. A case's rows (its replies, status history, watchers) carry
# the case's organisation; the partner that manages that organisation reads them too. Internal
# notes (and their files) only vendor staff read, as CaseComment.visible_to says.
SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
CASE_TABLES = (
    "cases",
    "case_comments",
    "case_status_changes",
    "case_watchers",
    "case_attachments",
)
TENANT_TABLES = ("case_settings",)
# Rows with an ``internal`` flag: never read outside the vendor's scope.
INTERNAL_TABLES = ("case_comments", "case_attachments")
# Global tables only vendor staff read and write (votes and events are written for a reader by
# the service, unscoped): ArticleVote, ArticleEvent, SupportTeam(Member).visible_to.
VENDOR_TABLES = ("article_votes", "article_events", "support_teams", "support_team_members")


def _org_kind(kinds: str) -> str:
    return f"EXISTS (SELECT 1 FROM organizations k WHERE k.id = {ORG} AND k.kind IN ({kinds}))"


# Article.visible_to / visible_to_anonymous: vendor staff every article, drafts too; others
# published ones of their audience: no organisation (a visitor) public only, customers public
# and customers, partners public and partners.
CUSTOMER_KINDS = "'customer'"
PARTNER_KINDS = "'reseller', 'distributor', 'supplier'"
ARTICLE_READ = (
    f"({SCOPE_ALL} OR (status = 'published' AND (audience = 'public' "
    f"OR (audience = 'customers' AND {_org_kind(CUSTOMER_KINDS)}) "
    f"OR (audience = 'partners' AND {_org_kind(PARTNER_KINDS)}))))"
)


def _not_internal(table: str, rule: str) -> str:
    if table in INTERNAL_TABLES:
        return f"({rule}) AND {table}.internal = false"
    return rule


def _managed_read(table: str) -> str:
    rule = (
        f"{table}.org_id = {ORG} OR EXISTS (SELECT 1 FROM organizations m "
        f"WHERE m.id = {table}.org_id AND m.managed_by_id = {ORG})"
    )
    return f"({SCOPE_ALL} OR ({_not_internal(table, rule)}))"


def _own_write(table: str) -> str:
    return f"({SCOPE_ALL} OR ({_not_internal(table, f'{table}.org_id = {ORG}')}))"


# name, position, priority, first response hours, resolution hours: business hours. Pending
# (waiting on the customer) stops the resolution clock only; on hold stops both.
DEFAULT_POLICIES = [
    ("Urgent", 10, "urgent", "1", "8"),
    ("High", 20, "high", "4", "16"),
    ("Normal", 30, "normal", "8", "40"),
    ("Low", 40, None, "16", "80"),
]


def _row_level_security() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*CASE_TABLES, *TENANT_TABLES):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table in TENANT_TABLES:
        op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")
    for table in CASE_TABLES:
        # Separate commands, not FOR ALL: a FOR ALL policy would let its USING read rows too
        # (permissive policies are ORed), internal notes included.
        read, write = _managed_read(table), _own_write(table)
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {read}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK {write}")
        op.execute(
            f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING {write} WITH CHECK {write}"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING {write}")
    for table in (*VENDOR_TABLES, "articles"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY vendor_write ON {table} FOR ALL USING {SCOPE_ALL} WITH CHECK {SCOPE_ALL}"
        )
    op.execute(f"CREATE POLICY audience_read ON articles FOR SELECT USING {ARTICLE_READ}")


# The knowledge base's full-text index (no model describes it: portal.db.UNMODELLED_OBJECTS).
# SQLite: an FTS5 table over title and body, kept in step with articles by triggers.
# PostgreSQL: a stored generated column of the weighted tsvector, with a GIN index.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content='articles', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
PG_SEARCH = [
    # Stored, so ranking reads the vector instead of parsing every matching article again.
    "ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, body), 'B')) STORED",
    "CREATE INDEX ix_articles_search ON articles USING gin (search_vector)",
]


def _search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SEARCH:
            op.execute(statement)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "support_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_support_teams_name")),
    )
    op.create_table(
        "support_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["support_teams.id"],
            name=op.f("fk_support_team_members_team_id_support_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_support_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_team_members")),
        sa.UniqueConstraint(
            "team_id", "user_id", name=op.f("uq_support_team_members_team_id_user_id")
        ),
    )
    with op.batch_alter_table("support_team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_team_members_team_id"), ["team_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_team_members_user_id"), ["user_id"], unique=False
        )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("product", sa.String(length=100), nullable=True),
        sa.Column("first_response_hours", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("resolution_hours", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("first_response_pauses", sa.JSON(), nullable=False),
        sa.Column("resolution_pauses", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("business_hours", sa.String(length=20), nullable=True),
        sa.Column("holidays", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
    )
    op.create_table(
        "case_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_settings_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_settings")),
        sa.UniqueConstraint("org_id", name=op.f("uq_case_settings_org_id")),
    )
    with op.batch_alter_table("case_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_settings_org_id"), ["org_id"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_policy_id", sa.Integer(), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_breached", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("resolution_breached", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("first_response_warned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("resolution_warned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("queue_rank", sa.BigInteger(), server_default="20000000000", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["support_teams.id"],
            name=op.f("fk_cases_team_id_support_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_cases_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["cases.id"],
            name=op.f("fk_cases_merged_into_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["users.id"],
            name=op.f("fk_cases_opened_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_cases_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_cases_requester_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_cases_sla_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_first_response_due_at"), ["first_response_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_cases_org_id_requester", ["org_id", "requester_id"], unique=False)
        batch_op.create_index("ix_cases_queue_rank_id", ["queue_rank", "id"], unique=False)
        batch_op.create_index("ix_cases_updated_at_id", ["updated_at", "id"], unique=False)
        batch_op.create_index(
            "ix_cases_assignee_assigned_at", ["assignee_id", "assigned_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_resolution_due_at"), ["resolution_due_at"], unique=False
        )
        batch_op.create_index("ix_cases_status_id", ["status", "id"], unique=False)

    op.create_table(
        "case_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("by_agent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_case_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_comments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_comments_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comments")),
    )
    with op.batch_alter_table("case_comments", schema=None) as batch_op:
        batch_op.create_index("ix_case_comments_case_id_id", ["case_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_comments_org_id"), ["org_id"], unique=False)

    op.create_table(
        "case_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_status_changes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_status_changes_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_changes")),
    )
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_case_status_changes_case_id_at", ["case_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_status_changes_org_id"), ["org_id"], unique=False)

    op.create_table(
        "case_watchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_watchers_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_watchers_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_case_watchers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_watchers")),
        sa.UniqueConstraint("case_id", "user_id", name=op.f("uq_case_watchers_case_id_user_id")),
    )
    with op.batch_alter_table("case_watchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_watchers_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_watchers_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_watchers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_attachments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["case_comments.id"],
            name=op.f("fk_case_attachments_comment_id_case_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_attachments_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_case_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_attachments_comment_id"), ["comment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_attachments_org_id"), ["org_id"], unique=False)

    policies = sa.table(
        "sla_policies",
        sa.column("name"),
        sa.column("position"),
        sa.column("active"),
        sa.column("priority"),
        sa.column("first_response_hours"),
        sa.column("resolution_hours"),
        sa.column("first_response_pauses", sa.JSON()),
        sa.column("resolution_pauses", sa.JSON()),
    )
    op.bulk_insert(
        policies,
        [
            {
                "name": name,
                "position": position,
                "active": True,
                "priority": priority,
                "first_response_hours": first,
                "resolution_hours": resolution,
                "first_response_pauses": ["on_hold"],
                "resolution_pauses": ["pending", "on_hold"],
            }
            for name, position, priority, first, resolution in DEFAULT_POLICIES
        ],
    )
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_kb_categories_name")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_articles_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_articles_category_id_kb_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_category_id"), ["category_id"], unique=False)
        batch_op.create_index("ix_articles_status_audience", ["status", "audience"], unique=False)

    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("voter", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_events_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_article_events_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_events")),
    )
    with op.batch_alter_table("article_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_article_events_article_kind", ["article_id", "kind"], unique=False
        )
        batch_op.create_index(
            "uq_article_events_avoided",
            ["article_id", "voter"],
            unique=True,
            sqlite_where=sa.text("kind = 'case_avoided'"),
            postgresql_where=sa.text("kind = 'case_avoided'"),
        )

    op.create_table(
        "article_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_votes_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_article_votes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_votes")),
        sa.UniqueConstraint("article_id", "voter", name=op.f("uq_article_votes_article_id_voter")),
    )
    _search_index()
    _row_level_security()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search")
    else:
        op.execute("DROP TABLE IF EXISTS articles_fts")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_org_id"))
        batch_op.drop_index(batch_op.f("ix_case_attachments_comment_id"))
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
    op.drop_table("article_votes")
    with op.batch_alter_table("article_events", schema=None) as batch_op:
        batch_op.drop_index("uq_article_events_avoided")
        batch_op.drop_index("ix_article_events_article_kind")

    op.drop_table("article_events")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_status_audience")
        batch_op.drop_index(batch_op.f("ix_articles_category_id"))

    op.drop_table("articles")
    op.drop_table("kb_categories")
    with op.batch_alter_table("case_watchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_watchers_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_watchers_org_id"))
        batch_op.drop_index(batch_op.f("ix_case_watchers_case_id"))

    op.drop_table("case_watchers")
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_status_changes_org_id"))
        batch_op.drop_index("ix_case_status_changes_case_id_at")

    op.drop_table("case_status_changes")
    with op.batch_alter_table("case_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_comments_org_id"))
        batch_op.drop_index("ix_case_comments_case_id_id")

    op.drop_table("case_comments")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_id")
        batch_op.drop_index("ix_cases_queue_rank_id")
        batch_op.drop_index("ix_cases_assignee_assigned_at")
        batch_op.drop_index("ix_cases_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_cases_resolution_due_at"))
        batch_op.drop_index(batch_op.f("ix_cases_requester_id"))
        batch_op.drop_index("ix_cases_org_id_requester")
        batch_op.drop_index(batch_op.f("ix_cases_org_id"))
        batch_op.drop_index(batch_op.f("ix_cases_first_response_due_at"))
        batch_op.drop_index("ix_cases_assignee_status")

    op.drop_table("cases")
    with op.batch_alter_table("case_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_settings_org_id"))

    op.drop_table("case_settings")
    op.drop_table("sla_policies")
    with op.batch_alter_table("support_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_team_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_support_team_members_team_id"))
    op.drop_table("support_team_members")
    op.drop_table("support_teams")
