"""CSV export of every list (issue 14, item 4) on the real database: per list, the headers and
exactly the rows the list shows its reader for the same filters; the file format (byte-order
mark, RFC 4180 quoting, ``\\r\\n``, formula cells neutralised, ISO 8601 UTC, plain decimals);
streaming; the job path past the threshold (progress, ready, download by its requester only)
and the tick that removes old exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from feedback.csat.models import CsatResponse, CsatSurvey
from portal import export, jobs
from portal import export_jobs as export_jobs_module
from portal.audit import AuditEvent
from portal.export_jobs import Export, ExportChunk, ExportStatus
from selfservice.kb.models import ArticleEvent, ArticleVote
from tests.factories import (
    make_article,
    make_campaign,
    make_case,
    make_deal,
    make_idea,
    make_lead,
    make_nps_answer,
    make_offer,
    make_org,
    make_quote,
    make_user,
    vendor_org,
)

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
STAMP = "2026-03-04T09:30:00Z"
LATER = "2026-03-06T09:30:00Z"  # an offer's answer-by: two days on


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def read_csv(response) -> list[list[str]]:
    """The rows of a CSV response, header first, after checking the byte-order mark and that
    every line ends in CRLF."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def get_csv(client, key: str, **args) -> list[list[str]]:
    return read_csv(client.get(f"/export/{key}.csv", query_string=args))


@pytest.fixture
def vendor_staff(db):
    vendor = vendor_org(db)
    return {
        role: make_user(db, vendor, role, name=f"{role.replace('_', ' ').title()}")
        for role in ("vendor_admin", "channel_manager", "support_agent")
    }


# Leads.

LEAD_HEADERS_VENDOR = [
    "ID", "Company", "Contact", "Email", "Phone", "Country", "Product line", "Status", "Source",
    "Created", "Partner", "Offer status", "Offered", "Answer by",
]  # fmt: skip
LEAD_HEADERS_PARTNER = [
    "ID", "Company", "Contact", "Email", "Phone", "Country", "Product line", "Status", "Created",
    "Offer status", "Offered", "Answer by",
]  # fmt: skip


@pytest.fixture
def leads(db, vendor_staff):
    vendor = vendor_org(db)
    partner = make_org(db, "reseller", name="Alpine Resellers")
    other = make_org(db, "reseller", name="Other Resellers")
    first = make_lead(db, vendor, "Bergbau AG", country="DE", contact_name="Ada", email="a@b.test")
    offered = make_lead(db, vendor, "Citadel GmbH", country="DE", status="offered")
    make_offer(db, offered, partner)
    make_lead(db, vendor, "Francaise SA", country="FR")
    elsewhere = make_lead(db, vendor, "Danube AG", country="DE", status="offered")
    make_offer(db, elsewhere, other)
    return {
        "partner": partner,
        "partner_user": make_user(db, partner, "partner_user"),
        "first": first,
        "offered": offered,
        "elsewhere": elsewhere,
    }


def test_leads_vendor_filtered_in_the_lists_order(client_as, vendor_staff, leads):
    rows = get_csv(client_as(vendor_staff["channel_manager"]), "leads", country="DE", sort="oldest")
    first, offered, elsewhere = leads["first"], leads["offered"], leads["elsewhere"]
    assert rows == [
        LEAD_HEADERS_VENDOR,
        [str(first.id), "Bergbau AG", "Ada", "a@b.test", "", "DE", "networking", "new",
         "manual", STAMP, "", "", "", ""],
        [str(offered.id), "Citadel GmbH", "", "", "", "DE", "networking", "offered", "manual",
         STAMP, "Alpine Resellers", "offered", STAMP, LATER],
        [str(elsewhere.id), "Danube AG", "", "", "", "DE", "networking", "offered", "manual",
         STAMP, "Other Resellers", "offered", STAMP, LATER],
    ]  # fmt: skip


def test_leads_of_a_partner_are_its_offers_only(client_as, leads):
    rows = get_csv(client_as(leads["partner_user"]), "leads")
    offered = leads["offered"]
    assert rows == [
        LEAD_HEADERS_PARTNER,
        [str(offered.id), "Citadel GmbH", "", "", "", "DE", "networking", "offered", STAMP,
         "offered", STAMP, LATER],
    ]  # fmt: skip


