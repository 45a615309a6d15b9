"""Personal data: a person's export (a zip streamed in constant memory, holding only what is
theirs and what the asker may see) and erasure (name and address gone from every table, their
contributions kept as "Former user", the audit trail kept and the erasure itself audited),
refused while a case of theirs is under legal hold or for an organisation's last admin."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select

from feedback.ideas.models import IdeaComment, IdeaVote
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import Base
from portal.identity.models import Invitation, User, UserSession
from portal.identity.tokens import hash_token
from portal.notify.models import Notification
from portal.oauth.models import OAuthClient, OAuthToken
from selfservice.cases.models import Case, CaseAttachment, CaseComment, CaseSettings
from tests import factories
from tests.unchanged import fresh, unchanged

NAME = "Zephyrine Quortlebaum"
EMAIL = "zephyrine.q@acme-erasure.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"zephyrine-bytes" * 10


@pytest.fixture
def world(db, vendor, org_factory, user_factory, case_factory, idea_factory):
    acme = org_factory("customer", name="Acme Erasure")
    globex = org_factory("customer", name="Globex Foreign")
    w = {
        "vendor_admin": user_factory(vendor, "vendor_admin"),
        "agent": user_factory(vendor, "support_agent"),
        "acme": acme,
        "globex": globex,
        "admin": user_factory(acme, "customer_admin", name="Ada Acmeadmin"),
        "person": user_factory(acme, "customer_user", name=NAME, email=EMAIL),
        "colleague": user_factory(acme, "customer_user", name="Colin Colleague"),
        "foreigner": user_factory(globex, "customer_user", name="Fiona Foreign"),
    }
    db.add(CaseSettings(org_id=acme.id, shared=True))  # colleagues see each other's cases
    db.add(
        Invitation(
            org_id=acme.id,
            email=EMAIL,
            name=NAME,
            role="customer_user",
            token_hash="0" * 64,
            status="accepted",
            invited_by_id=w["admin"].id,
            expires_at=factories_now(),
        )
    )
    w["case"] = case_factory(
        acme,
        w["person"],
        subject="Printer on fire",
        comments=[
            {"body": "my own words about the fire", "author": w["person"]},
            {"body": "colleague secret words", "author": w["colleague"]},
        ],
    )
    w["foreign_case"] = case_factory(
        globex,
        w["foreigner"],
        subject="Globex private trouble",
        comments=[{"body": "foreign secret words", "author": w["foreigner"]}],
    )
    idea = idea_factory(w["person"], title="Zephyrine's idea")
    db.add(IdeaVote(org_id=acme.id, idea_id=idea.id, user_id=w["person"].id))
    db.add(
        IdeaComment(
            org_id=acme.id,
            idea_id=idea.id,
            author_id=w["person"].id,
            author_kind="customer",
            body="idea comment by zephyrine",
        )
    )
    db.flush()
    return w


def factories_now():
    from datetime import timedelta

    from portal.clock import utcnow

    return utcnow() + timedelta(days=7)


def _reply_with_file(client, case, body="here is the photo", name="photo.png", data=PNG):
    response = client.post(
        f"/cases/{case.id}/reply",
        data={"body": body, "files": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def _everything(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


def test_a_person_exports_their_own_data_as_a_zip_with_only_their_records(client_as, world, db):
    person = world["person"]
    browser = client_as(person)
    _reply_with_file(browser, world["case"])
    colleague = client_as(world["colleague"])
    _reply_with_file(colleague, world["case"], "colleague photo", "other.png", PNG + b"colin")

    page = browser.get("/account/data")
    assert page.status_code == 200 and "Download my data" in page.get_data(as_text=True)
    assert 'href="/account/data"' in browser.get("/home").get_data(as_text=True)  # account menu
    response = browser.post("/account/data/export")
    assert response.is_streamed
    archive = _zip(response)
    names = archive.namelist()
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == EMAIL and profile["name"] == NAME
    assert "password_hash" not in profile
    assert profile["organization"]["name"] == "Acme Erasure"

    comments = json.loads(archive.read("records/case_comments.json"))
    bodies = {c["body"] for c in comments}
    assert {"my own words about the fire", "here is the photo"} <= bodies
    assert "colleague secret words" not in bodies and "colleague photo" not in bodies
    cases = json.loads(archive.read("records/cases.json"))
    assert [c["subject"] for c in cases] == ["Printer on fire"]
    assert json.loads(archive.read("records/idea_votes.json"))
    assert "idea comment by zephyrine" in archive.read("records/idea_comments.json").decode()
    assert "records/user_sessions.json" in names  # their sign-in, without its token
    files = [n for n in names if n.startswith("files/")]
    assert len(files) == 1 and files[0].endswith("photo.png")
    assert archive.read(files[0]) == PNG

    everything = _everything(archive)
    for absent in (
        "colleague secret words",
        "colleague photo",
        "Colin Colleague",
        world["colleague"].email,
        "Globex",
        "foreign secret words",
        "Fiona Foreign",
        "token_hash",
        "password_hash",
        "$argon2",
    ):
        assert absent not in everything, absent
    exported = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "user.data_exported", AuditEvent.object_id == person.id
        )
    ).all()
    assert len(exported) == 1 and exported[0].actor_user_id == person.id


def test_an_admin_exports_a_member_but_not_a_foreign_person(client_as, world, db):
    admin = client_as(world["admin"])
    archive = _zip(admin.post(f"/admin/users/{world['person'].id}/data/export"))
    assert json.loads(archive.read("profile.json"))["email"] == EMAIL
    assert "colleague secret words" not in _everything(archive)
    page = admin.get(f"/admin/users/{world['person'].id}").get_data(as_text=True)
    assert "Download their data" in page and "Erase their data" in page
    assert admin.post(f"/admin/users/{world['foreigner'].id}/data/export").status_code == 404
    assert admin.get(f"/admin/users/{world['foreigner'].id}/erase").status_code == 404
    assert admin.post(f"/admin/users/{world['foreigner'].id}/erase").status_code == 404
    member = client_as(world["colleague"])
    assert member.post(f"/admin/users/{world['person'].id}/data/export").status_code == 403
    vendor_admin = client_as(world["vendor_admin"])
    archive = _zip(vendor_admin.post(f"/admin/users/{world['foreigner'].id}/data/export"))
    assert "foreign secret words" in _everything(archive)


def _add_attachments(db, case, person, count: int, size: int) -> None:
    comment = db.scalar(select(CaseComment).where(CaseComment.case_id == case.id).limit(1))
    blob = b"\x89PNG\r\n\x1a\n" + os.urandom(size)  # random: deflate cannot shrink it
    for n in range(count):
        db.add(
            CaseAttachment(
                org_id=case.org_id,
                case_id=case.id,
                comment_id=comment.id,
                filename=f"scan{n}.png",
                content_type="image/png",
                size=len(blob),
                sha256=hashlib.sha256(blob).hexdigest(),
                uploaded_by_id=person.id,
                content=blob,
            )
        )
        if n % 20 == 19:
            db.flush()
            db.expunge_all()
    db.flush()
    db.expunge_all()


def _peak_while_streaming(browser, url) -> tuple[int, int]:
    tracemalloc.start()
    try:
        response = browser.post(url, buffered=False)
        assert response.status_code == 200 and response.is_streamed
        sent = 0
        for chunk in response.response:
            sent += len(chunk)
        response.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return sent, peak


def test_the_export_streams_in_constant_memory(client_as, world, db, case_factory, capsys):
    """1 attachment of 256 KB, then 200: the bytes sent grow 200-fold, the memory peak not."""
    person = world["person"]
    browser = client_as(person)
    size = 256 * 1024
    _add_attachments(db, world["case"], person, 1, size)
    sent_one, peak_one = _peak_while_streaming(browser, "/account/data/export")
    other = case_factory(world["acme"], person, subject="Many files", comments=["files here"])
    _add_attachments(db, other, person, 199, size)
    sent_many, peak_many = _peak_while_streaming(browser, "/account/data/export")
    with capsys.disabled():
        print(
            f"\nexport of 1 file: {sent_one / 1e6:.1f} MB sent, peak {peak_one / 1e6:.2f} MB; "
            f"200 files: {sent_many / 1e6:.1f} MB sent, peak {peak_many / 1e6:.2f} MB"
        )
    assert sent_many > 150 * sent_one
    assert peak_many < 3 * 1024 * 1024, "memory grows with the files: not streamed"
    assert peak_many < peak_one * 2 + 1024 * 1024


def _string_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON):
                yield table, column


def _where_found(db, needles: list[str]) -> list[str]:
    """Every table.column whose stored text holds one of ``needles`` (case-insensitive)."""
    fresh(db)
    found = []
    for table, column in _string_columns():
        text_of = func.lower(cast(column, Text))
        for needle in needles:
            hits = db.scalar(
                select(func.count()).select_from(table).where(text_of.contains(needle.lower()))
            )
            if hits:
                found.append(f"{table.name}.{column.name} ({needle!r}: {hits})")
    return found


def _needles(*values: str) -> list[str]:
    out = []
    for value in values:
        out += [value, json.dumps(value)[1:-1]]
    return list(dict.fromkeys(out))


def test_erasure_anonymises_the_person_everywhere_and_keeps_their_contributions(
    client, client_as, world, db, mailbox
):
    person, admin_user = world["person"], world["admin"]
    person_browser = client_as(person)
    _reply_with_file(person_browser, world["case"], f"Regards, {NAME}")  # agents are told
    admin = client_as(admin_user)
    # The trail holds copies of the name and address (a role change snapshots them).
    assert (
        admin.post(f"/admin/users/{person.id}/role", data={"role": "customer_admin"}).status_code
        == 302
    )
    assert (
        admin.post(f"/admin/users/{person.id}/role", data={"role": "customer_user"}).status_code
        == 302
    )
    person_browser = client_as(person)
    assert person_browser.post("/account/data/erasure-request").status_code == 302
    told = db.scalars(
        select(Notification).where(
            Notification.user_id == admin_user.id, Notification.kind == "admin.erasure_requested"
        )
    ).all()
    assert told and NAME in told[0].title
    # An app the person authorised holds a token for them.
    app_client = OAuthClient(
        org_id=person.org_id, client_id="h5-app", name="Their app", scopes="cases:read"
    )
    db.add(app_client)
    db.flush()
    db.add(
        OAuthToken(
            org_id=person.org_id,
            client_pk=app_client.id,
            user_id=person.id,
            access_token_hash=hash_token("erasure-test-token"),
            scope="cases:read",
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.flush()
    bearer = {"Authorization": "Bearer erasure-test-token"}
    assert client.get("/api/v1/cases", headers=bearer).status_code == 200
    assert _where_found(db, _needles(EMAIL, NAME)), "the world holds the person to begin with"
    events_before = db.scalar(select(func.count()).select_from(AuditEvent))

    page = admin.get(f"/admin/users/{person.id}/erase")
    assert page.status_code == 200 and "Type the person" in page.get_data(as_text=True)
    wrong = admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": "nope"})
    assert wrong.status_code == 422
    response = admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": EMAIL})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]

    assert _where_found(db, _needles(EMAIL, NAME)) == []
    fresh(db)
    user = db.get(User, person.id)
    assert user.name == "Former user" and user.email == f"erased-{person.id}@invalid"
    assert user.password_hash is None and not user.active and user.erased_at is not None
    assert db.scalar(select(func.count()).where(UserSession.user_id == person.id)) == 0
    assert db.scalar(select(func.count()).where(Notification.user_id == person.id)) == 0
    assert db.scalar(select(func.count()).where(OAuthToken.user_id == person.id)) == 0
    assert client.get("/api/v1/cases", headers=bearer).status_code == 401
    # Their contributions stay, theirs still, shown as "Former user".
    comments = db.scalars(select(CaseComment).where(CaseComment.author_id == person.id)).all()
    assert {"my own words about the fire", "Regards, Former user"} <= {c.body for c in comments}
    assert db.scalar(select(func.count()).where(IdeaVote.user_id == person.id)) == 1
    assert db.get(Case, world["case"].id).requester_id == person.id
    agent_page = client_as(world["agent"]).get(f"/cases/{world['case'].id}")
    text = agent_page.get_data(as_text=True)
    assert "my own words about the fire" in text and "Former user" in text and NAME not in text
    # The trail: every event kept, one more for the erasure, naming nobody.
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events_before + 1
    erased = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.erased"))
    assert erased.actor_user_id == admin_user.id and erased.object_id == person.id
    assert erased.after["audit_events_redacted"] >= 2
    role_changes = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "user.role_changed", AuditEvent.object_id == person.id)
        .order_by(AuditEvent.id)  # the first change first, on PostgreSQL too
    ).all()
    assert len(role_changes) == 2
    assert role_changes[0].after["email"] == f"erased-{person.id}@invalid"
    assert role_changes[0].after["role"] == "customer_admin"  # the change itself is kept
    # Sign-in impossible, the old browser signed out.
    assert person_browser.get("/account").status_code == 302
    for address in (EMAIL, f"erased-{person.id}@invalid"):
        failed = person_browser.post(
            "/login", data={"email": address, "password": factories.PASSWORD}
        )
        assert failed.status_code == 422
    # Erased once: the page says so, a second erasure changes nothing.
    again = admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": "x"})
    assert again.status_code == 200 and "already erased" in again.get_data(as_text=True)


def test_erasure_is_refused_while_a_case_of_theirs_is_under_legal_hold(client_as, world, db):
    person, case = world["person"], world["case"]
    vendor_admin = client_as(world["vendor_admin"])
    response = vendor_admin.post(
        f"/cases/{case.id}/legal-hold", data={"reason": "Litigation 2026-17"}
    )
    assert response.status_code == 302
    fresh(db)
    held = db.get(Case, case.id)
    assert held.legal_hold and held.legal_hold_by_id == world["vendor_admin"].id
    assert held.legal_hold_reason == "Litigation 2026-17" and held.legal_hold_at is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "case.legal_hold_set"))
    page = vendor_admin.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Under legal hold since" in page and "Lift the legal hold" in page
    # Only vendor admins set it.
    agent = client_as(world["agent"])
    assert agent.post(f"/cases/{case.id}/legal-hold/clear").status_code == 403

    admin = client_as(world["admin"])
    page = admin.get(f"/admin/users/{person.id}/erase").get_data(as_text=True)
    assert "Under legal hold" in page and case.number in page
    with unchanged(db, (User, person.id), (Case, case.id), counted=[UserSession, CaseComment]):
        refused = admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": EMAIL})
        assert refused.status_code == 409
        assert "legal hold" in refused.get_data(as_text=True)
        refused = vendor_admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": EMAIL})
        assert refused.status_code == 409
    assert client_as(person).get("/account").status_code == 200  # still signed in

    assert vendor_admin.post(f"/cases/{case.id}/legal-hold/clear").status_code == 302
    fresh(db)
    assert not db.get(Case, case.id).legal_hold
    done = admin.post(f"/admin/users/{person.id}/erase", data={"confirmation": EMAIL})
    assert done.status_code == 302


def test_the_last_admin_and_oneself_are_not_erased(client_as, world, db):
    admin_user = world["admin"]
    vendor_admin = client_as(world["vendor_admin"])
    admin = client_as(admin_user)
    with unchanged(db, (User, admin_user.id)):
        refused = vendor_admin.post(
            f"/admin/users/{admin_user.id}/erase", data={"confirmation": admin_user.email}
        )
        assert refused.status_code == 409
        assert "last admin" in refused.get_data(as_text=True)
        assert (
            admin.post(
                f"/admin/users/{admin_user.id}/erase", data={"confirmation": admin_user.email}
            ).status_code
            == 403
        )
