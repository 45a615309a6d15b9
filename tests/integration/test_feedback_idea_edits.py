"""Editing an idea on the real database: who may edit what and when, validation as when
proposing, optimistic locking (two people editing at once, and a write racing past the snapshot
check), the full-text index following an edit, and the history that keeps it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from feedback.ideas.models import Idea
from portal.audit import AuditEvent
from portal.db import unscoped
from portal.notify.models import Notification
from tests.integration import test_feedback_ideas as ideas_tests
from tests.integration.race_support import together, written_first
from tests.integration.test_feedback_ideas import propose
from tests.unchanged import unchanged


@pytest.fixture
def board(db, vendor, org_factory, user_factory):
    customer = org_factory("customer", name="Editing Customer plc")
    partner = org_factory("reseller", name="Editing Partner GmbH")
    return {
        "author": user_factory(customer, "customer_user", name="Ada Author"),
        "colleague": user_factory(customer, "customer_admin", name="Col Colleague"),
        "partner": user_factory(partner, "partner_admin", name="Pia Partner"),
        "manager": user_factory(vendor, "channel_manager", name="Mia Manager"),
        "support": user_factory(vendor, "support_agent", name="Sam Support"),
        "sales": user_factory(vendor, "sales_rep", name="Sol Sales"),
    }


def form_of(client, idea_id: int) -> dict:
    """The edit form as the browser would send it back untouched (with its snapshot)."""
    page = client.get(f"/ideas/{idea_id}/edit")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    snap = re.search(r'name="snapshot" type="hidden" value="([^"]+)"', html).group(1)
    idea = re.search(r'name="title"[^>]*value="([^"]*)"', html).group(1)
    return {"title": idea, "description": "Easier at night", "product": "networking",
            "snapshot": snap}  # fmt: skip


def fresh(db, idea_id: int) -> Idea:
    db.expire_all()
    return db.get(Idea, idea_id)


def edits_of(db, idea_id: int) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "Idea",
                AuditEvent.object_id == idea_id,
                AuditEvent.action == "idea.edited",
            )
        )
    )


def test_the_author_edits_while_under_review_and_it_is_kept_in_the_history(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    author = client_as(board["author"])
    assert 'data-testid="edit-idea"' in author.get(f"/ideas/{idea_id}").get_data(as_text=True)
    data = form_of(author, idea_id) | {
        "title": "Dark theme for the admin console",
        "description": "Easier on the eyes at night",
        "product": "security",
    }
    response = author.post(f"/ideas/{idea_id}/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"] == f"/ideas/{idea_id}"
    idea = fresh(db, idea_id)
    assert (idea.title, idea.description, idea.product) == (
        "Dark theme for the admin console",
        "Easier on the eyes at night",
        "security",
    )
    (edited,) = edits_of(db, idea_id)
    assert edited.before == {
        "title": "Dark mode for the console",
        "description": "Easier at night",
        "product": "networking",
    }
    assert edited.after["title"] == "Dark theme for the admin console"
    assert edited.actor_user_id == board["author"].id
    # An edit is no news of the idea's progress: its followers (the author) are not told.
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
    history = client_as(board["manager"]).get(f"/ideas/{idea_id}").get_data(as_text=True)
    edited_entry = " ".join(history[history.find("Idea edited") :].split())[:300]
    assert edited_entry.startswith("Idea edited</strong> by Ada Author")
    assert "Title: Dark mode for the console → Dark theme for the admin console" in edited_entry


def test_bad_input_is_refused_with_the_typed_values_kept(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    author = client_as(board["author"])
    data = form_of(author, idea_id)
    for bad, field in (
        ({"title": "Hm"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "     "}, "title"),
        ({"product": ""}, "product"),
        ({"product": "no-such-product"}, "product"),
        ({"description": "d" * 5001}, "description"),
    ):
        typed = data | bad | {"description": bad.get("description", "Typed description kept")}
        with unchanged(db, (Idea, idea_id)):
            response = author.post(f"/ideas/{idea_id}/edit", data=typed)
        assert response.status_code == 422, (bad, response.status_code)
        html = response.get_data(as_text=True)
        assert "is-invalid" in html, bad
        if field != "description":
            assert "Typed description kept" in html
    idea = fresh(db, idea_id)
    assert (idea.title, idea.product) == ("Dark mode for the console", "networking")
    assert edits_of(db, idea_id) == []


def test_others_get_403_and_nothing_changes(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    for who in ("colleague", "partner", "sales"):
        client = client_as(board[who])
        sent = {"title": f"Changed by {who}", "product": "networking", "snapshot": "x"}
        with unchanged(db, (Idea, idea_id)):
            assert client.get(f"/ideas/{idea_id}/edit").status_code == 403, who
            assert client.post(f"/ideas/{idea_id}/edit", data=sent).status_code == 403, who
        page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
        assert 'data-testid="edit-idea"' not in page, who
    assert fresh(db, idea_id).title == "Dark mode for the console"
    assert edits_of(db, idea_id) == []
    author = client_as(board["author"])
    with unchanged(db, (Idea, idea_id)):
        assert author.get("/ideas/987654321/edit").status_code == 404


def test_once_planned_only_vendor_staff_edit_and_a_duplicate_nobody(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    original = propose(client_as, board["partner"], "A dark theme everywhere")
    manager = client_as(board["manager"])
    assert manager.post(f"/ideas/{idea_id}/status", data={"status": "planned"}).status_code == 302
    author = client_as(board["author"])
    sent = {"title": "Changed after planning", "product": "networking", "snapshot": "x"}
    with unchanged(db, (Idea, idea_id)):
        assert author.get(f"/ideas/{idea_id}/edit").status_code == 403
        assert author.post(f"/ideas/{idea_id}/edit", data=sent).status_code == 403
    # Vendor staff fix the title of a planned idea (support agents run the board too).
    support = client_as(board["support"])
    data = form_of(support, idea_id) | {"title": "Dark mode for the web console"}
    assert support.post(f"/ideas/{idea_id}/edit", data=data).status_code == 302
    assert fresh(db, idea_id).title == "Dark mode for the web console"
    # A duplicate lives on in its original: refused with a clear message, nothing changes.
    stale = form_of(manager, idea_id)
    merged = manager.post(
        f"/ideas/{idea_id}/status", data={"status": "duplicate", "duplicate_of": original}
    )
    assert merged.status_code == 302
    stale["title"] = "Edited duplicate"
    with unchanged(db, (Idea, idea_id), (Idea, original)):
        refused = manager.get(f"/ideas/{idea_id}/edit", follow_redirects=True)
        assert "A duplicate stays merged into its original" in refused.get_data(as_text=True)
        refused = manager.post(f"/ideas/{idea_id}/edit", data=stale, follow_redirects=True)
    assert "A duplicate stays merged into its original" in refused.get_data(as_text=True)
    assert fresh(db, idea_id).title == "Dark mode for the web console"
    assert 'data-testid="edit-idea"' not in manager.get(f"/ideas/{idea_id}").get_data(as_text=True)


def test_two_people_editing_at_once_do_not_overwrite_each_other(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    author = client_as(board["author"])
    manager = client_as(board["manager"])
    mine, theirs = form_of(author, idea_id), form_of(manager, idea_id)
    theirs["title"] = "Dark mode for the management console"
    assert manager.post(f"/ideas/{idea_id}/edit", data=theirs).status_code == 302
    mine["title"] = "Night mode for the console"
    with unchanged(db, (Idea, idea_id)):
        stale = author.post(f"/ideas/{idea_id}/edit", data=mine)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else changed this while you were editing it" in html
    assert "Dark mode for the management console" in html  # what changed meanwhile
    assert 'value="Night mode for the console"' in html  # the person's input is kept
    assert fresh(db, idea_id).title == "Dark mode for the management console"
    # The page carries a fresh snapshot: saving again is a conscious choice, and works.
    snap = re.search(r'name="snapshot" type="hidden" value="([^"]+)"', html).group(1)
    again = author.post(f"/ideas/{idea_id}/edit", data=mine | {"snapshot": snap})
    assert again.status_code == 302
    assert fresh(db, idea_id).title == "Night mode for the console"
    # A missing or forged snapshot is a conflict too, never a blind overwrite.
    for forged in ("", "forged"):
        sent = mine | {"title": "Blind overwrite", "snapshot": forged}
        with unchanged(db, (Idea, idea_id)):
            assert author.post(f"/ideas/{idea_id}/edit", data=sent).status_code == 409
    assert len(edits_of(db, idea_id)) == 2


def test_a_write_that_races_past_the_snapshot_check_is_a_conflict(client_as, app, db, board):
    """Both requests read the idea before either wrote: the snapshot check passes for both, so
    the write itself must refuse the later one. Here the other person's write lands between
    this request's check and its own UPDATE, on the same transaction."""
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    author = client_as(board["author"])
    data = form_of(author, idea_id) | {"title": "Night mode for the console"}
    meanwhile = f"UPDATE ideas SET title = 'Dark mode, changed meanwhile' WHERE id = {idea_id}"
    with (
        unchanged(db, (Idea, idea_id)),
        written_first(app, "UPDATE ideas SET", meanwhile) as sneaked,
    ):
        response = author.post(f"/ideas/{idea_id}/edit", data=data)
    assert sneaked and response.status_code == 409
    assert "Dark mode, changed meanwhile" in response.get_data(as_text=True)
    # Nothing of this request is written (the other write shared its transaction here, so it
    # went with the rollback; between real requests it stays).
    assert fresh(db, idea_id).title == "Dark mode for the console"
    assert edits_of(db, idea_id) == []