def test_leads_search_is_the_lists(client_as, vendor_staff, leads):
    rows = get_csv(client_as(vendor_staff["channel_manager"]), "leads", q="citadel")
    assert [r[1] for r in rows[1:]] == ["Citadel GmbH"]


def test_a_filter_the_list_refuses_is_refused(client_as, vendor_staff, leads):
    client = client_as(vendor_staff["channel_manager"])
    assert client.get("/export/leads.csv?status=bogus").status_code == 422
    assert client.get("/leads/?status=bogus").status_code == 422


# Deal registrations.

DEAL_HEADERS = [
    "Number", "Partner", "Customer", "Customer domain", "Contact", "Contact email", "Products",
    "Value", "Currency", "Expected close", "Status", "Created", "Submitted", "Decided",
    "Protection ends", "Closed",
]  # fmt: skip


def test_registrations_of_a_partner_filtered_by_status(db, client_as, vendor_staff):
    alpine = make_org(db, "reseller", name="Alpine Resellers")
    other = make_org(db, "reseller", name="Other Resellers")
    approved = make_deal(
        db, alpine, "Granite plc", status="approved", number="DR-1", customer_domain="granite.test",
        products=["switches", "routers"], value=Decimal("12500.50"), currency="CHF",
        expected_close=date(2026, 5, 1), expires_at=NOW + timedelta(days=90),
    )  # fmt: skip
    make_deal(db, alpine, "Basalt plc", status="submitted", number="DR-2")
    make_deal(db, other, "Granite plc", status="approved", number="DR-3")
    rows = get_csv(client_as(make_user(db, alpine, "partner_admin")), "registrations",
                   status="approved")  # fmt: skip
    assert rows == [
        DEAL_HEADERS,
        ["DR-1", "Alpine Resellers", "Granite plc", "granite.test", "", "", "switches; routers",
         "12500.50", "CHF", "2026-05-01", "approved", STAMP, "", "", "2026-06-02T09:30:00Z", ""],
    ]  # fmt: skip
    assert approved.id
    staff = get_csv(client_as(vendor_staff["channel_manager"]), "registrations", q="granite")
    assert [(r[0], r[1]) for r in staff[1:]] == [
        ("DR-3", "Other Resellers"),
        ("DR-1", "Alpine Resellers"),
    ]


# Quotes.

QUOTE_HEADERS = [
    "Number", "Revision", "Title", "Recipient", "Status", "Subtotal", "Tax", "Total", "Currency",
    "Valid until", "Sent", "Decided",
]  # fmt: skip


def test_quotes_of_a_customer_with_money_as_plain_decimals(db, client_as, vendor_staff):
    customer = make_org(db, "customer", name="Granite plc")
    other = make_org(db, "customer", name="Basalt plc")
    make_quote(
        db, customer, "Core switches", number="Q-1", lines=2, sent_at=NOW,
        valid_until=date(2026, 4, 3),
    )  # fmt: skip
    make_quote(db, customer, "Old draft", status="draft", number="Q-2")
    make_quote(db, other, "Not theirs", number="Q-3")
    rows = get_csv(client_as(make_user(db, customer, "customer_user")), "quotes")
    assert rows == [
        QUOTE_HEADERS,
        ["Q-1", "1", "Core switches", "Granite plc", "sent", "200.00", "0.00", "200.00", "EUR",
         "2026-04-03", STAMP, ""],
    ]  # fmt: skip
    staff = get_csv(client_as(vendor_staff["vendor_admin"]), "quotes", status="draft")
    assert staff[0] == QUOTE_HEADERS[:10] + ["Created"] + QUOTE_HEADERS[10:]
    assert [r[0] for r in staff[1:]] == ["Q-2"]


# Cases.


