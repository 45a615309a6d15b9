"""PostgreSQL row-level security of cases: raw SQL run as the app's ordinary role reads a case
and its rows in the case's organisation and in the partner that manages it, nowhere else, and
writes only in the case's organisation."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.integration.test_row_level_security import as_ordinary_role, pg  # noqa: F401
from tests.isolation.kinds_cases import add_note, make_case

TABLES = ("cases", "case_comments", "case_status_changes")


@pytest.fixture
def managed_case(db, org_factory, user_factory):
    partner = org_factory("reseller")
    customer = org_factory("customer", managed_by_id=partner.id)
    stranger = org_factory("reseller")
    case = make_case(db, customer, user_factory(customer, "customer_user"), "RLS case")
    add_note(db, case, "reply", internal=False)
    return partner, customer, stranger, case


def counts(pg) -> dict:  # noqa: F811
    return {t: pg.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608


def test_case_rows_for_the_organisation_and_its_partner_only(pg, as_ordinary_role, managed_case):  # noqa: F811
    partner, customer, stranger, case = managed_case
    as_ordinary_role("org", customer.id)
    assert counts(pg) == {"cases": 1, "case_comments": 1, "case_status_changes": 1}
    as_ordinary_role("org", partner.id)
    assert counts(pg) == {"cases": 1, "case_comments": 1, "case_status_changes": 1}
    as_ordinary_role("org", stranger.id)
    assert counts(pg) == {"cases": 0, "case_comments": 0, "case_status_changes": 0}
    as_ordinary_role("none")
    assert counts(pg)["cases"] == 0


def test_the_partner_cannot_write_into_its_customers_case(pg, as_ordinary_role, managed_case):  # noqa: F811
    partner, customer, stranger, case = managed_case
    as_ordinary_role("org", partner.id)
    assert pg.execute(text("UPDATE cases SET subject = 'x'")).rowcount == 0
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(
            text(
                "INSERT INTO case_comments (org_id, case_id, body, internal, by_agent, created_at)"
                " VALUES (:org, :case, 'x', false, false, now())"
            ),
            {"org": customer.id, "case": case.id},
        )
    savepoint.rollback()
