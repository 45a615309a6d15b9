"""The ideas board on the real database: proposing, one vote per person (also under two
concurrent requests), votes subscribe, statuses notify through the loopback SMTP server,
duplicates merge without double counting, and authors' organisations stay with vendor staff."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, select

from feedback.ideas.models import Idea, IdeaComment, IdeaSubscription, IdeaVote
from portal import jobs
from portal.clock import utcnow
from portal.db import Base, unscoped
from portal.engine import make_engine
from portal.notify.models import Notification
from tests import factories
from tests.unchanged import unchanged


@pytest.fixture
def board(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller", name="Ideas Partner Visible-To-Vendor-Only GmbH")
    customer = org_factory("customer", name="Ideas Customer Hidden plc")
    other = org_factory("customer", name="Other Customer Elsewhere AG")
    return {
        "manager": user_factory(vendor, "channel_manager"),
        "partner": user_factory(partner, "partner_user", name="Pat Partner"),
        "customer": user_factory(customer, "customer_user", name="Cas Customer"),
        "customer2": user_factory(customer, "customer_admin", name="Cam Colleague"),
        "other": user_factory(other, "customer_user", name="Oli Other"),
        "orgs": {"partner": partner, "customer": customer, "other": other},
    }


def propose(client_as, user, title="Dark mode for the console", product="networking") -> int:
    page = client_as(user).post(
        "/ideas/new", data={"title": title, "description": "Easier at night", "product": product}
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:400]
    return int(page.headers["Location"].rsplit("/", 1)[1])


def votes_of(db, idea_id) -> set[int]:
    return set(db.scalars(select(IdeaVote.user_id).where(IdeaVote.idea_id == idea_id)))


def subscribers_of(db, idea_id) -> set[int]:
    return set(
        db.scalars(select(IdeaSubscription.user_id).where(IdeaSubscription.idea_id == idea_id))
    )


def count_of(db, idea_id) -> int:
    db.expire_all()
    return db.get(Idea, idea_id).vote_count


def tick_trending(app) -> int:
    with app.app_context():
        return jobs.run_periodic(["ideas_trending"])["ideas_trending"]


def test_a_partner_proposes_and_follows_and_bad_input_is_refused(client_as, db, board):
    client = client_as(board["partner"])
    with unchanged(db, counted=[Idea, IdeaSubscription]):
        refused = client.post("/ideas/new", data={"title": "Hm", "product": ""})
    assert refused.status_code == 422
    assert db.scalar(select(func.count()).select_from(Idea)) == 0
    idea_id = propose(client_as, board["partner"])
    idea = db.get(Idea, idea_id)
    assert (idea.status, idea.org_id, idea.vote_count) == (
        "under_review",
        board["orgs"]["partner"].id,
        0,
    )
    assert subscribers_of(db, idea_id) == {board["partner"].id}
    manager = client_as(board["manager"])
    with unchanged(db, idea, counted=[Idea, IdeaSubscription]):
        assert manager.get("/ideas/new").status_code == 403


def test_one_vote_per_person_and_voting_subscribes(client_as, db, board):
    idea_id = propose(client_as, board["partner"])
    client = client_as(board["customer"])
    assert client.post(f"/ideas/{idea_id}/vote").status_code == 302
    assert client.post(f"/ideas/{idea_id}/vote").status_code == 302
    assert count_of(db, idea_id) == 1
    assert votes_of(db, idea_id) == {board["customer"].id}
    assert board["customer"].id in subscribers_of(db, idea_id)
    client_as(board["customer2"]).post(f"/ideas/{idea_id}/vote")
    assert count_of(db, idea_id) == 2
    manager = client_as(board["manager"])
    with unchanged(db, (Idea, idea_id), counted=[IdeaVote, IdeaSubscription]):
        assert manager.post(f"/ideas/{idea_id}/vote").status_code == 403


def test_following_unfollowing_and_an_empty_comment(client_as, db, board):
    idea_id = propose(client_as, board["partner"])
    client = client_as(board["other"])
    assert client.post(f"/ideas/{idea_id}/follow").status_code == 302
    assert board["other"].id in subscribers_of(db, idea_id)
    assert client.post(f"/ideas/{idea_id}/follow").status_code == 302  # twice: still one
    assert (
        db.scalar(
            select(func.count())
            .select_from(IdeaSubscription)
            .where(IdeaSubscription.user_id == board["other"].id)
        )
        == 1
    )
    assert client.post(f"/ideas/{idea_id}/unfollow").status_code == 302
    assert board["other"].id not in subscribers_of(db, idea_id)
    with unchanged(db, (Idea, idea_id), counted=[IdeaComment, IdeaSubscription]):
        refused = client.post(f"/ideas/{idea_id}/comment", data={"body": "   "})
    assert refused.status_code == 422
    assert db.scalar(select(func.count()).select_from(IdeaComment)) == 0


def test_authors_organisations_are_shown_to_vendor_staff_only(client_as, db, board):
    idea_id = propose(client_as, board["partner"])
    client_as(board["partner"]).post(f"/ideas/{idea_id}/comment", data={"body": "Please!"})
    partner_org = board["orgs"]["partner"].name
    for who in ("customer", "other"):
        client = client_as(board[who])
        for path in ("/ideas/", f"/ideas/{idea_id}", "/ideas/?sort=trending"):
            body = client.get(path).get_data(as_text=True)
            assert "Dark mode for the console" in body  # the board is shared
            assert partner_org not in body and "Pat Partner" not in body, path
        assert "A partner" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    vendor_view = client_as(board["manager"]).get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert partner_org in vendor_view and "Pat Partner" in vendor_view
    # A colleague's name is no secret inside one's own organisation.
    client_as(board["customer"]).post(f"/ideas/{idea_id}/comment", data={"body": "Yes"})
    colleague_view = client_as(board["customer2"]).get(f"/ideas/{idea_id}")
    assert "Cas Customer" in colleague_view.get_data(as_text=True)
    assert "Cas Customer" not in client_as(board["other"]).get(f"/ideas/{idea_id}").get_data(
        as_text=True
    )


def test_status_changes_notify_subscribers_in_app_and_by_email(client_as, db, board, mailbox):
    idea_id = propose(client_as, board["partner"])
    client_as(board["customer"]).post(f"/ideas/{idea_id}/vote")
    manager = client_as(board["manager"])
    with unchanged(db, (Idea, idea_id), counted=[IdeaSubscription]):
        refused = manager.post(
            f"/ideas/{idea_id}/status", data={"status": "declined", "reason": ""}
        )
    assert refused.status_code == 422
    assert "Say why the idea is declined." in refused.get_data(as_text=True)
    assert db.get(Idea, idea_id).status == "under_review"
    assert manager.post(f"/ideas/{idea_id}/status", data={"status": "planned"}).status_code == 302
    assert count_of(db, idea_id) == 1 and db.get(Idea, idea_id).status == "planned"
    for user in (board["partner"], board["customer"]):
        titles = db.scalars(select(Notification.title).where(Notification.user_id == user.id))
        assert "Idea “Dark mode for the console” is now Planned" in list(titles)
        (email,) = mailbox.to(user.email)
        assert "is now Planned" in email["Subject"]
        assert f"http://portal.test/ideas/{idea_id}" in email.get_content()
    assert not mailbox.to(board["other"].email)
    mailbox.clear()
    manager.post(
        f"/ideas/{idea_id}/status", data={"status": "declined", "reason": "Not on our roadmap"}
    )
    assert "Reason: Not on our roadmap" in mailbox.to(board["customer"].email)[0].get_content()
    # Votes close with the idea.
    late = client_as(board["customer2"])
    with unchanged(db, (Idea, idea_id), counted=[IdeaVote, IdeaSubscription]):
        late.post(f"/ideas/{idea_id}/vote")
    assert count_of(db, idea_id) == 1
    customer = client_as(board["customer"])
    with unchanged(db, (Idea, idea_id), counted=[IdeaSubscription]):
        refused = customer.post(f"/ideas/{idea_id}/status", data={"status": "done"})
    assert refused.status_code == 403


def test_a_duplicate_moves_votes_and_subscribers_without_double_counting(
    client_as, db, board, mailbox
):
    original = propose(client_as, board["partner"], "Dark mode for the console")
    duplicate = propose(client_as, board["other"], "A dark theme please")
    for who, ideas in (
        ("customer", (original, duplicate)),  # voted for both: counts once afterwards
        ("customer2", (duplicate,)),
        ("partner", (original,)),
    ):
        client = client_as(board[who])
        for idea_id in ideas:
            client.post(f"/ideas/{idea_id}/vote")
    assert (count_of(db, original), count_of(db, duplicate)) == (2, 2)
    manager = client_as(board["manager"])
    both = (Idea, original), (Idea, duplicate)
    with unchanged(db, *both, counted=[IdeaVote, IdeaSubscription]):
        missing = manager.post(
            f"/ideas/{duplicate}/status", data={"status": "duplicate", "duplicate_of": "987654"}
        )
        itself = manager.post(
            f"/ideas/{duplicate}/status", data={"status": "duplicate", "duplicate_of": duplicate}
        )
    assert missing.status_code == 422
    assert itself.status_code == 422
    merged = manager.post(
        f"/ideas/{duplicate}/status", data={"status": "duplicate", "duplicate_of": original}
    )
    assert merged.status_code == 302
    expected = {board["customer"].id, board["customer2"].id, board["partner"].id}
    assert votes_of(db, original) == expected and count_of(db, original) == 3
    assert votes_of(db, duplicate) == set() and count_of(db, duplicate) == 0
    assert subscribers_of(db, original) == expected | {board["other"].id}
    assert subscribers_of(db, duplicate) == set()
    assert db.scalar(select(func.count()).select_from(IdeaVote)) == 3
    (told,) = mailbox.to(board["customer2"].email)
    assert "your vote and your subscription moved there" in told.get_content()
    assert f"/ideas/{original}" in told.get_content()
    with unchanged(db, *both, counted=[IdeaVote, IdeaSubscription]):
        reopened = manager.post(f"/ideas/{duplicate}/status", data={"status": "planned"})
    assert reopened.status_code == 422
    # The board leaves duplicates out unless asked for them.
    body = client_as(board["customer"]).get("/ideas/").get_data(as_text=True)
    assert "A dark theme please" not in body
    listed = client_as(board["customer"]).get("/ideas/?status=duplicate")
    assert "A dark theme please" in listed.get_data(as_text=True)


def test_sorts_and_filters(client_as, app, db, board):
    old = propose(client_as, board["partner"], "Old idea with many votes", "security")
    new = propose(client_as, board["customer"], "New idea trending now", "cloud")
    for who in ("customer", "customer2", "other"):
        client_as(board[who]).post(f"/ideas/{old}/vote")
    client_as(board["other"]).post(f"/ideas/{new}/vote")
    client_as(board["partner"]).post(f"/ideas/{new}/vote")
    # The old idea's votes are from long ago: trending counts the last 14 days only.
    for vote in db.scalars(select(IdeaVote).where(IdeaVote.idea_id == old)):
        vote.created_at = utcnow() - timedelta(days=30)
    db.flush()
    tick_trending(app)  # trending is a stored count: the tick takes aged votes out of it
    client = client_as(board["other"])

    def order(query):
        body = client.get(f"/ideas/{query}").get_data(as_text=True)
        return sorted(("Old idea", "New idea"), key=body.index)

    assert order("?sort=votes") == ["Old idea", "New idea"]
    assert order("?sort=trending") == ["New idea", "Old idea"]
    assert order("?sort=newest") == ["New idea", "Old idea"]
    body = client.get("/ideas/?product=cloud").get_data(as_text=True)
    assert "New idea" in body and "Old idea" not in body
    body = client.get("/ideas/?status=planned").get_data(as_text=True)
    assert "New idea" not in body and "Old idea" not in body


def test_similar_ideas_are_suggested_by_title(client_as, db, board):
    first = propose(client_as, board["partner"], "Dark mode for the console")
    propose(client_as, board["other"], "Export invoices to CSV", "services")
    merged = propose(client_as, board["other"], "A dark mode console theme")
    client_as(board["manager"]).post(
        f"/ideas/{merged}/status", data={"status": "duplicate", "duplicate_of": first}
    )
    client = client_as(board["customer"])
    found = client.get("/ideas/similar?title=console+dark+mode").get_json()
    assert [i["title"] for i in found] == ["Dark mode for the console"]  # not the duplicate
    assert found[0]["url"] == f"/ideas/{first}" and found[0]["status"] == "Under review"
    assert client.get("/ideas/similar?title=abc").get_json() == []
    assert client.get("/ideas/similar?title=payroll+integration").get_json() == []
    manager = client_as(board["manager"])
    with unchanged(db):
        assert manager.get("/ideas/similar?title=dark").status_code == 403


def test_similar_ideas_use_the_knowledge_base_search(client_as, db, board):
    """portal.search, as the help centre: title before description, stemmed words, and what
    people type never reaches the engine's query syntax."""
    in_description = propose(client_as, board["partner"], "Quieter alerts", "services")
    db.get(Idea, in_description).description = "Group printer alerts by site"
    propose(client_as, board["other"], "Printer alerts by email", "services")
    db.flush()
    client = client_as(board["customer"])

    def titles(typed):
        response = client.get("/ideas/similar", query_string={"title": typed})
        assert response.status_code == 200
        return [i["title"] for i in response.get_json()]

    assert titles("printers alerting") == ["Printer alerts by email", "Quieter alerts"]
    assert titles('"printer" OR alerts* NEAR(') == ["Printer alerts by email", "Quieter alerts"]
    assert titles("Grouping sites") == ["Quieter alerts"]  # found by its description
    assert titles("'); --") == []


