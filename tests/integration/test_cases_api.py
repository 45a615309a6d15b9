"""Cases in the API: the same wall and services as the pages; internal notes never reach a
customer's or partner's token; foreign cases are 404; problem+json errors."""

from __future__ import annotations

import pytest

from selfservice.cases.models import Case, CaseComment
from tests.factories import make_case, make_case_comment
from tests.integration.test_cases import make_people
from tests.isolation.kinds_leads import bearer_for
from tests.unchanged import unchanged

SCOPES = "cases:read cases:write"


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


@pytest.fixture
def case(db, people):
    case = make_case(db, people.customer, people.customer_user, "API case QXA")
    make_case_comment(db, case, "Public answer QXP", internal=False)
    make_case_comment(db, case, "Internal note QXI", internal=True)
    return case


def test_customer_token_sees_its_case_without_internal_notes(app, db, people, case):
    client = app.test_client()
    headers = bearer_for(db, people.customer_user, SCOPES)
    listed = client.get("/api/v1/cases", headers=headers).get_json()
    assert [c["number"] for c in listed["items"]] == [case.number]
    detail = client.get(f"/api/v1/cases/{case.id}", headers=headers)
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "Public answer QXP" in text and "Internal note QXI" not in text
    assert set(detail.get_json()["sla"]) <= {"first_response", "resolution"}


def test_partner_and_agent_tokens(app, db, people, case):
    client = app.test_client()
    partner = bearer_for(db, people.partner_user, SCOPES)
    assert "Internal note QXI" not in client.get(
        f"/api/v1/cases/{case.id}", headers=partner
    ).get_data(as_text=True)
    with unchanged(db, case, counted=[CaseComment]):
        refused = client.post(
            f"/api/v1/cases/{case.id}/comments", json={"body": "hi"}, headers=partner
        )
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    agent = bearer_for(db, people.agent, SCOPES)
    assert "Internal note QXI" in client.get(f"/api/v1/cases/{case.id}", headers=agent).get_data(
        as_text=True
    )
    note = client.post(
        f"/api/v1/cases/{case.id}/comments",
        json={"body": "Note QXN", "internal": True},
        headers=agent,
    )
    assert note.status_code == 201 and note.get_json()["internal"] is True


def test_foreign_and_unshared_cases_are_404(app, db, people, case, org_factory, user_factory):
    client = app.test_client()
    colleague = bearer_for(db, people.colleague, SCOPES)
    with unchanged(db, case, counted=[CaseComment]):
        assert client.get(f"/api/v1/cases/{case.id}", headers=colleague).status_code == 404
        assert client.get("/api/v1/cases/987654321", headers=colleague).status_code == 404
    stranger_org = org_factory("reseller")
    stranger = bearer_for(db, user_factory(stranger_org, "partner_admin"), SCOPES)
    with unchanged(db, case, counted=[CaseComment]):
        assert client.get(f"/api/v1/cases/{case.id}", headers=stranger).status_code == 404
        reply = client.post(
            f"/api/v1/cases/{case.id}/comments", json={"body": "x"}, headers=stranger
        )
    assert reply.status_code == 404


def test_open_a_case_and_reply_reopens(app, db, people):
    client = app.test_client()
    headers = {**bearer_for(db, people.customer_user, SCOPES), "Idempotency-Key": "case-1"}
    created = client.post(
        "/api/v1/cases",
        json={"subject": "From our ERP", "description": "Sync fails"},
        headers=headers,
    )
    assert created.status_code == 201
    again = client.post(
        "/api/v1/cases",
        json={"subject": "From our ERP", "description": "Sync fails"},
        headers=headers,
    )
    assert again.get_json()["id"] == created.get_json()["id"]
    read_only = bearer_for(db, people.customer_user, "cases:read")
    with unchanged(db, (Case, created.get_json()["id"]), counted=[Case]):
        bad = client.post(
            "/api/v1/cases", json={"subject": "x", "description": ""}, headers=headers
        )
        refused = client.post(
            "/api/v1/cases", json={"subject": "Nope", "description": "x"}, headers=read_only
        )
    assert bad.status_code == 422
    assert refused.status_code == 403


