"""Market development funds through the pages, on the real database: a partner requests funds,
the channel team approves (the budget of the quarter, from the tier, reserves it) or rejects;
the partner claims with proof of performance; the claim is approved (the unused part goes back)
and paid. Refusals change nothing; other partners see nothing of it."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from partners.funds.models import FundBudget, FundClaim, FundClaimFile, FundRequest
from partners.program.models import Tier
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.notify.models import Notification
from tests.unchanged import unchanged

PDF = b"%PDF-1.4 proof of performance"


@pytest.fixture
def funds(db, vendor, org_factory, user_factory):
    gold = db.scalar(select(Tier).where(Tier.code == "gold"))
    gold.mdf_quarterly_budget = Decimal("10000.00")
    db.flush()
    partner = org_factory("reseller", name="Fundable Reseller", tier="gold")
    other = org_factory("reseller", name="Other Reseller ZZF", tier="gold")
    supplier = org_factory("supplier", name="Fundless Supplier")
    return SimpleNamespace(
        partner=partner,
        other=other,
        admin=user_factory(partner, "partner_admin"),
        colleague=user_factory(partner, "partner_user"),
        other_admin=user_factory(other, "partner_admin"),
        supplier=user_factory(supplier, "partner_admin"),
        manager=user_factory(vendor, "channel_manager"),
        sales=user_factory(vendor, "sales_rep"),
    )


def request_form(**overrides) -> dict:
    today = utcnow().date()
    return {
        "activity": "Customer roadshow",
        "description": "Three cities",
        "amount": "4000",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=2)).isoformat(),
    } | overrides


def upload(name: str, content: bytes = PDF):
    return (io.BytesIO(content), name)


def errors_of(response) -> list[str]:
    """The messages a page sent back with its form shows (for a failing assertion)."""
    return re.findall(
        r"(?:invalid-feedback|alert-danger)[^>]*>([^<]+)", response.get_data(as_text=True)
    )


def ask(client_as, user, **overrides) -> int:
    response = client_as(user).post("/funds/requests/new", data=request_form(**overrides))
    assert response.status_code == 302, errors_of(response)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def approved(client_as, funds, **overrides) -> int:
    request_id = ask(client_as, funds.admin, **overrides)
    response = client_as(funds.manager).post(f"/funds/requests/{request_id}/approve")
    assert response.status_code == 302, errors_of(response)
    return request_id


def claimed(client_as, db, funds, request_id: int, amount="3500") -> int:
    response = client_as(funds.admin).post(
        f"/funds/requests/{request_id}/claim",
        data={"amount": amount, "description": "Done", "files": [upload("invoice.pdf", PDF)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, errors_of(response)
    return max(db.scalars(select(FundClaim.id).where(FundClaim.request_id == request_id)))


def budget_of(db, org) -> FundBudget | None:
    db.expire_all()
    return db.scalar(select(FundBudget).where(FundBudget.org_id == org.id))


def titles(db, user) -> list[str]:
    return list(db.scalars(select(Notification.title).where(Notification.user_id == user.id)))


def actions(db, request_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "FundRequest", AuditEvent.object_id == request_id)
            .order_by(AuditEvent.id)
        )
    )


def test_the_partner_requests_and_the_channel_team_approves_from_the_tiers_budget(
    client_as, db, funds
):
    page = client_as(funds.admin).get("/funds/")
    assert page.status_code == 200
    assert "€10,000.00" in page.get_data(as_text=True)  # the gold tier's default, not yet a row
    request_id = ask(client_as, funds.admin)
    record = db.get(FundRequest, request_id)
    assert (record.status, record.amount, record.org_id) == ("submitted", 4000, funds.partner.id)
    assert any("asks for €4,000.00" in t for t in titles(db, funds.manager))
    assert budget_of(db, funds.partner) is None

    response = client_as(funds.manager).post(f"/funds/requests/{request_id}/approve")
    assert response.status_code == 302
    budget = budget_of(db, funds.partner)
    assert (budget.amount, budget.reserved, budget.balance) == (10000, 4000, 6000)
    db.refresh(record)
    assert (record.status, record.budget_id) == ("approved", budget.id)
    assert actions(db, request_id) == ["fund_request.submitted", "fund_request.approved"]
    assert any("is approved" in t for t in titles(db, funds.admin))
    detail = client_as(funds.colleague).get(f"/funds/requests/{request_id}").get_data(as_text=True)
    assert "€6,000.00" in detail and "Claim the funds" in detail


def test_bad_requests_get_a_clear_message_and_nothing_is_written(client_as, db, funds):
    partner = client_as(funds.admin)
    today = utcnow().date()
    cases = {
        "Your budget for": request_form(amount="10000.01"),
        "ends on or after": request_form(ends_on=(today - timedelta(days=1)).isoformat()),
        "this quarter or a later one": request_form(
            starts_on=(today - timedelta(days=100)).isoformat()
        ),
        "above zero": request_form(amount="0"),
    }
    for message, data in cases.items():
        with unchanged(db, counted=[FundRequest, FundBudget]):
            response = partner.post("/funds/requests/new", data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True), message


def test_an_approval_the_balance_cannot_cover_is_refused_with_the_balance(client_as, db, funds):
    approved(client_as, funds, amount="7000")
    second = ask(client_as, funds.admin, amount="3000")
    # The vendor lowers the budget meanwhile: the second approval no longer fits.
    client_as(funds.manager).post(
        "/funds/budgets",
        data={"org_id": funds.partner.id, "quarter": "{}-Q{}".format(*quarter()), "amount": "8000"},
    )
    budget = budget_of(db, funds.partner)
    assert (budget.amount, budget.reserved) == (8000, 7000)
    record = db.get(FundRequest, second)
    with unchanged(db, record, budget, counted=[FundClaim]):
        response = client_as(funds.manager).post(f"/funds/requests/{second}/approve")
    assert response.status_code == 422
    assert "has €1,000.00 left: not enough for €3,000.00" in response.get_data(as_text=True)


def quarter() -> tuple[int, int]:
    today = utcnow().date()
    return today.year, (today.month - 1) // 3 + 1


def test_a_budget_cannot_be_set_below_what_approved_requests_hold(client_as, db, funds):
    approved(client_as, funds, amount="5000")
    budget = budget_of(db, funds.partner)
    manager = client_as(funds.manager)
    key = "{}-Q{}".format(*quarter())
    with unchanged(db, budget):
        response = manager.post(
            "/funds/budgets", data={"org_id": funds.partner.id, "quarter": key, "amount": "4999"}
        )
    assert response.status_code == 422
    assert "Approved requests hold €5,000.00" in response.get_data(as_text=True)
    response = manager.post(
        "/funds/budgets", data={"org_id": funds.partner.id, "quarter": key, "amount": "12000"}
    )
    assert response.status_code == 302
    assert budget_of(db, funds.partner).balance == 7000
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "fund_budget.set")).all()
    assert [(e.before["amount"], e.after["amount"]) for e in events] == [("10000.00", "12000.00")]


def test_the_tiers_default_is_set_on_the_funds_page(client_as, db, funds):
    response = client_as(funds.manager).post(
        "/funds/tiers", data={"tier": "silver", "amount": "2500"}
    )
    assert response.status_code == 302
    silver = db.scalar(select(Tier).where(Tier.code == "silver"))
    db.refresh(silver)
    assert silver.mdf_quarterly_budget == Decimal("2500.00")
    assert "€2,500.00" in client_as(funds.manager).get("/funds/").get_data(as_text=True)


def test_a_claim_with_proof_is_approved_gives_back_the_rest_and_is_paid(client_as, db, funds):
    request_id = approved(client_as, funds)
    claim_id = claimed(client_as, db, funds, request_id, amount="3500")
    claim = db.get(FundClaim, claim_id)
    assert (claim.status, claim.amount, [f.filename for f in claim.files]) == (
        "submitted",
        3500,
        ["invoice.pdf"],
    )
    manager = client_as(funds.manager)
    assert manager.post(f"/funds/claims/{claim_id}/approve").status_code == 302
    assert budget_of(db, funds.partner).reserved == 3500  # 500 of the 4,000 came back
    assert (
        manager.post(f"/funds/claims/{claim_id}/pay", data={"reference": "PAY-42"}).status_code
        == 302
    )
    db.refresh(claim)
    assert (claim.status, claim.payment_reference, claim.paid_by_id) == (
        "paid",
        "PAY-42",
        funds.manager.id,
    )
    claim_events = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "FundClaim", AuditEvent.object_id == claim_id)
        .order_by(AuditEvent.id)
    ).all()
    assert claim_events == ["fund_claim.submitted", "fund_claim.approved", "fund_claim.paid"]
    assert any("is paid (PAY-42)" in t for t in titles(db, funds.admin))
    page = client_as(funds.colleague).get(f"/funds/requests/{request_id}").get_data(as_text=True)
    assert "PAY-42" in page
    stored = claim.files[0]
    download = client_as(funds.colleague).get(f"/funds/files/{stored.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_bad_claims_are_refused_and_nothing_is_written(client_as, db, funds):
    request_id = approved(client_as, funds)
    partner = client_as(funds.admin)
    cases = {
        "at least one file": {"amount": "100"},
        "at most the approved": {"amount": "4000.01", "files": [upload("a.pdf", PDF)]},
        "not the kind of file its name says": {
            "amount": "100",
            "files": [upload("a.pdf", b"MZ..")],
        },
    }
    for message, data in cases.items():
        with unchanged(db, counted=[FundClaim, FundClaimFile]):
            response = partner.post(
                f"/funds/requests/{request_id}/claim", data=data, content_type="multipart/form-data"
            )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True), message
    claimed(client_as, db, funds, request_id)
    with unchanged(db, counted=[FundClaim]):
        response = partner.post(
            f"/funds/requests/{request_id}/claim",
            data={"amount": "1", "files": [upload("b.pdf", PDF)]},
            content_type="multipart/form-data",
        )
    assert "has a claim already" in response.get_data(as_text=True)


def test_a_rejected_claim_may_be_made_again(client_as, db, funds):
    request_id = approved(client_as, funds)
    claim_id = claimed(client_as, db, funds, request_id)
    manager = client_as(funds.manager)
    with unchanged(db, db.get(FundClaim, claim_id)):
        assert (
            manager.post(f"/funds/claims/{claim_id}/reject", data={"reason": " "}).status_code
            == 422
        )
    assert (
        manager.post(f"/funds/claims/{claim_id}/reject", data={"reason": "No photos"}).status_code
        == 302
    )
    assert budget_of(db, funds.partner).reserved == 4000  # still held for the request
    assert any("rejected: No photos" in t for t in titles(db, funds.admin))
    claimed(client_as, db, funds, request_id, amount="4000")


def test_a_rejected_request_says_why(client_as, db, funds):
    request_id = ask(client_as, funds.admin)
    response = client_as(funds.manager).post(
        f"/funds/requests/{request_id}/reject", data={"reason": "Outside the programme"}
    )
    assert response.status_code == 302
    page = client_as(funds.admin).get(f"/funds/requests/{request_id}").get_data(as_text=True)
    assert "Rejected: Outside the programme" in page
    assert budget_of(db, funds.partner) is None


def test_partners_may_not_decide_and_others_see_nothing(client_as, db, funds):
    request_id = approved(client_as, funds)
    claim_id = claimed(client_as, db, funds, request_id)
    file_id = db.get(FundClaim, claim_id).files[0].id
    record, claim = db.get(FundRequest, request_id), db.get(FundClaim, claim_id)
    partner = client_as(funds.admin)
    with unchanged(db, record, claim, budget_of(db, funds.partner)):
        assert partner.post(f"/funds/claims/{claim_id}/approve").status_code == 403
        assert partner.post("/funds/budgets", data={"org_id": funds.partner.id}).status_code == 403
        assert client_as(funds.sales).post(f"/funds/claims/{claim_id}/approve").status_code == 403
    other = client_as(funds.other_admin)
    for path in (f"/funds/requests/{request_id}", f"/funds/files/{file_id}"):
        assert other.get(path).status_code == 404
    with unchanged(db, counted=[FundClaim]):
        response = other.post(
            f"/funds/requests/{request_id}/claim",
            data={"amount": "1", "files": [upload("x.pdf", PDF)]},
            content_type="multipart/form-data",
        )
    assert response.status_code == 404
    assert "Customer roadshow" not in other.get("/funds/").get_data(as_text=True)
    supplier = client_as(funds.supplier)
    assert supplier.get("/funds/").status_code == 403
    assert "/funds/" not in supplier.get("/home").get_data(as_text=True)


def test_the_channel_teams_page_and_home_show_what_waits(client_as, db, funds):
    approved(client_as, funds)
    ask(client_as, funds.admin, activity="Webinar", amount="500")
    manager = client_as(funds.manager)
    home = manager.get("/home").get_data(as_text=True)
    assert "Market development funds" in home and "1 waiting" in home
    waiting = manager.get("/funds/?status=waiting").get_data(as_text=True)
    assert "Webinar" in waiting and "Customer roadshow" not in waiting
    page = manager.get("/funds/").get_data(as_text=True)
    assert "Fundable Reseller" in page and "€6,000.00" in page
    partner_home = client_as(funds.admin).get("/home").get_data(as_text=True)
    assert "€6,000.00 left" in partner_home


def test_the_request_list_exports_as_csv(client_as, db, funds):
    request_id = approved(client_as, funds)
    claimed(client_as, db, funds, request_id, amount="3500")
    ask(client_as, funds.other_admin, activity="Foreign activity ZZF")
    body = client_as(funds.admin).get("/export/fund-requests.csv").get_data(as_text=True)
    assert "Customer roadshow" in body and "Foreign activity" not in body
    vendor_rows = client_as(funds.manager).get("/export/fund-requests.csv").get_data(as_text=True)
    assert "Foreign activity ZZF" in vendor_rows
    assert db.scalar(select(func.count()).select_from(FundRequest)) == 2
