"""The balance never goes below zero, whoever approves at once: two channel managers approve two
requests that the budget covers one at a time, in real concurrent requests on their own
connections; one wins, the other gets a clear message and nothing of it is written. On
PostgreSQL the rows are also behind row-level security: raw SQL in a partner's scope reads only
its own budgets, requests, claims and files."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from partners.funds.models import FundBudget, FundClaim, FundClaimFile, FundRequest
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import unscoped
from tests import factories
from tests.integration.race_support import committed_vendor, remove_committed, together
from tests.integration.test_row_level_security import as_ordinary_role, pg  # noqa: F401

TABLES = ("fund_budgets", "fund_requests", "fund_claims", "fund_claim_files")


@pytest.fixture
def committed(app):
    """A vendor with two channel managers and a partner (its admin and a colleague) whose 1,000
    budget has two requests of 600 waiting, committed for real (the concurrent requests need
    their own connections); removed afterwards by a connection that row-level security does not
    bind."""
    session = app.extensions["db"].session_factory()
    made_orgs: list[int] = []
    with unscoped(session):
        vendor = committed_vendor(session, made_orgs)
        partner = factories.make_org(session, "reseller", name="Racing Reseller")
        made_orgs.append(partner.id)
        managers = [factories.make_user(session, vendor, "channel_manager") for _ in range(2)]
        people = [
            factories.make_user(session, partner, r) for r in ("partner_admin", "partner_user")
        ]
        today = utcnow().date()
        year, quarter = today.year, (today.month - 1) // 3 + 1
        session.add(FundBudget(org_id=partner.id, year=year, quarter=quarter, amount=1000))
        records = [
            FundRequest(
                org_id=partner.id,
                activity=f"Racing activity {n}",
                amount=Decimal("600"),
                starts_on=today,
                ends_on=today + timedelta(days=1),
                status="submitted",
            )
            for n in range(2)
        ]
        session.add_all(records)
        session.commit()
        world = {
            "managers": managers,
            "people": people,
            "requests": [r.id for r in records],
            "partner": partner.id,
        }
        user_ids = [u.id for u in managers + people]
    session.close()
    yield world
    remove_committed(app, made_orgs, user_ids)


def test_two_approvals_at_once_against_one_budget_one_wins(client_as, app, committed):
    first, second = (client_as(m) for m in committed["managers"])
    paths = [f"/funds/requests/{r}/approve" for r in committed["requests"]]
    answers: dict[int, str] = {}

    def approve(browser, n: int) -> int:
        response = browser.post(paths[n])
        answers[n] = response.get_data(as_text=True)
        return response.status_code

    statuses = together(
        app,
        "UPDATE fund_budgets SET reserved",
        [lambda: approve(first, 0), lambda: approve(second, 1)],
    )
    assert sorted(statuses) == [302, 422], statuses
    loser = statuses.index(422)
    assert "has €400.00 left: not enough for €600.00" in answers[loser]
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        budget = session.scalar(select(FundBudget).where(FundBudget.org_id == committed["partner"]))
        assert (budget.amount, budget.reserved) == (1000, 600)
        states = session.scalars(
            select(FundRequest.status)
            .where(FundRequest.id.in_(committed["requests"]))
            .order_by(FundRequest.id)
        ).all()
        assert sorted(states) == ["approved", "submitted"]
        assert states[loser] == "submitted"
        approvals = select(func.count()).where(AuditEvent.action == "fund_request.approved")
        assert session.scalar(approvals.where(AuditEvent.object_id.in_(committed["requests"]))) == 1
    session.close()


def test_two_claims_at_once_on_one_request_one_wins(client_as, app, committed):
    """The partner's admin and a colleague claim one approved request at the same moment: the
    row lock makes them take turns, so the second sees the first's claim. Claims do not draw on
    the budget; approving one gives back what it did not use."""
    request_id = committed["requests"][0]
    manager = client_as(committed["managers"][0])
    assert manager.post(f"/funds/requests/{request_id}/approve").status_code == 302
    admin, colleague = (client_as(p) for p in committed["people"])
    answers: dict[int, str] = {}

    def claim(browser, n: int, amount: str) -> int:
        response = browser.post(
            f"/funds/requests/{request_id}/claim",
            data={
                "amount": amount,
                "description": f"Done {n}",
                "files": [(io.BytesIO(b"%PDF-1.4 proof of performance"), f"proof{n}.pdf")],
            },
            content_type="multipart/form-data",
        )
        answers[n] = response.get_data(as_text=True)
        return response.status_code

    def reserved() -> tuple:
        session = app.extensions["db"].session_factory()
        with unscoped(session):
            budget = session.scalar(
                select(FundBudget).where(FundBudget.org_id == committed["partner"])
            )
            found = (budget.amount, budget.reserved)
        session.close()
        return found

    assert reserved() == (1000, 600)
    statuses = together(
        app,
        "SELECT fund_requests.id \nFROM fund_requests",
        [lambda: claim(admin, 0, "500"), lambda: claim(colleague, 1, "450")],
    )
    assert sorted(statuses) == [302, 422], statuses
    winner, loser = statuses.index(302), statuses.index(422)
    assert "This request has a claim already." in answers[loser]
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        claims = session.scalars(select(FundClaim).where(FundClaim.request_id == request_id)).all()
        assert [(c.amount, c.submitted_by_id) for c in claims] == [
            (Decimal(("500", "450")[winner]), committed["people"][winner].id)
        ]
        assert [f.filename for f in claims[0].files] == [f"proof{winner}.pdf"]
        files = select(func.count()).select_from(FundClaimFile)
        assert session.scalar(files.where(FundClaimFile.org_id == committed["partner"])) == 1
        submitted = select(func.count()).where(AuditEvent.action == "fund_claim.submitted")
        assert session.scalar(submitted.where(AuditEvent.org_id == committed["partner"])) == 1
        claim_id = claims[0].id
    session.close()
    assert reserved() == (1000, 600)
    assert manager.post(f"/funds/claims/{claim_id}/approve").status_code == 302
    assert reserved() == (1000, Decimal(("500", "450")[winner]))


def test_fund_rows_are_behind_row_level_security(pg, as_ordinary_role, db, org_factory):  # noqa: F811
    mine, theirs = org_factory("reseller"), org_factory("reseller")
    for org in (mine, theirs):
        budget = FundBudget(org_id=org.id, year=2026, quarter=4, amount=100, reserved=50)
        record = FundRequest(
            org_id=org.id,
            activity="RLS",
            amount=50,
            starts_on=utcnow().date(),
            ends_on=utcnow().date(),
            status="approved",
        )
        db.add_all([budget, record])
        db.flush()
        claim = FundClaim(org_id=org.id, request_id=record.id, amount=50, status="submitted")
        db.add(claim)
        db.flush()
        db.add(
            FundClaimFile(
                org_id=org.id,
                claim_id=claim.id,
                filename="p.pdf",
                content_type="application/pdf",
                size=4,
                sha256="0" * 64,
                content=b"%PDF",
            )
        )
        db.flush()

    def counts() -> dict:
        return {t: pg.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608

    as_ordinary_role("org", mine.id)
    assert counts() == dict.fromkeys(TABLES, 1)
    assert pg.execute(text("UPDATE fund_budgets SET reserved = 0")).rowcount == 1
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(
            text(
                "INSERT INTO fund_budgets (org_id, year, quarter, amount, reserved, created_at) "
                "VALUES (:org, 2027, 1, 5, 0, now())"
            ),
            {"org": theirs.id},
        )
    savepoint.rollback()
