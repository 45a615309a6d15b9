"""PostgreSQL row-level security of two tiers: raw SQL run as the app's ordinary role reads a
reseller's registrations, offers (and their leads) and sent quotes in the reseller's scope and in
its distributor's, nowhere else, and writes them only in the reseller's."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.factories import make_deal, make_lead, make_offer, make_quote
from tests.integration.test_row_level_security import as_ordinary_role, pg  # noqa: F401

TABLES = ("deal_registrations", "lead_offers", "leads", "quotes", "quote_lines")


@pytest.fixture
def tiers(db, vendor, org_factory):
    distributor = org_factory("distributor")
    reseller = org_factory("reseller", managed_by_id=distributor.id)
    sibling = org_factory("reseller", managed_by_id=distributor.id)
    customer = org_factory("customer", managed_by_id=distributor.id)
    stranger = org_factory("distributor")
    make_deal(db, reseller)
    make_offer(db, make_lead(db, vendor, "RLS lead", "offered"), reseller)
    make_quote(db, reseller, "RLS quote", "sent")
    make_quote(db, reseller, "RLS draft", "draft")
    make_quote(db, customer, "Managed customer's quote", "sent")
    return distributor, reseller, sibling, stranger


def counts(pg) -> dict:  # noqa: F811
    return {t: pg.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608


SEEN = {"deal_registrations": 1, "lead_offers": 1, "leads": 1, "quotes": 1, "quote_lines": 1}
NOTHING = dict.fromkeys(TABLES, 0)


def test_a_reseller_and_its_distributor_read_its_rows(pg, as_ordinary_role, tiers):  # noqa: F811
    distributor, reseller, sibling, stranger = tiers
    as_ordinary_role("org", reseller.id)
    assert counts(pg) == SEEN
    as_ordinary_role("org", distributor.id)
    assert counts(pg) == SEEN  # not its managed customer's quote: resellers' rows only
    for nobody in (sibling, stranger):
        as_ordinary_role("org", nobody.id)
        assert counts(pg) == NOTHING


def test_the_distributor_writes_none_of_them(pg, as_ordinary_role, tiers):  # noqa: F811
    distributor, reseller, sibling, stranger = tiers
    as_ordinary_role("org", distributor.id)
    for table in ("deal_registrations", "lead_offers", "quotes", "quote_lines"):
        assert pg.execute(text(f"UPDATE {table} SET org_id = org_id")).rowcount == 0  # noqa: S608
        assert pg.execute(text(f"DELETE FROM {table}")).rowcount == 0  # noqa: S608
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(  # an offer for its reseller, of a lead it reads
            text(
                "INSERT INTO lead_offers (org_id, lead_id, status, offered_at, respond_by, "
                "decline_reason, reason, version) SELECT :org, id, 'offered', now(), now(), "
                "'', '', 1 FROM leads LIMIT 1"
            ),
            {"org": reseller.id},
        )
    savepoint.rollback()
    as_ordinary_role("org", reseller.id)
    assert pg.execute(text("UPDATE deal_registrations SET org_id = org_id")).rowcount == 1
