"""The new-case form (issue 13, item 7): files go with the case's description through the same
checks and limits as a reply's, in a multipart form that keeps its CSRF token; a refused file
says why, keeps what was typed and writes nothing; the suggested articles come before the button
in the page (a phone shows the page in that order)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from selfservice.cases.models import Case, CaseAttachment, CaseComment
from tests.integration.test_cases import PNG, load, make_people
from tests.unchanged import unchanged


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


def new_case(client, files, **fields):
    return client.post(
        "/cases/new",
        data={
            "subject": "Scanner jams on A3",
            "description": "My careful description QXR of the jam.",
            "priority": "normal",
            "product": "",
            "files": files,
            **fields,
        },
        content_type="multipart/form-data",
    )


def cases(db) -> int:
    return db.scalar(select(func.count()).select_from(Case))


def test_a_case_opens_with_its_files_shown_under_the_description(client_as, db, people):
    customer = client_as(people.customer_user)
    form = customer.get("/cases/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'name="files"' in form
    response = new_case(
        customer,
        [(io.BytesIO(PNG), "jam photo.png"), (io.BytesIO(b"E42 paper path\n"), "scanner.log")],
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    files = db.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case_id).order_by(CaseAttachment.id)
    ).all()
    assert [(f.filename, f.comment_id, f.internal, f.size) for f in files] == [
        ("jam_photo.png", None, False, len(PNG)),
        ("scanner.log", None, False, 15),
    ]
    assert all(f.org_id == people.customer.id for f in files)
    assert all(f.uploaded_by_id == people.customer_user.id for f in files)
    assert db.scalar(select(CaseComment).where(CaseComment.case_id == case_id)) is None
    page = customer.get(f"/cases/{case_id}").get_data(as_text=True)
    card = page.split('data-testid="description"', 1)[1].split("</article>", 1)[0]
    assert f'href="/cases/attachments/{files[0].id}" data-testid="attachment">jam_photo.png' in card
    download = client_as(people.agent).get(f"/cases/attachments/{files[1].id}")
    assert download.status_code == 200 and download.data == b"E42 paper path\n"
    colleague = client_as(people.colleague)  # same organisation, cases not shared: 404
    with unchanged(db, files[0]):
        assert colleague.get(f"/cases/attachments/{files[0].id}").status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("tool.exe", b"MZ....")], "tool.exe: this type of file is not accepted"),
        ([("fake.png", b"<html>not a png</html>")], "fake.png is not the kind of file"),
        ([("big.txt", b"x" * (10 * 1024 * 1024 + 1))], "big.txt is larger than 10 MB"),
        ([("ok.txt", b"fine")] + [(f"n{i}.txt", b"n") for i in range(5)], "at most 5 files"),
    ],
)
def test_a_refused_file_says_why_keeps_the_text_and_writes_nothing(
    client_as, db, people, files, message
):
    customer = client_as(people.customer_user)
    before = cases(db)
    with unchanged(db, counted=[Case, CaseAttachment, CaseComment]):
        response = new_case(customer, [(io.BytesIO(data), name) for name, data in files])
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "My careful description QXR of the jam." in html and "Scanner jams on A3" in html
    assert cases(db) == before


def test_the_new_case_form_keeps_its_csrf_token(client_as, app, db, people):
    customer = client_as(people.customer_user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with unchanged(db, counted=[Case, CaseAttachment]):
            refused = new_case(customer, [(io.BytesIO(PNG), "a.png")])
        assert refused.status_code in (400, 422)
        page = customer.get("/cases/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        sent = new_case(customer, [(io.BytesIO(PNG), "a.png")], csrf_token=token)
        assert sent.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    case_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    assert load(db, case_id).subject == "Scanner jams on A3"
    assert db.scalar(select(CaseAttachment.filename).where(CaseAttachment.case_id == case_id))


def test_suggestions_come_before_the_button_and_the_draft_is_kept(client_as, db, people):
    html = client_as(people.customer_user).get("/cases/new").get_data(as_text=True)
    # In the page's order (a phone stacks it so): the fields, the suggestions, then the button,
    # which sends the form from outside it.
    assert html.index('id="case-form"') < html.index('id="suggestions"')
    assert html.index('id="suggestions"') < html.index('form="case-form"')
    assert f'data-draft="case-draft:{people.customer_user.id}"' in html
    assert "selfservice-suggest.js" in html
