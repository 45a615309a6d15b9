"""csat: the survey after a solved case and its answers; cases linked to ideas

Row-level security: all three tables stay with the case's organisation (as in 0004 and 0008).

Revision ID: 0009_csat
Revises: 0008_feedback
Create Date: 2026-11-23 20:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_csat"
down_revision = "0008_feedback"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TENANT_TABLES = ("csat_surveys", "csat_responses", "idea_case_links")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("team_name", sa.String(length=120), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_csat_surveys_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_csat_surveys_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_csat_surveys_agent_id_users"),
            ondelete="SET NULL",
        ),
        _org_fk("csat_surveys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_surveys")),
    )
    for column in ("case_id", "org_id", "requester_id"):
        op.create_index(op.f(f"ix_csat_surveys_{column}"), "csat_surveys", [column])
    op.create_table(
        "csat_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("score >= 1 AND score <= 5", name=op.f("ck_csat_responses_score")),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["csat_surveys.id"],
            name=op.f("fk_csat_responses_survey_id_csat_surveys"),
            ondelete="CASCADE",
        ),
        _org_fk("csat_responses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_responses")),
        sa.UniqueConstraint("survey_id", name=op.f("uq_csat_responses_survey_id")),
    )
    op.create_index(op.f("ix_csat_responses_org_id"), "csat_responses", ["org_id"])
    op.create_table(
        "idea_case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_case_links_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_idea_case_links_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["users.id"],
            name=op.f("fk_idea_case_links_linked_by_id_users"),
            ondelete="SET NULL",
        ),
        _org_fk("idea_case_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_case_links")),
        sa.UniqueConstraint("idea_id", "case_id", name=op.f("uq_idea_case_links_idea_id_case_id")),
    )
    for column in ("idea_id", "case_id", "org_id"):
        op.create_index(op.f(f"ix_idea_case_links_{column}"), "idea_case_links", [column])
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    op.drop_table("idea_case_links")
    op.drop_table("csat_responses")
    op.drop_table("csat_surveys")
