"""a lead offer remembers the segment it was offered within by rule

lead_offers.segment_id: nullable, a foreign key to segments (SET NULL when the segment is
deleted: a later re-offer then chooses from the whole pool). When a partner declines a lead
offered by rule within a segment, the re-offer chooses among that segment's partners again
instead of forgetting it. Existing offers have none (they were re-offered from the whole pool).

On SQLite the column is added plain and its foreign key written into the stored table
(``portal.migrate.add_foreign_key``): no rebuild of lead_offers. Row-level security: the
lead_offers policies (0025) read org_id only, so nothing changes there.

Revision ID: 0030_offer_segment
Revises: 0029_next_response
Create Date: 2026-12-03 10:30:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0030_offer_segment"
down_revision = "0029_next_response"
branch_labels = None
depends_on = None

FK = "fk_lead_offers_segment_id_segments"
FOREIGN_KEY = ("lead_offers", "segment_id", "segments")


def upgrade() -> None:
    op.add_column("lead_offers", sa.Column("segment_id", sa.Integer()))
    add_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")


def downgrade() -> None:
    drop_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    if op.get_bind().dialect.name == "sqlite":  # no rebuild (see add_foreign_key)
        op.execute("ALTER TABLE lead_offers DROP COLUMN segment_id")
    else:
        op.drop_column("lead_offers", "segment_id")
