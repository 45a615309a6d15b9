"""feedback: NPS campaigns, recipients and answers; the ideas board (ideas, votes,
subscriptions, comments)

Row-level security: campaigns, recipients, answers, votes and subscriptions stay with their
organisation (as in 0004). Ideas and comments are the shared board: every signed-in scope reads
them (an anonymous session, scope 'none', reads nothing), only their organisation writes them.

Revision ID: 0008_feedback
Revises: 0007_channel_extras
Create Date: 2026-11-23 19:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_feedback"
down_revision = "0007_channel_extras"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
SIGNED_IN = "(current_setting('app.scope', true) IN ('all', 'org'))"
TENANT_TABLES = (
    "nps_campaigns",
    "survey_recipients",
    "survey_responses",
    "idea_votes",
    "idea_subscriptions",
)
SHARED_TABLES = ("ideas", "idea_comments")


def _row_level_security() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*TENANT_TABLES, *SHARED_TABLES):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table in TENANT_TABLES:
        op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")
    for table in SHARED_TABLES:
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {SIGNED_IN}")
        op.execute(
            f"CREATE POLICY tenant_write ON {table} FOR ALL USING {OWN_ORG} WITH CHECK {OWN_ORG}"
        )


def _org_id() -> sa.Column:
    return sa.Column("org_id", sa.Integer(), nullable=False)


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="RESTRICT",
    )


def _user_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "nps_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("audience_kinds", sa.JSON(), nullable=False),
        sa.Column("audience_tiers", sa.JSON(), nullable=False),
        sa.Column("audience_org_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_after_days", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _org_id(),
        sa.CheckConstraint(
            "status in ('draft', 'scheduled', 'sent', 'closed')",
            name=op.f("ck_nps_campaigns_status"),
        ),
        _user_fk("nps_campaigns", "created_by_id", "SET NULL"),
        _org_fk("nps_campaigns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nps_campaigns")),
    )
    op.create_index(op.f("ix_nps_campaigns_org_id"), "nps_campaigns", ["org_id"])
    op.create_index("ix_nps_campaigns_status_send_at", "nps_campaigns", ["status", "send_at"])
    op.create_table(
        "survey_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("org_kind", sa.String(length=20), nullable=False),
        sa.Column("org_tier", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        _org_id(),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["nps_campaigns.id"],
            name=op.f("fk_survey_recipients_campaign_id_nps_campaigns"),
            ondelete="CASCADE",
        ),
        _org_fk("survey_recipients"),
        _user_fk("survey_recipients", "user_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_recipients")),
        sa.UniqueConstraint(
            "campaign_id", "user_id", name=op.f("uq_survey_recipients_campaign_id_user_id")
        ),
    )
    for column in ("campaign_id", "org_id", "user_id"):
        op.create_index(op.f(f"ix_survey_recipients_{column}"), "survey_recipients", [column])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        _org_id(),
        sa.CheckConstraint("score >= 0 AND score <= 10", name=op.f("ck_survey_responses_score")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["nps_campaigns.id"],
            name=op.f("fk_survey_responses_campaign_id_nps_campaigns"),
            ondelete="CASCADE",
        ),
        _org_fk("survey_responses"),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["survey_recipients.id"],
            name=op.f("fk_survey_responses_recipient_id_survey_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("recipient_id", name=op.f("uq_survey_responses_recipient_id")),
    )
    op.create_index(op.f("ix_survey_responses_campaign_id"), "survey_responses", ["campaign_id"])
    op.create_index(op.f("ix_survey_responses_org_id"), "survey_responses", ["org_id"])
    op.create_table(
        "ideas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("vote_count", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        _org_id(),
        sa.CheckConstraint(
            "status in ('under_review', 'planned', 'in_progress', 'done', 'declined', 'duplicate')",
            name=op.f("ck_ideas_status"),
        ),
        _user_fk("ideas", "author_id", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["ideas.id"],
            name=op.f("fk_ideas_duplicate_of_id_ideas"),
            ondelete="SET NULL",
        ),
        _org_fk("ideas"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
    )
    op.create_index(op.f("ix_ideas_created_at"), "ideas", ["created_at"])
    op.create_index(op.f("ix_ideas_duplicate_of_id"), "ideas", ["duplicate_of_id"])
    op.create_index(op.f("ix_ideas_org_id"), "ideas", ["org_id"])
    op.create_index("ix_ideas_product", "ideas", ["product"])
    op.create_index("ix_ideas_status_vote_count", "ideas", ["status", "vote_count"])
    for table in ("idea_votes", "idea_subscriptions"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("idea_id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            _org_id(),
            sa.ForeignKeyConstraint(
                ["idea_id"],
                ["ideas.id"],
                name=op.f(f"fk_{table}_idea_id_ideas"),
                ondelete="CASCADE",
            ),
            _org_fk(table),
            _user_fk(table, "user_id", "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("idea_id", "user_id", name=op.f(f"uq_{table}_idea_id_user_id")),
        )
        op.create_index(op.f(f"ix_{table}_org_id"), table, ["org_id"])
        op.create_index(op.f(f"ix_{table}_user_id"), table, ["user_id"])
    op.create_index("ix_idea_votes_idea_id_created_at", "idea_votes", ["idea_id", "created_at"])
    op.create_table(
        "idea_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _org_id(),
        _user_fk("idea_comments", "author_id", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_comments_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        _org_fk("idea_comments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_comments")),
    )
    op.create_index(op.f("ix_idea_comments_idea_id"), "idea_comments", ["idea_id"])
    op.create_index(op.f("ix_idea_comments_org_id"), "idea_comments", ["org_id"])
    _row_level_security()


def downgrade() -> None:
    for table in (
        "idea_comments",
        "idea_subscriptions",
        "idea_votes",
        "ideas",
        "survey_responses",
        "survey_recipients",
        "nps_campaigns",
    ):
        op.drop_table(table)  # indexes, constraints and policies go with the table