def test_cases_of_a_customer_filtered_by_status(db, client_as, vendor_staff):
    customer = make_org(db, "customer", name="Granite plc")
    me = make_user(db, customer, "customer_admin", name="Gina Granite")
    earlier = NOW - timedelta(hours=2)
    solved = make_case(db, customer, me, "Printer on fire", status="solved", number="CS-1",
                       priority="high", product="NW-FW200", updated_at=earlier)  # fmt: skip
    make_case(db, customer, me, "Still open", status="open", number="CS-2")
    make_case(db, make_org(db, "customer"), None, "Foreign case", status="solved", number="CS-3")
    rows = get_csv(client_as(me), "cases", status="solved")
    assert rows[0] == [
        "Number", "Subject", "Organisation", "Requester", "Status", "Priority", "Product",
        "Category", "Created", "Updated", "First response due", "First response",
        "Resolution due", "Solved", "Closed", "First response breached", "Resolution breached",
    ]  # fmt: skip
    assert rows[1:] == [
        ["CS-1", "Printer on fire", "Granite plc", "Gina Granite", "solved", "high", "NW-FW200",
         "", STAMP, "2026-03-04T07:30:00Z", "", "", "", "", "", "false", "false"],
    ]  # fmt: skip
    assert solved.id
    staff = get_csv(client_as(vendor_staff["support_agent"]), "cases")
    assert "Assignee" in staff[0]
    assert [r[0] for r in staff[1:]] == ["CS-3", "CS-2", "CS-1"]  # most recently changed first


# Organisations, people, the audit log.


def test_organisations_filtered_by_kind_and_name(db, client_as, vendor_staff):
    alpine = make_org(db, "reseller", name="Alpine Resellers", tier="gold")
    make_org(db, "customer", name="Granite plc", managed_by_id=alpine.id)
    make_org(db, "customer", name="Granite Two plc", active=False)
    make_org(db, "customer", name="Basalt plc")
    rows = get_csv(client_as(vendor_staff["vendor_admin"]), "organisations", kind="customer",
                   q="granite")  # fmt: skip
    assert rows[0] == [
        "ID",
        "Name",
        "Kind",
        "Tier",
        "Managed by",
        "Account manager",
        "Active",
        "Created",
    ]
    assert [r[1:] for r in rows[1:]] == [
        ["Granite Two plc", "customer", "", "", "", "false", STAMP],
        ["Granite plc", "customer", "", "Alpine Resellers", "", "true", STAMP],
    ]


def test_people_are_the_team_of_ones_own_organisation(db, client_as):
    alpine = make_org(db, "reseller")
    admin = make_user(db, alpine, "partner_admin", name="Bea Admin", email="bea@alpine.test")
    make_user(db, alpine, "partner_user", name="Al User", email="al@alpine.test")
    make_user(db, make_org(db, "reseller"), "partner_user", name="Not Ours")
    rows = get_csv(client_as(admin), "people")
    assert rows[0] == ["ID", "Name", "Email", "Role", "Active", "Created", "Last sign-in"]
    assert [r[1:5] + r[6:] for r in rows[1:]] == [
        ["Al User", "al@alpine.test", "partner_user", "true", ""],
        ["Bea Admin", "bea@alpine.test", "partner_admin", "true", STAMP],  # signed in just now
    ]


def test_audit_log_filtered_by_action(db, client_as, vendor_staff):
    vendor = vendor_org(db)
    admin = vendor_staff["vendor_admin"]
    for action, after in (
        ("deal.approved", {"status": "approved"}),
        ("lead.offered", {"company": "=cmd|' /C calc'!A0"}),
        ("deal.rejected", None),
    ):
        db.add(AuditEvent(org_id=vendor.id, actor_user_id=admin.id, actor_org_id=vendor.id,
                          action=action, object_type="DealRegistration", object_id=7,
                          after=after, ip_address="10.0.0.1"))  # fmt: skip
    db.flush()
    rows = get_csv(client_as(admin), "audit-log", action="deal.")
    assert rows[0] == [
        "ID", "When", "Action", "Description", "Record type", "Record ID", "Organisation ID",
        "Actor ID", "Actor", "Actor's organisation ID", "IP address", "Before", "After",
    ]  # fmt: skip
    assert [r[2:] for r in rows[1:]] == [
        ["deal.rejected", "Registration rejected", "DealRegistration", "7", str(vendor.id),
         str(admin.id), "Vendor Admin", str(vendor.id), "10.0.0.1", "", ""],
        ["deal.approved", "Registration approved", "DealRegistration", "7", str(vendor.id),
         str(admin.id), "Vendor Admin", str(vendor.id), "10.0.0.1", "", '{"status": "approved"}'],
    ]  # fmt: skip