def test_analytics_shows_top_ideas_per_product(client_as, db, board):
    propose(client_as, board["partner"], "Better VPN logs", "security")
    page = client_as(board["manager"]).get("/feedback/analytics")
    assert page.status_code == 200
    assert "Better VPN logs" in page.get_data(as_text=True)


# Two real concurrent requests: committed rows, real connections, cleaned up afterwards.


@pytest.fixture
def committed(app):
    """Organisations and users committed for real (the concurrent requests need their own
    connections), removed again afterwards by a connection that row-level security does not
    bind."""
    session = app.extensions["db"].session_factory()
    made: list[int] = []
    with unscoped(session):
        partner = factories.make_org(session, "reseller", name="Concurrent Partner Ltd")
        customer = factories.make_org(session, "customer", name="Concurrent Customer plc")
        made += [partner.id, customer.id]
        people = {
            "partner": factories.make_user(session, partner, "partner_user"),
            "customer": factories.make_user(session, customer, "customer_user"),
        }
        session.commit()
    session.close()
    yield people
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if "org_id" in table.c:
                conn.execute(delete(table).where(table.c.org_id.in_(made)))
        organizations = Base.metadata.tables["organizations"]
        conn.execute(delete(organizations).where(organizations.c.id.in_(made)))
    admin.dispose()


