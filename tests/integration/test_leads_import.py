"""CSV import: every row checked and shown before anything is written; a file with any bad row
imports nothing and says what is wrong on which line; a good file imports every row in one go."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from partners.leads import csv_import
from partners.leads.models import Lead
from portal.audit import AuditEvent
from tests.factories import make_lead
from tests.unchanged import unchanged

GOOD = """company,contact_name,email,phone,country,product_line,notes
Acme Industrial GmbH,Jana Roth,j.roth@acme.test,+49 30 1234,DE,networking,Trade fair
Fabrikam Ltd,Sam Lee,sam@fabrikam.test,,GB,security,
"Contoso, Inc.",Alex Doe,,,United States,Cloud,"two
lines"
"""

BAD = """company,email,country,product_line
Good Row GmbH,good@row.test,DE,networking
,nobody@row.test,DE,networking
Bad Country AG,bad@country.test,Atlantis,security
Bad Line SA,bad@line.test,FR,toasters
Bad Mail BV,not-an-email,NL,cloud
Twice Ltd,good@row.test,GB,storage
"""


@pytest.fixture
def staff(vendor, user_factory):
    return user_factory(vendor, "channel_manager")


def upload(client, text: str | bytes, name: str = "leads.csv", source: str = "Trade fair 2027"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/leads/import",
        data={"file": (io.BytesIO(data), name), "source": source},
        content_type="multipart/form-data",
    )


def payload_of(page: str) -> list[str]:
    return re.findall(r'name="payload" value="([^"]*)"', page)


def confirm(client, pieces: list[str]):
    return client.post(
        "/leads/import/confirm",
        data={"payload": pieces},
        content_type="multipart/form-data",
    )


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(Lead))


def test_a_good_file_is_previewed_then_imported_in_one_go(client_as, db, staff):
    client = client_as(staff)
    preview = upload(client, GOOD)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Checked 3 rows: 3 ready to import (100%), 0 with errors." in page
    assert "<progress" in page and "Import 3 leads" in page
    assert "Contoso, Inc." in page  # the sample rows
    assert count(db) == 0  # a preview writes nothing
    response = confirm(client, payload_of(page))
    assert response.status_code == 302
    assert "Imported 3 leads from leads.csv." in client.get("/leads/").get_data(as_text=True)
    leads = db.scalars(select(Lead).order_by(Lead.id)).all()
    assert [(lead.company, lead.country, lead.product_line) for lead in leads] == [
        ("Acme Industrial GmbH", "DE", "networking"),
        ("Fabrikam Ltd", "GB", "security"),
        ("Contoso, Inc.", "US", "cloud"),
    ]
    assert {lead.source for lead in leads} == {"Trade fair 2027"}
    assert {lead.status for lead in leads} == {"new"}
    assert leads[2].notes == "two\nlines"
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "lead.imported")).all()
    assert sorted(e.object_id for e in events) == [lead.id for lead in leads]
    assert events[0].actor_user_id == staff.id and events[0].after["file"] == "leads.csv"


def test_bad_rows_import_nothing_and_each_is_explained(client_as, db, staff):
    client = client_as(staff)
    with unchanged(db, counted=[Lead]):
        response = upload(client, BAD)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Checked 6 rows: 1 ready to import (16.7%), 5 with errors." in page
    assert "Nothing was imported." in page and "payload" not in page
    errors = page.split('data-testid="import-errors"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>([^<]*)</td></tr>", errors)
    assert [(line, field) for line, field, _ in rows] == [
        ("3", "company"),
        ("4", "country"),
        ("5", "product_line"),
        ("6", "email"),
        ("7", "email"),
    ]
    messages = " ".join(m for _, _, m in rows)
    assert "Atlantis is not a country." in messages
    assert "toasters is not a product line" in messages
    assert "good@row.test is also on line 2." in messages
    assert count(db) == 0


def test_a_lead_that_already_exists_is_an_error_at_preview_and_at_confirmation(
    client_as, db, staff
):
    make_lead(db, staff.org, "Already Here Co", email="taken@lead.test")
    client = client_as(staff)
    text = "company,email,country,product_line\nNew Co,taken@lead.test,DE,cloud\n"
    page = upload(client, text).get_data(as_text=True)
    assert "A lead with taken@lead.test exists" in page
    # A duplicate that arrives between preview and confirmation stops the whole import too.
    text = (
        "company,email,country,product_line\nA Co,a@lead.test,DE,cloud\nB Co,b@lead.test,DE,cloud\n"
    )
    pieces = payload_of(upload(client, text).get_data(as_text=True))
    make_lead(db, staff.org, "Sneaked In Co", email="b@lead.test")
    before = count(db)
    with unchanged(db, counted=[Lead]):
        response = confirm(client, pieces)
    assert response.status_code == 422
    assert "A lead with b@lead.test exists" in response.get_data(as_text=True)
    assert count(db) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ("name,email\nAnn,ann@x.test\n", "no column for: company, country, product_line"),
        ("company,country,product_line\n", "header row but no leads"),
        ("company,country,product_line\nA,DE,cloud,extra\n", "more cells than the header"),
    ],
)
def test_files_that_are_not_lead_lists_are_refused(client_as, db, staff, content, message):
    with unchanged(db, counted=[Lead]):
        response = upload(client_as(staff), content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db) == 0


def test_encodings_separators_and_headers_people_use(client_as, db, staff):
    client = client_as(staff)
    latin1 = "company;country;product_line\nMüller GmbH;DE;networking\n".encode("latin-1")
    with unchanged(db, counted=[Lead]):
        response = upload(client, latin1)
    assert response.status_code == 422 and "not UTF-8" in response.get_data(as_text=True)
    text = "\ufeffCompany Name;Country Code;Product Line;Shoe size\nMüller GmbH;deu;Networking;44\n"
    page = upload(client, text).get_data(as_text=True)
    assert "1 ready to import" in page and "Columns ignored: Shoe size" in page
    assert confirm(client, payload_of(page)).status_code == 302
    lead = db.scalar(select(Lead).where(Lead.company == "Müller GmbH"))
    assert (lead.country, lead.product_line) == ("DE", "networking")


def test_a_tampered_or_missing_preview_imports_nothing(client_as, db, staff):
    client = client_as(staff)
    pieces = payload_of(upload(client, GOOD).get_data(as_text=True))
    forged = [pieces[0][:-3] + "AAA"]
    for attempt in (forged, [], ["not-a-preview"]):
        with unchanged(db, counted=[Lead]):
            response = confirm(client, attempt)
        assert response.status_code == 422
        assert "Upload the file again" in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_large_file_travels_in_pieces_and_imports_whole(client_as, db, staff, monkeypatch):
    monkeypatch.setattr(csv_import, "SEAL_CHUNK", 4096)
    rows = [f"Bulk Company {n:05d},{n:05d}@bulk.test,DE,storage" for n in range(3000)]
    text = "company,email,country,product_line\n" + "\n".join(rows) + "\n"
    client = client_as(staff)
    page = upload(client, text).get_data(as_text=True)
    assert "Checked 3,000 rows: 3,000 ready to import (100%)" in page
    pieces = payload_of(page)
    assert len(pieces) > 2
    assert confirm(client, pieces).status_code == 302
    assert count(db) == 3000


def test_only_staff_who_manage_leads_import(client_as, db, vendor, user_factory, org_factory):
    partner = user_factory(org_factory("reseller"), "partner_admin")
    agent = user_factory(vendor, "support_agent")
    for user in (partner, agent):
        client = client_as(user)
        with unchanged(db, counted=[Lead]):
            assert client.get("/leads/import").status_code == 403
            assert upload(client, GOOD).status_code == 403
            assert confirm(client, ["x"]).status_code == 403
    assert count(db) == 0


def test_excel_quoting_is_read_as_written(client_as, db, staff):
    """RFC 4180 as Excel writes it: a doubled quote is one quote, and a quoted field may hold
    doubled quotes and the delimiter (the sniffer, given the header alone, misread both)."""
    client = client_as(staff)
    text = (
        "company,country,product_line,notes\r\n"
        'Quote Works,DE,networking,"He said ""hi"""\r\n'
        '"Comma ""Co"", Ltd",GB,security,plain\r\n'
    )
    page = upload(client, text).get_data(as_text=True)
    assert "2 ready to import" in page
    assert confirm(client, payload_of(page)).status_code == 302
    leads = db.scalars(select(Lead).order_by(Lead.id)).all()
    assert [(lead.company, lead.notes) for lead in leads] == [
        ("Quote Works", 'He said "hi"'),
        ('Comma "Co", Ltd', "plain"),
    ]