# The help centre's report, ideas, NPS and CSAT answers.


def test_help_report_per_article(db, client_as, vendor_staff):
    read = make_article(db, "Reset a switch")
    make_article(db, "Unread draft", status="draft")
    for kind in ("view", "view", "view", "case_avoided", "case_raised"):
        db.add(ArticleEvent(article_id=read.id, kind=kind, voter=f"v{kind}"))
    db.add(ArticleVote(article_id=read.id, voter="a", helpful=True))
    db.add(ArticleVote(article_id=read.id, voter="b", helpful=False))
    db.add(ArticleVote(article_id=read.id, voter="c", helpful=True))
    db.flush()
    rows = get_csv(client_as(vendor_staff["support_agent"]), "help-report")
    assert rows[0] == [
        "ID", "Title", "Status", "Audience", "Views", "Helpful", "Not helpful", "Cases avoided",
        "Cases raised after reading",
    ]  # fmt: skip
    assert [r[1:] for r in rows[1:]] == [
        ["Reset a switch", "published", "public", "3", "2", "1", "1", "1"],
        ["Unread draft", "draft", "public", "0", "0", "0", "0", "0"],
    ]


def test_ideas_filtered_by_product_in_the_boards_order(db, client_as, vendor_staff):
    customer = make_org(db, "customer", name="Granite plc")
    author = make_user(db, customer, "customer_user", name="Gina")
    make_idea(db, author, "Faster VPN", product="security", vote_count=3)
    make_idea(db, author, "Dark mode", product="security", vote_count=9)
    make_idea(db, author, "Longer cables", product="networking", vote_count=20)
    make_idea(db, author, "Old copy", product="security", vote_count=50, status="duplicate")
    reader = make_user(db, make_org(db, "reseller"), "partner_user")
    rows = get_csv(client_as(reader), "ideas", product="security")
    assert rows[0] == [
        "ID", "Title", "Product line", "Status", "Votes", "Votes in the last 14 days", "Proposed",
        "Status changed",
    ]  # fmt: skip
    assert [r[1:6] for r in rows[1:]] == [
        ["Dark mode", "security", "under_review", "9", "0"],
        ["Faster VPN", "security", "under_review", "3", "0"],
    ]
    staff = get_csv(client_as(vendor_staff["vendor_admin"]), "ideas", product="security")
    assert staff[0][-2:] == ["Author", "Author's organisation"]
    assert staff[1][-2:] == ["Gina", "Granite plc"]


def test_nps_answers_of_one_campaign(db, client_as, vendor_staff):
    customer = make_org(db, "customer", name="Granite plc")
    partner = make_org(db, "reseller", name="Alpine Resellers", tier="gold")
    campaign = make_campaign(db, name="Spring", status="sent", sent_at=NOW, product="security")
    make_nps_answer(db, make_user(db, customer, "customer_user"), 10, NOW - timedelta(hours=1),
                    campaign)  # fmt: skip
    late = make_nps_answer(db, make_user(db, partner, "partner_user"), 6, NOW, campaign)
    make_nps_answer(db, make_user(db, customer, "customer_admin"), 8, NOW)  # another campaign
    db.get(type(late), late.id).comment = 'Needs +more, "docs"'
    db.flush()
    rows = get_csv(client_as(vendor_staff["channel_manager"]), "nps-answers",
                   campaign=str(campaign.id))  # fmt: skip
    assert rows == [
        ["Campaign ID", "Campaign", "Product line", "Answered", "Score", "Category", "Comment",
         "Organisation", "Kind", "Tier"],
        [str(campaign.id), "Spring", "security", STAMP, "6", "detractor", 'Needs +more, "docs"',
         "Alpine Resellers", "reseller", "gold"],
        [str(campaign.id), "Spring", "security", "2026-03-04T08:30:00Z", "10", "promoter", "",
         "Granite plc", "customer", ""],
    ]  # fmt: skip
    everything = get_csv(client_as(vendor_staff["channel_manager"]), "nps-answers")
    assert len(everything) == 4
    bad = client_as(vendor_staff["channel_manager"]).get("/export/nps-answers.csv?campaign=x")
    assert bad.status_code == 422