def at_once(app, clients, path: str, statement: str) -> list[int]:
    """POST ``path`` from each client in its own thread, the requests held together just before
    they run ``statement`` (a prefix of SQL); the answers' status codes."""
    engine = app.extensions["db"].engine
    barrier = threading.Barrier(len(clients))

    def together(conn, cursor, sql, parameters, context, executemany):
        if sql.startswith(statement):
            # A broken barrier: the other request waits on a lock before its statement
            # (SQLite's single writer); the two still overlap.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    statuses: list[int] = []

    def post(client):
        statuses.append(client.post(path).status_code)

    event.listen(engine, "before_cursor_execute", together)
    try:
        threads = [threading.Thread(target=post, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", together)
    return statuses


def counted(app, idea_id: int) -> tuple[int, int, int]:
    """Votes of the idea in the table, its vote count and its trending count (committed)."""
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        rows = session.scalar(
            select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea_id)
        )
        idea = session.get(Idea, idea_id)
        result = (rows, idea.vote_count, idea.recent_vote_count)
    session.close()
    return result


def test_two_concurrent_votes_of_one_person_count_once(client_as, app, committed):
    idea_id = propose(client_as, committed["partner"], "Concurrent idea")
    # Two sign-ins of one person (a double click, two tabs), each its own session and connection.
    clients = [client_as(committed["customer"]) for _ in range(2)]
    statuses = at_once(app, clients, f"/ideas/{idea_id}/vote", "INSERT INTO idea_votes")
    assert statuses == [302, 302]
    assert counted(app, idea_id) == (1, 1, 1)
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        assert (
            session.scalar(
                select(func.count())
                .select_from(IdeaSubscription)
                .where(IdeaSubscription.user_id == committed["customer"].id)
            )
            == 1
        )
    session.close()


def test_two_concurrent_removals_of_one_vote_uncount_it_once(client_as, app, committed):
    idea_id = propose(client_as, committed["partner"], "Concurrent removal")
    client_as(committed["partner"]).post(f"/ideas/{idea_id}/vote")  # stays
    clients = [client_as(committed["customer"]) for _ in range(2)]
    clients[0].post(f"/ideas/{idea_id}/vote")
    assert counted(app, idea_id) == (2, 2, 2)
    statuses = at_once(app, clients, f"/ideas/{idea_id}/unvote", "DELETE FROM idea_votes")
    assert statuses == [302, 302]
    assert counted(app, idea_id) == (1, 1, 1)
