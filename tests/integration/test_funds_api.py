"""Market development funds through the API with real tokens: the partner's system requests and
claims (files base64-encoded), the vendor's approves and pays, through the same services as the
pages; refusals are problems and change nothing; another partner's records are 404."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from partners.funds.models import FundBudget, FundClaim, FundRequest
from portal.clock import utcnow
from tests.integration import test_funds
from tests.integration.oauth_support import assert_problem, bearer, cc_token, make_api_client
from tests.unchanged import unchanged

WRITE = "funds:read funds:write"
PDF = test_funds.PDF
funds = test_funds.funds  # the fixture: a gold reseller with 10,000 a quarter, another, the team


def token(client, db, org, role: str) -> dict:
    api_client = make_api_client(db, org, scopes=WRITE, service_role=role)
    return bearer(cc_token(client, api_client, WRITE)["access_token"])


@pytest.fixture
def tokens(client, db, funds, vendor):
    return {
        "partner": token(client, db, funds.partner, "partner_admin"),
        "other": token(client, db, funds.other, "partner_admin"),
        "vendor": token(client, db, vendor, "channel_manager"),
    }


def new_request(client, headers, **overrides) -> dict:
    today = utcnow().date()
    body = {
        "activity": "API webinar",
        "amount": "2500.00",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=1)).isoformat(),
    } | overrides
    return client.post("/api/v1/funds/requests", json=body, headers=headers)


def test_request_approve_claim_approve_and_pay_through_the_api(client, db, funds, tokens):
    created = new_request(client, tokens["partner"])
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    assert created.get_json()["status"] == "submitted"
    approved = client.post(
        f"/api/v1/funds/requests/{request_id}/approve", json={}, headers=tokens["vendor"]
    )
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    claim = client.post(
        f"/api/v1/funds/requests/{request_id}/claims",
        json={
            "amount": "2000",
            "files": [{"filename": "proof.pdf", "content_base64": base64.b64encode(PDF).decode()}],
        },
        headers=tokens["partner"],
    )
    assert claim.status_code == 201, claim.get_json()
    claim_id = claim.get_json()["claims"][0]["id"]
    assert claim.get_json()["claims"][0]["files"][0]["filename"] == "proof.pdf"
    for step, body in (("approve", {}), ("pay", {"reference": "API-PAY-1"})):
        answer = client.post(
            f"/api/v1/funds/claims/{claim_id}/{step}", json=body, headers=tokens["vendor"]
        )
        assert answer.status_code == 200, answer.get_json()
    final = client.get(f"/api/v1/funds/requests/{request_id}", headers=tokens["partner"]).get_json()
    assert final["claims"][0]["status"] == "paid"
    assert final["claims"][0]["payment_reference"] == "API-PAY-1"
    budgets = client.get("/api/v1/funds/budgets", headers=tokens["partner"]).get_json()["items"]
    assert [(b["amount"], b["reserved"], b["balance"]) for b in budgets] == [
        ("10000.00", "2000.00", "8000.00")
    ]
    assert client.get("/api/v1/funds/budgets", headers=tokens["other"]).get_json()["items"] == []


def test_refusals_are_problems_and_change_nothing(client, db, funds, tokens):
    with unchanged(db, counted=[FundRequest]):
        too_much = new_request(client, tokens["partner"], amount="10000.01")
    assert "Your budget for" in assert_problem(too_much, 422)["detail"]
    request_id = new_request(client, tokens["partner"]).get_json()["id"]
    record = db.get(FundRequest, request_id)
    with unchanged(db, record, counted=[FundBudget]):
        assert_problem(
            client.post(
                f"/api/v1/funds/requests/{request_id}/approve", json={}, headers=tokens["partner"]
            ),
            403,
        )
        assert_problem(
            client.get(f"/api/v1/funds/requests/{request_id}", headers=tokens["other"]), 404
        )
        assert_problem(
            client.post(
                f"/api/v1/funds/requests/{request_id}/claims",
                json={
                    "amount": "1",
                    "files": [{"filename": "a.pdf", "content_base64": "JVBERi0="}],
                },
                headers=tokens["other"],
            ),
            404,
        )
    with unchanged(db, record, counted=[FundClaim]):
        not_yet = client.post(
            f"/api/v1/funds/requests/{request_id}/claims",
            json={"amount": "1", "files": [{"filename": "a.pdf", "content_base64": "%%%"}]},
            headers=tokens["partner"],
        )
    assert "base64" in assert_problem(not_yet, 422)["detail"]
    client.post(f"/api/v1/funds/requests/{request_id}/approve", json={}, headers=tokens["vendor"])
    again = client.post(
        f"/api/v1/funds/requests/{request_id}/approve", json={}, headers=tokens["vendor"]
    )
    assert_problem(again, 409)
    assert (
        db.scalar(select(FundBudget.reserved).where(FundBudget.org_id == funds.partner.id)) == 2500
    )


def test_the_vendor_sets_a_budget_and_the_openapi_document_lists_the_funds(
    client, db, funds, tokens
):
    year, quarter = utcnow().year, (utcnow().month - 1) // 3 + 1
    body = {"org_id": funds.partner.id, "year": year, "quarter": quarter, "amount": "300.00"}
    answer = client.post("/api/v1/funds/budgets", json=body, headers=tokens["vendor"])
    assert answer.status_code == 200 and answer.get_json()["balance"] == "300.00"
    assert_problem(client.post("/api/v1/funds/budgets", json=body, headers=tokens["partner"]), 403)
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/funds/requests",
        "/api/v1/funds/requests/{fund_request_id}/claims",
        "/api/v1/funds/claims/{fund_claim_id}/pay",
        "/api/v1/funds/budgets",
    } <= set(paths)