def test_a_token_without_a_user_sees_no_requester_less_case(app, db, people):
    """A client-credentials token acts for no user: ``requester_id = NULL`` must not make every
    case without a requester (its requester was removed) visible in an organisation that does
    not share cases."""
    from tests.integration.oauth_support import bearer, cc_token, make_api_client

    orphan = make_case(db, people.customer, None, "Orphan case QXO")
    api_client = make_api_client(db, people.customer, scopes=SCOPES, service_role="customer_user")
    http = app.test_client()
    headers = bearer(cc_token(http, api_client, SCOPES)["access_token"])
    listed = http.get("/api/v1/cases", headers=headers)
    assert listed.status_code == 200
    assert orphan.number not in listed.get_data(as_text=True)
    with unchanged(db, orphan):
        assert http.get(f"/api/v1/cases/{orphan.id}", headers=headers).status_code == 404


def test_a_subject_with_line_breaks_never_breaks_the_emails(app, db, people, mailbox):
    """A subject typed with line breaks (through the API) is kept on one line: its email and
    every later one about the case (a reply) are sent, subjects without a line break."""
    client = app.test_client()
    customer = bearer_for(db, people.customer_user, SCOPES)
    opened = client.post(
        "/api/v1/cases",
        json={"subject": "Printer\r\nstalls\nagain", "description": "x", "priority": "normal"},
        headers=customer,
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    assert opened.get_json()["subject"] == "Printer stalls again"
    (confirmation,) = mailbox.to("cu@acme.test")
    assert "Printer stalls again" in confirmation["Subject"]
    mailbox.clear()
    agent = bearer_for(db, people.agent, SCOPES)
    case_id = opened.get_json()["id"]
    reply = client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "On it."}, headers=agent)
    assert reply.status_code == 201
    (answer,) = mailbox.to("cu@acme.test")
    assert "Printer stalls again" in answer["Subject"] and "\n" not in answer["Subject"]


def test_notify_keeps_every_email_subject_on_one_short_line(app, db, people, mailbox):
    """Whatever a feature passes as a title, its email goes out: whitespace collapsed, capped."""
    from portal.db import db as app_db
    from portal.db import unscoped
    from portal.notify import services as notify

    title = "Line one\nline\u2028two\r\n " + "x" * 400
    with app.test_request_context():
        with unscoped(app_db.session):
            notify.notify([people.customer_user], "cases.reply", title)
        app_db.session.commit()
    (sent,) = mailbox.to("cu@acme.test")
    assert sent["Subject"].startswith("Line one line two xxx")
    assert len(sent["Subject"]) <= 200 and "\n" not in sent["Subject"]


def test_replying_needs_the_write_scope(app, db, people, case):
    """A read-only token reads a case but does not reply on it: refused by the guard, before any
    record is looked at (403 whatever the id); agents' tokens still reply."""
    client = app.test_client()
    reader = bearer_for(db, people.customer_user, "cases:read")
    assert client.get(f"/api/v1/cases/{case.id}", headers=reader).status_code == 200
    for case_id in (case.id, 987654321):
        with unchanged(db, case, counted=[CaseComment]):
            refused = client.post(
                f"/api/v1/cases/{case_id}/comments", json={"body": "x"}, headers=reader
            )
        assert refused.status_code == 403
    writer = bearer_for(db, people.customer_user, SCOPES)
    ok = client.post(f"/api/v1/cases/{case.id}/comments", json={"body": "More"}, headers=writer)
    assert ok.status_code == 201
    agent = bearer_for(db, people.agent, SCOPES)
    answer = client.post(f"/api/v1/cases/{case.id}/comments", json={"body": "Hi"}, headers=agent)
    assert answer.status_code == 201
