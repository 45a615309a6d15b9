"""tiers' requirements for the partner scorecard

tiers.required_won_value_12m: Numeric(14, 2), nullable: the value of registrations a partner of
the tier should have won in the last 12 months, in the programme's currency
(``partners.program.models.REQUIREMENT_CURRENCY``). tiers.required_acceptance_percent:
Numeric(5, 2), nullable: the share of offered leads it should accept, in percent. NULL is "no
requirement": every existing tier starts without one (the demo's seeder sets some), and the
partner scorecard (partners.scorecards) shows each figure against them as met or not met. Vendor
admins set them on the tier's form (partners.program.services.update_tier, audited).

Both are plain nullable columns: ``ALTER TABLE ADD COLUMN`` on both databases, no rebuild on
SQLite (``tiers`` is referenced by no foreign key, but a rebuild would still be needless), and
``ALTER TABLE DROP COLUMN`` (SQLite 3.35+) on the way back, as 0017 does.

Row-level security: ``tiers`` is global configuration (no policy); nothing changes there.

Revision ID: 0020_tier_requirements
Revises: 0019_segments
Create Date: 2026-12-03 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_tier_requirements"
down_revision = "0019_segments"
branch_labels = None
depends_on = None

COLUMNS = ("required_won_value_12m", "required_acceptance_percent")


def upgrade() -> None:
    op.add_column("tiers", sa.Column("required_won_value_12m", sa.Numeric(14, 2), nullable=True))
    op.add_column(
        "tiers", sa.Column("required_acceptance_percent", sa.Numeric(5, 2), nullable=True)
    )


def downgrade() -> None:
    for column in reversed(COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE tiers DROP COLUMN {column}")
        else:
            op.drop_column("tiers", column)