def test_csat_answers_oldest_solve_first(db, client_as, vendor_staff):
    alpine = make_org(db, "reseller", name="Alpine Resellers")
    customer = make_org(db, "customer", name="Granite plc", managed_by_id=alpine.id)
    person = make_user(db, customer, "customer_user")
    for number, score, solved, comment in (
        ("CS-9", 2, NOW - timedelta(days=1), "@slow"),
        ("CS-8", 5, NOW - timedelta(days=2), ""),
    ):
        case = make_case(db, customer, person, f"Case {number}", status="solved", number=number)
        survey = CsatSurvey(org_id=customer.id, case_id=case.id, case_number=number,
                            subject=case.subject, requester_id=person.id,
                            agent_id=vendor_staff["support_agent"].id, team_name="Tier 1",
                            product="NW-FW200", solved_at=solved)  # fmt: skip
        db.add(survey)
        db.flush()
        db.add(CsatResponse(org_id=customer.id, survey_id=survey.id, score=score, comment=comment))
    db.flush()
    rows = get_csv(client_as(vendor_staff["vendor_admin"]), "csat-answers")
    assert rows == [
        ["Case", "Subject", "Score", "Comment", "Answered", "Solved", "Agent", "Team", "Product",
         "Organisation", "Managing partner"],
        ["CS-8", "Case CS-8", "5", "", STAMP, "2026-03-02T09:30:00Z", "Support Agent", "Tier 1",
         "NW-FW200", "Granite plc", "Alpine Resellers"],
        ["CS-9", "Case CS-9", "2", "'@slow", STAMP, "2026-03-03T09:30:00Z", "Support Agent",
         "Tier 1", "NW-FW200", "Granite plc", "Alpine Resellers"],
    ]  # fmt: skip


# The file.


def test_quoting_line_breaks_and_the_byte_order_mark(db, client_as, vendor_staff):
    make_lead(db, None, 'Acme "Best", Inc.\r\nSecond line', country="DE", notes="x")
    response = client_as(vendor_staff["channel_manager"]).get("/export/leads.csv")
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbfID,Company,")
    assert b'"Acme ""Best"", Inc.\r\nSecond line"' in raw  # RFC 4180: doubled quotes, kept CRLF
    assert raw.count(b"\r\n") == 3  # the header, the row, and the line break inside the cell
    assert read_csv(response)[1][1] == 'Acme "Best", Inc.\r\nSecond line'
    assert response.headers["Content-Disposition"] == 'attachment; filename="leads-2026-03-04.csv"'
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Plain = fine", "Plain = fine"),
        ("Ünïcödé €", "Ünïcödé €"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(db, client_as, vendor_staff, text, written):
    make_lead(db, None, text, phone=text)
    rows = get_csv(client_as(vendor_staff["channel_manager"]), "leads")
    assert rows[1][1] == written and rows[1][4] == written


def test_cells_of_each_type():
    assert export.cell(None) == ""
    assert export.cell(True) == "true"
    assert export.cell(Decimal("-12.50")) == "-12.50"  # a number of ours is no formula
    assert export.cell(Decimal("1E+3")) == "1000"
    assert export.cell(datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert export.cell(date(2026, 1, 2)) == "2026-01-02"
    assert export.cell(-3) == -3
    assert export.cell("-3") == "'-3"  # text that starts like a formula is text


def test_the_file_is_streamed_chunk_by_chunk(db, client_as, vendor_staff, monkeypatch):
    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 2)
    for n in range(5):
        make_lead(db, None, f"Company {n}")
    response = client_as(vendor_staff["channel_manager"]).get("/export/leads.csv", buffered=False)
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) == 4  # the header, then rows 2 + 2 + 1
    assert chunks[0].startswith(b"\xef\xbb\xbfID,")
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 6
    response.close()


def test_who_may_export_what(db, client, client_as, vendor_staff):
    customer = make_user(db, make_org(db, "customer"), "customer_user")
    assert client.get("/export/cases.csv").status_code == 302  # to the sign-in page
    assert client_as(customer).get("/export/leads.csv").status_code == 404  # no such list here
    assert client_as(customer).get("/export/nothing.csv").status_code == 404
    assert client_as(vendor_staff["support_agent"]).get("/export/audit-log.csv").status_code == 403
    assert client_as(customer).get("/export/people.csv").status_code == 403