def test_the_search_index_follows_an_edit(client_as, db, board):
    idea_id = propose(client_as, board["author"], "Dark mode for the console")
    author = client_as(board["author"])
    searcher = client_as(board["partner"])

    def found(typed: str) -> list[int]:
        response = searcher.get("/ideas/similar", query_string={"title": typed})
        assert response.status_code == 200
        return [i["id"] for i in response.get_json()]

    assert found("dark console") == [idea_id]
    data = form_of(author, idea_id) | {
        "title": "Scheduled firmware upgrades",
        "description": "Upgrade routers overnight",
    }
    assert author.post(f"/ideas/{idea_id}/edit", data=data).status_code == 302
    assert found("firmware upgrade") == [idea_id]
    assert found("routers overnight") == [idea_id]  # the description is indexed too
    assert found("dark console") == []
    assert found("easier night") == []


committed = ideas_tests.committed  # the fixture: people committed for real


def test_two_real_concurrent_edits_save_one_and_tell_the_other(client_as, app, committed):
    """Two tabs of the author save at the same moment from the same form: one edit is saved,
    the other is a clear 409, never a server error or a silent overwrite."""
    author = committed["customer"]
    idea_id = propose(client_as, author, "Concurrent edit idea")
    clients = [client_as(author) for _ in range(2)]
    forms = [form_of(c, idea_id) | {"title": f"Concurrent edit {n}"} for n, c in enumerate(clients)]
    statuses = together(
        app,
        "UPDATE ideas SET",
        [
            lambda n=n: clients[n].post(f"/ideas/{idea_id}/edit", data=forms[n]).status_code
            for n in range(2)
        ],
    )
    assert sorted(statuses) == [302, 409], statuses
    saved = statuses.index(302)
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        assert session.get(Idea, idea_id).title == f"Concurrent edit {saved}"
        edited = select(func.count()).where(
            AuditEvent.object_id == idea_id, AuditEvent.action == "idea.edited"
        )
        assert session.scalar(edited) == 1
    session.close()
