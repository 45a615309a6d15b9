"""PostgreSQL row-level security of cases: raw SQL run as the app's ordinary role reads a case
and its rows (the waits for a next response too) in the case's organisation and in the partner
that manages it, nowhere else, and writes only in the case's organisation."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from portal.clock import utcnow
from selfservice.cases.models import CaseReplyWait
from tests.factories import make_case, make_case_comment
from tests.integration.test_row_level_security import as_ordinary_role, pg  # noqa: F401

TABLES = ("cases", "case_comments", "case_status_changes", "case_reply_waits")


@pytest.fixture
def managed_case(db, org_factory, user_factory):
    partner = org_factory("reseller")
    customer = org_factory("customer", managed_by_id=partner.id)
    stranger = org_factory("reseller")
    case = make_case(db, customer, user_factory(customer, "customer_user"), "RLS case")
    make_case_comment(db, case, "reply", internal=False)
    db.add(CaseReplyWait(org_id=customer.id, case_id=case.id, started_at=utcnow()))
    db.flush()
    return partner, customer, stranger, case


def counts(pg) -> dict:  # noqa: F811
    return {t: pg.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608


def test_case_rows_for_the_organisation_and_its_partner_only(pg, as_ordinary_role, managed_case):  # noqa: F811
    partner, customer, stranger, case = managed_case
    as_ordinary_role("org", customer.id)
    assert set(counts(pg).values()) == {1}
    as_ordinary_role("org", partner.id)
    assert set(counts(pg).values()) == {1}
    as_ordinary_role("org", stranger.id)
    assert set(counts(pg).values()) == {0}
    as_ordinary_role("none")
    assert counts(pg)["cases"] == 0


def test_the_partner_cannot_write_into_its_customers_case(pg, as_ordinary_role, managed_case):  # noqa: F811
    partner, customer, stranger, case = managed_case
    as_ordinary_role("org", partner.id)
    assert pg.execute(text("UPDATE cases SET subject = 'x'")).rowcount == 0
    assert pg.execute(text("UPDATE case_reply_waits SET breached = true")).rowcount == 0
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


def test_internal_notes_and_their_files_stay_in_the_vendors_scope(
    db,
    pg,  # noqa: F811
    as_ordinary_role,  # noqa: F811
    managed_case,
):
    """As CaseComment/CaseAttachment.visible_to: neither the customer's nor its partner's scope
    reads an internal note or its file, even with raw SQL, nor writes one."""
    from tests.isolation.kinds_cases import add_file

    partner, customer, stranger, case = managed_case
    note = make_case_comment(db, case, "internal QXRLS", internal=True)
    add_file(db, case, note, "internal.txt")
    db.flush()
    internal = "SELECT count(*) FROM {} WHERE internal"
    for org in (customer, partner):
        as_ordinary_role("org", org.id)
        assert pg.scalar(text(internal.format("case_comments"))) == 0
        assert pg.scalar(text(internal.format("case_attachments"))) == 0
        assert pg.scalar(text("SELECT count(*) FROM case_comments")) == 1  # the public reply
    as_ordinary_role("org", customer.id)
    assert pg.execute(text("UPDATE case_comments SET body = 'x' WHERE internal")).rowcount == 0
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(
            text(
                "INSERT INTO case_comments (org_id, case_id, body, internal, by_agent, created_at)"
                " VALUES (:org, :case, 'x', true, false, now())"
            ),
            {"org": customer.id, "case": case.id},
        )
    savepoint.rollback()
    as_ordinary_role("all")
    assert pg.scalar(text(internal.format("case_comments"))) == 1
    assert pg.scalar(text(internal.format("case_attachments"))) == 1


def test_articles_by_audience_and_status_as_article_visible_to(
    db,
    pg,  # noqa: F811
    as_ordinary_role,  # noqa: F811
    org_factory,
):
    """Drafts and internal articles: the vendor's scope only; a visitor (no organisation)
    public ones; customers and partners also their audience's."""
    from tests.factories import make_article

    for audience in ("public", "customers", "partners", "internal"):
        make_article(db, f"RLS {audience}", audience)
    make_article(db, "RLS draft", "public", "draft")
    customer, partner = org_factory("customer"), org_factory("distributor")
    titles = "SELECT title FROM articles WHERE title LIKE 'RLS %' ORDER BY title"
    as_ordinary_role("none")
    assert pg.scalars(text(titles)).all() == ["RLS public"]
    as_ordinary_role("org", customer.id)
    assert pg.scalars(text(titles)).all() == ["RLS customers", "RLS public"]
    as_ordinary_role("org", partner.id)
    assert pg.scalars(text(titles)).all() == ["RLS partners", "RLS public"]
    assert pg.execute(text("UPDATE articles SET title = 'x'")).rowcount == 0
    as_ordinary_role("all")
    assert len(pg.scalars(text(titles)).all()) == 5


def test_votes_events_and_support_teams_are_the_vendors(
    db,
    pg,  # noqa: F811
    as_ordinary_role,  # noqa: F811
    org_factory,
):
    from selfservice.cases.models import SupportTeam, SupportTeamMember
    from selfservice.kb.models import ArticleEvent, ArticleVote
    from tests.factories import make_article, make_user, vendor_org

    article = make_article(db, "RLS voted")
    db.add(ArticleVote(article_id=article.id, voter="visitor:x", helpful=True))
    db.add(ArticleEvent(article_id=article.id, kind="view", voter="visitor:x"))
    team = SupportTeam(name="RLS team")
    db.add(team)
    db.flush()
    agent = make_user(db, vendor_org(db), "support_agent")
    db.add(SupportTeamMember(team_id=team.id, user_id=agent.id))
    db.flush()
    tables = ("article_votes", "article_events", "support_teams", "support_team_members")
    customer = org_factory("customer")
    for scope, org_id in (("none", None), ("org", customer.id)):
        as_ordinary_role(scope, org_id)
        assert {t: pg.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables} == dict.fromkeys(  # noqa: S608
            tables, 0
        )
    as_ordinary_role("all")
    assert all(pg.scalar(text(f"SELECT count(*) FROM {t}")) >= 1 for t in tables)  # noqa: S608
