"""conflicts settled before protection: the settlement of a conflict, one protection per domain

Issue 15, item 1. A possible conflict found on submit (``deal_conflicts``) now records how the
channel manager settled it: when, by whom, which side keeps the customer (``winner``:
"registration" or "other") and, where the choice was not the first in, why
(``settlement_reason``). A registration with an unsettled conflict is not approved.

``uq_deal_registrations_protected_domain`` is a partial unique index on
``deal_registrations(customer_domain) WHERE status = 'approved'``: at most one approved
protection per normalised customer domain, enforced by the database on SQLite and PostgreSQL
alike, so two channel managers approving rival registrations at the same moment end with one
protection (the second write fails and is shown as a clear message).

``deal_programme`` (one row, global: the vendor's rules that every registration follows, no
organisation id, so no row-level security) holds ``distributor_first_approval``, off by
default: when on, a reseller attached to a distributor submits to its distributor first
(status ``distributor_review``), and the distributor's admins send it on to the vendor or
reject it (issue 15, item 3's first approval). The downgrade puts registrations waiting for
their distributor back to draft, the status the older code knows.

Existing data: before the index is created, where a domain has more than one approved
registration, the earliest approved (by decision time, then id) keeps its protection and the
others are moved to ``expired`` with ``closed_at`` set to the migration's time (their protection
ends; their partners keep the record and its history). The downgrade does not bring them back.
No new table: ``deal_conflicts`` keeps its row-level security policy.

Revision ID: 0024_conflict_settlement
Revises: 0023_report_indexes
Create Date: 2026-12-03 08:40:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0024_conflict_settlement"
down_revision = "0023_report_indexes"
branch_labels = None
depends_on = None

SETTLED_BY_FK = {
    "name": "fk_deal_conflicts_settled_by_id_users",
    "ondelete": "SET NULL",
}
APPROVED = sa.text("status = 'approved'")


def _end_double_approvals() -> None:
    """Every approved registration but the earliest of its domain expires now."""
    registrations = sa.table(
        "deal_registrations",
        sa.column("id", sa.Integer),
        sa.column("customer_domain", sa.String),
        sa.column("status", sa.String),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("closed_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(registrations.c.id, registrations.c.customer_domain)
        .where(registrations.c.status == "approved")
        .order_by(registrations.c.customer_domain, registrations.c.decided_at, registrations.c.id)
    ).all()
    seen: set[str] = set()
    later = []
    for deal_id, domain in rows:
        if domain in seen:
            later.append(deal_id)
        seen.add(domain)
    if later:
        bind.execute(
            registrations.update()
            .where(registrations.c.id.in_(later))
            .values(status="expired", closed_at=datetime.now(UTC))
        )


def upgrade() -> None:
    op.create_table(
        "deal_programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "distributor_first_approval", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_deal_programme_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_programme")),
    )
    op.execute("INSERT INTO deal_programme (id, distributor_first_approval) VALUES (1, false)")
    op.add_column(
        "deal_conflicts", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("deal_conflicts", sa.Column("settled_by_id", sa.Integer(), nullable=True))
    add_foreign_key(op, "deal_conflicts", "settled_by_id", "users", **SETTLED_BY_FK)
    op.add_column(
        "deal_conflicts",
        sa.Column("winner", sa.String(length=20), server_default="", nullable=False),
    )
    op.add_column(
        "deal_conflicts",
        sa.Column("settlement_reason", sa.Text(), server_default="", nullable=False),
    )
    _end_double_approvals()
    op.create_index(
        "uq_deal_registrations_protected_domain",
        "deal_registrations",
        ["customer_domain"],
        unique=True,
        sqlite_where=APPROVED,
        postgresql_where=APPROVED,
    )


def downgrade() -> None:
    op.drop_index("uq_deal_registrations_protected_domain", table_name="deal_registrations")
    op.drop_column("deal_conflicts", "settlement_reason")
    op.drop_column("deal_conflicts", "winner")
    op.execute("UPDATE deal_registrations SET status = 'draft' WHERE status = 'distributor_review'")
    op.drop_table("deal_programme")
    drop_foreign_key(op, "deal_conflicts", "settled_by_id", "users", **SETTLED_BY_FK)
    op.drop_column("deal_conflicts", "settled_by_id")
    op.drop_column("deal_conflicts", "settled_at")