def test_the_list_page_links_to_its_export_with_its_filters(db, client_as, vendor_staff):
    make_lead(db, None, "Bergbau AG", country="DE")
    client = client_as(vendor_staff["channel_manager"])
    page = client.get("/leads/?country=DE&status=new&q=&sort=oldest").get_data(as_text=True)
    link = re.search(r'href="(/export/leads\.csv[^"]*)"[^>]*data-testid="export-csv"', page)
    assert link is not None
    assert (
        link.group(1).replace("&amp;", "&") == "/export/leads.csv?country=DE&status=new&sort=oldest"
    )
    assert "after=" not in link.group(1)  # the pager's cursor is no filter


# The job path.


def exports(db) -> list[Export]:
    return list(db.scalars(select(Export).order_by(Export.id)))


@pytest.fixture
def big(app, db, monkeypatch, vendor_staff):
    """Three leads in Germany, one in France, and a threshold of two rows."""
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 2)
    for name in ("Alpha", "Beta", "Gamma"):
        make_lead(db, None, f"{name} GmbH", country="DE")
    make_lead(db, None, "Delta SA", country="FR")
    return vendor_staff["channel_manager"]


def test_past_the_threshold_the_link_offers_a_job_and_writes_nothing(db, client_as, big):
    client = client_as(big)
    page = client.get("/export/leads.csv?country=DE")
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    assert 'action="/export/leads/job?country=DE"' in body
    assert exports(db) == []
    small = client.get("/export/leads.csv?country=FR")  # under the threshold: the file at once
    assert [r[1] for r in read_csv(small)[1:]] == ["Delta SA"]


def test_the_job_writes_the_file_as_its_requester_with_progress(
    app, db, client_as, big, monkeypatch
):
    reported = []
    report = export_jobs_module._report

    def spy(session, export_id, **values):
        reported.append(values)
        report(session, export_id, **values)

    monkeypatch.setattr(export_jobs_module, "_report", spy)
    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 1)
    monkeypatch.setattr(export_jobs_module, "CHUNK_BYTES", 1)  # a stored chunk per row
    client = client_as(big)
    started = client.post("/export/leads/job?country=DE&sort=oldest")
    assert started.status_code == 302
    (record,) = exports(db)
    assert started.headers["Location"] == f"/export/jobs/{record.id}"
    db.refresh(record)
    assert (record.status, record.rows_total, record.rows_written) == ("ready", 3, 3)
    assert record.args == {"country": ["DE"], "sort": ["oldest"]}
    assert record.filename == "leads-2026-03-04.csv"
    assert record.user_id == big.id and record.org_id == big.org_id
    assert record.started_at == NOW and record.finished_at == NOW
    # Progress: the total first, then the rows written as each chunk was stored.
    assert reported == [{"rows_total": 3}] + [{"rows_written": n} for n in (0, 1, 2, 3)]
    chunks = db.scalar(select(func.count()).where(ExportChunk.export_id == record.id))
    assert chunks == 4
    page = client.get(f"/export/jobs/{record.id}").get_data(as_text=True)
    assert "Ready" in page and "3 of 3" in page and 'http-equiv="refresh"' not in page
    assert f'href="/export/jobs/{record.id}/file"' in page
    file = client.get(f"/export/jobs/{record.id}/file")
    assert file.headers["Content-Disposition"] == 'attachment; filename="leads-2026-03-04.csv"'
    assert [r[1] for r in read_csv(file)[1:]] == ["Alpha GmbH", "Beta GmbH", "Gamma GmbH"]
    app.config["EXPORT_JOB_THRESHOLD"] = 100
    direct = client.get("/export/leads.csv?country=DE&sort=oldest")
    assert file.get_data() == direct.get_data()  # the same file as streamed at once
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "export.requested"))
    assert audit.object_id == record.id and audit.actor_user_id == big.id
    assert "My exports" in client.get("/export/jobs").get_data(as_text=True)


def test_only_the_requester_may_open_or_download_an_export(db, client_as, big, vendor_staff):
    started = client_as(big).post("/export/leads/job")
    (record,) = exports(db)
    admin = client_as(vendor_staff["vendor_admin"])  # same organisation, and an admin
    assert admin.get(started.headers["Location"]).status_code == 404
    assert admin.get(f"/export/jobs/{record.id}/file").status_code == 404
    assert admin.get(f"/export/jobs/{record.id + 1000}").status_code == 404
    assert "leads-2026-03-04.csv" not in admin.get("/export/jobs").get_data(as_text=True)


def test_a_running_export_shows_its_progress_and_refreshes(db, client_as, big):
    record = Export(org_id=big.org_id, user_id=big.id, source_key="leads", args={},
                    filename="leads-2026-03-04.csv", status="running", rows_total=5,
                    rows_written=2)  # fmt: skip
    db.add(record)
    db.flush()
    client = client_as(big)
    page = client.get(f"/export/jobs/{record.id}").get_data(as_text=True)
    assert "Being written" in page and "2 of 5" in page and 'value="40"' in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "/file" not in page
    assert client.get(f"/export/jobs/{record.id}/file").status_code == 404  # not ready yet


def test_a_job_that_fails_says_so(db, client_as, big, monkeypatch):
    def broken(stmt, session=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export, "streamed", broken)
    client = client_as(big)
    location = client.post("/export/leads/job").headers["Location"]
    (record,) = exports(db)
    db.refresh(record)
    assert (record.status, record.error) == ("failed", "RuntimeError")
    assert "could not be written" in client.get(location).get_data(as_text=True)


def test_the_tick_removes_exports_after_a_week(app, db, big):
    def add(age: timedelta) -> Export:
        record = Export(org_id=big.org_id, user_id=big.id, source_key="leads", args={},
                        filename="x.csv", status=ExportStatus.ready.value,
                        created_at=NOW - age)  # fmt: skip
        db.add(record)
        db.flush()
        db.add(ExportChunk(org_id=big.org_id, export_id=record.id, position=1, content=b"x"))
        db.flush()
        return record

    add(timedelta(days=7, minutes=1))
    recent = add(timedelta(days=6)).id
    with app.app_context():
        assert jobs.run_periodic(["remove_old_exports"]) == {"remove_old_exports": 1}
    db.expire_all()
    assert db.scalars(select(Export.id)).all() == [recent]
    assert db.scalars(select(ExportChunk.export_id)).all() == [recent]


def queued(db, user, **args) -> Export:
    record = Export(org_id=user.org_id, user_id=user.id, source_key="leads", args=args,
                    filename="leads-2026-03-04.csv")  # fmt: skip
    db.add(record)
    db.flush()
    return record


def test_in_a_worker_the_progress_is_committed_as_the_rows_are_read(app, db, big, monkeypatch):
    """Run by an RQ worker (no request waits for it), the job commits each chunk and the rows
    written so far on a session of its own, beside the read, for the progress page to show."""
    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 1)
    monkeypatch.setattr(export_jobs_module, "CHUNK_BYTES", 1)
    saved = []
    save = export_jobs_module._save

    def spy(progress, reader):
        saved.append(progress is reader)
        save(progress, reader)

    monkeypatch.setattr(export_jobs_module, "_save", spy)
    record = queued(db, big, country=["DE"])
    with app.app_context():
        jobs.run_job("portal.export_jobs:write_export", (record.id,))
    assert saved == [False] * 5  # the total, then the header and three rows, each committed
    db.refresh(record)
    assert (record.status, record.rows_total, record.rows_written) == ("ready", 3, 3)
    content = b"".join(
        db.scalars(
            select(ExportChunk.content)
            .where(ExportChunk.export_id == record.id)
            .order_by(ExportChunk.position)
        )
    )
    assert content.count(b"\r\n") == 4 and content.startswith(b"\xef\xbb\xbfID,")


def test_a_requester_who_left_gets_no_file(app, db, big):
    record = queued(db, big)
    big.active = False
    db.flush()
    with app.app_context():
        jobs.run_job("portal.export_jobs:write_export", (record.id,))
    db.refresh(record)
    assert (record.status, record.error) == ("failed", "not allowed any more")
    assert db.scalars(select(ExportChunk.id)).all() == []
