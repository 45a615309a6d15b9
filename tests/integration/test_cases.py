"""Cases on the real database, through the pages: opening, SLA policies and clocks with a frozen
clock, replies and internal notes, reopening, the tick (warnings, breaches, auto-close),
assignment, merging and concurrent edits. The vendor's calendar here is the default: Monday to
Friday, 09:00-17:00 UTC; the default policies give normal priority 8 h first response and 40 h
resolution, urgent 1 h and 8 h; pending stops resolution only, on hold both."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal import jobs
from portal.notify.models import Notification
from selfservice.cases.models import Case, CaseAttachment, CaseComment, CaseWatcher
from tests.factories import make_product
from tests.unchanged import unchanged

MONDAY_10 = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


def make_people(vendor, org_factory, user_factory):
    """A customer managed by a reseller, its users, two support agents, a channel manager."""

    class People:
        partner = org_factory("reseller", name="Managing Reseller", tier="gold")
        customer = org_factory("customer", name="Acme Customer", managed_by_id=partner.id)
        agent = user_factory(vendor, "support_agent", email="agent@vendor.test")
        agent2 = user_factory(vendor, "support_agent", email="agent2@vendor.test")
        manager = user_factory(vendor, "channel_manager")

    People.customer_user = user_factory(People.customer, "customer_user", email="cu@acme.test")
    People.colleague = user_factory(People.customer, "customer_user", email="col@acme.test")
    People.customer_admin = user_factory(People.customer, "customer_admin", email="ca@acme.test")
    People.partner_user = user_factory(People.partner, "partner_user", email="pu@reseller.test")
    return People


def open_case(client_as, user, subject="Printer queue stalls", priority="normal", **extra) -> Case:
    client = client_as(user)
    response = client.post(
        "/cases/new",
        data={
            "subject": subject,
            "description": "It **stalls** every morning.",
            "priority": priority,
            "product": "",
            **extra,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return case_id


STATUS_SNAPSHOT = re.compile(r'name="status_snapshot" type="hidden" value="([^"]+)"')
EDIT_SNAPSHOT = re.compile(r'name="snapshot" type="hidden" value="([^"]+)"')


def set_status(client, case_id: int, status: str):
    """Post a status from the case page as the person sees it (with its snapshot, if the page
    shows them a status form)."""
    found = STATUS_SNAPSHOT.search(client.get(f"/cases/{case_id}").get_data(as_text=True))
    seen = {"status_snapshot": found.group(1)} if found else {}
    return client.post(f"/cases/{case_id}/status", data={"status": status, **seen})


def load(db, case_id) -> Case:
    db.expire_all()
    return db.get(Case, case_id)


def tick(app, *names):
    with app.app_context():
        return jobs.run_periodic(list(names) or ["case_sla", "close_solved_cases"])


def test_opening_a_case_chooses_the_policy_and_sets_due_times(
    client_as, db, people, clock, mailbox
):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    case = load(db, case_id)
    assert re.fullmatch(r"CS-2027-\d{6}", case.number)
    assert case.status == "new" and case.requester_id == people.customer_user.id
    assert case.sla_policy.name == "Urgent"
    assert case.first_response_due_at == at(2027, 3, 1, 11)
    assert case.resolution_due_at == at(2027, 3, 2, 10)  # 7 h Monday, 1 h Tuesday
    assert mailbox.to("agent@vendor.test") and mailbox.to("agent2@vendor.test")
    (confirmation,) = mailbox.to("cu@acme.test")
    assert case.number in confirmation["Subject"]


def test_bad_input_keeps_what_was_typed(client_as, db, people, clock):
    client = client_as(people.customer_user)
    with unchanged(db, counted=[Case]):
        response = client.post("/cases/new", data={"subject": "ab", "description": "Some words"})
    assert response.status_code == 422
    assert "Some words" in response.get_data(as_text=True)
    assert db.scalar(select(Case).where(Case.org_id == people.customer.id)) is None


def test_agent_reply_meets_first_response_and_internal_note_never_reaches_the_customer(
    client_as, db, people, clock, mailbox
):
    case_id = open_case(client_as, people.customer_user)
    mailbox.clear()
    clock.shift(timedelta(hours=2))
    agent = client_as(people.agent)
    assert (
        agent.post(
            f"/cases/{case_id}/reply", data={"body": "Try restarting the spooler."}
        ).status_code
        == 302
    )
    assert (
        agent.post(
            f"/cases/{case_id}/reply",
            data={"body": "Secret ZZQ-NOTE: known bug 4711", "internal": "y"},
        ).status_code
        == 302
    )
    case = load(db, case_id)
    assert case.first_responded_at == MONDAY_10 + timedelta(hours=2)
    assert case.status == "open"
    assert not case.first_response_breached
    # The customer's email has the reply, no email carries the note to the customer side.
    to_customer = mailbox.to("cu@acme.test")
    assert len(to_customer) == 1 and "restarting the spooler" in to_customer[0].get_content()
    assert all("ZZQ-NOTE" not in m.get_content() for m in mailbox if "acme.test" in m["To"])
    assert any("ZZQ-NOTE" in m.get_content() for m in mailbox.to("agent2@vendor.test"))
    # Pages: the customer, the managing partner and the customer admin see the reply, not the note.
    for user in (people.customer_user, people.partner_user, people.customer_admin):
        page = client_as(user).get(f"/cases/{case_id}").get_data(as_text=True)
        assert "restarting the spooler" in page
        assert "ZZQ-NOTE" not in page
    agent_page = agent.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "ZZQ-NOTE" in agent_page
    # Nor does the customer's in-app notification list mention it.
    titles = db.scalars(
        select(Notification.body).where(Notification.user_id == people.customer_user.id)
    ).all()
    assert all("ZZQ-NOTE" not in (t or "") for t in titles)


def test_customers_cannot_write_internal_notes(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    client = client_as(people.customer_user)
    client.post(f"/cases/{case_id}/reply", data={"body": "sneaky", "internal": "y"})
    assert db.scalar(select(CaseComment).where(CaseComment.internal.is_(True))) is None


def test_customer_reply_reopens_pending_and_solved_but_not_closed(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    agent = client_as(people.agent)
    customer = client_as(people.customer_user)
    agent.post(f"/cases/{case_id}/reply", data={"body": "Which version?", "status": "pending"})
    assert load(db, case_id).status == "pending"
    customer.post(f"/cases/{case_id}/reply", data={"body": "Version 5."})
    assert load(db, case_id).status == "open"
    set_status(agent, case_id, "solved")
    assert load(db, case_id).status == "solved"
    customer.post(f"/cases/{case_id}/reply", data={"body": "It is back."})
    case = load(db, case_id)
    assert case.status == "open" and case.solved_at is None
    set_status(agent, case_id, "solved")
    set_status(agent, case_id, "closed")
    with unchanged(db, (Case, case_id), counted=[CaseComment]):
        response = customer.post(f"/cases/{case_id}/reply", data={"body": "Once more"})
    assert response.status_code == 422
    assert "closed" in response.get_data(as_text=True)
    assert load(db, case_id).status == "closed"


def test_the_partner_follows_read_only(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    partner = client_as(people.partner_user)
    page = partner.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'data-testid="read-only"' in page.get_data(as_text=True)
    with unchanged(db, (Case, case_id), counted=[CaseComment]):
        assert partner.post(f"/cases/{case_id}/reply", data={"body": "hello"}).status_code == 403
        assert set_status(partner, case_id, "solved").status_code == 403
    assert load(db, case_id).status == "new"


def test_pending_stops_resolution_but_not_first_response(client_as, app, db, people, clock):
    case_id = open_case(client_as, people.customer_user)  # normal: 8 h / 40 h
    agent = client_as(people.agent)
    set_status(agent, case_id, "pending")
    clock.shift(timedelta(hours=3))
    case = load(db, case_id)
    from selfservice.cases import services

    with app.app_context():
        states = services.clocks(case)
    assert states["first_response"].elapsed == timedelta(hours=3)
    assert states["first_response"].state == "running"
    assert states["resolution"].elapsed == timedelta(0)
    assert states["resolution"].state == "paused"
    assert case.resolution_due_at is None  # stored when the status changed


def test_tick_warns_once_then_marks_the_breach_which_stays(
    client_as, app, db, people, clock, mailbox
):
    case_id = open_case(client_as, people.customer_user, priority="urgent")  # first response 1 h
    clock.shift(timedelta(minutes=5))
    mailbox.clear()
    assert tick(app, "case_sla") == {"case_sla": 1}  # due within the hour: a warning
    assert tick(app, "case_sla") == {"case_sla": 0}
    assert load(db, case_id).first_response_warned
    clock.shift(timedelta(hours=1))
    assert tick(app, "case_sla") == {"case_sla": 1}  # now breached
    assert tick(app, "case_sla") == {"case_sla": 0}
    assert load(db, case_id).first_response_breached
    subjects = [m["Subject"] for m in mailbox.to("agent@vendor.test")]
    assert any("due soon" in s for s in subjects) and any("breached" in s for s in subjects)
    # A reply afterwards meets nothing: breached stays breached.
    client_as(people.agent).post(f"/cases/{case_id}/reply", data={"body": "Sorry, late."})
    case = load(db, case_id)
    assert case.first_response_breached
    page = client_as(people.agent).get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-testid="sla-breached"' in page


def test_breach_while_the_clock_ran_is_kept_when_the_case_is_paused(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    clock.shift(timedelta(hours=2))  # no tick ran
    client_as(people.agent).post(
        f"/cases/{case_id}/reply", data={"body": "Any logs?", "status": "pending"}
    )
    case = load(db, case_id)
    assert case.first_response_breached and not case.resolution_breached


def test_solved_cases_close_after_the_configured_days(client_as, app, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    set_status(client_as(people.agent), case_id, "solved")
    clock.shift(timedelta(days=3))
    assert tick(app, "close_solved_cases") == {"close_solved_cases": 0}
    clock.shift(timedelta(days=1, minutes=1))
    assert tick(app, "close_solved_cases") == {"close_solved_cases": 1}
    assert tick(app, "close_solved_cases") == {"close_solved_cases": 0}
    assert load(db, case_id).status == "closed"


def test_a_customer_marks_its_case_solved(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    customer = client_as(people.customer_user)
    assert set_status(customer, case_id, "solved").status_code == 302
    assert load(db, case_id).status == "solved"
    with unchanged(db, (Case, case_id), counted=[CaseComment]):
        assert set_status(customer, case_id, "open").status_code == 403


def test_round_robin_takes_turns_and_hand_assignment_checks_the_agent(client_as, db, people, clock):
    first = open_case(client_as, people.customer_user, subject="First case")
    clock.shift(timedelta(minutes=1))
    second = open_case(client_as, people.customer_user, subject="Second case")
    agent = client_as(people.agent)
    agent.post(f"/cases/{first}/assign-next")
    clock.shift(timedelta(minutes=1))
    agent.post(f"/cases/{second}/assign-next")
    assignees = {load(db, first).assignee_id, load(db, second).assignee_id}
    assert assignees == {people.agent.id, people.agent2.id}
    case = load(db, first)
    page = agent.get(f"/cases/{first}").get_data(as_text=True)
    snapshot = re.search(r'name="snapshot" type="hidden" value="([^"]+)"', page).group(1)
    with unchanged(db, (Case, first)):
        response = agent.post(
            f"/cases/{first}/edit",
            data={"priority": "high", "product": "", "category": "",
                  "assignee_id": people.manager.id, "snapshot": snapshot},
        )  # fmt: skip
    assert response.status_code == 422  # a channel manager is no support agent
    assert load(db, first).assignee_id == case.assignee_id


def test_concurrent_edits_say_what_changed(client_as, db, people, clock):
    case_id = open_case(client_as, people.customer_user)
    one, two = client_as(people.agent), client_as(people.agent2)
    snap = re.compile(r'name="snapshot" type="hidden" value="([^"]+)"')
    s1 = snap.search(one.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)
    s2 = snap.search(two.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)
    data = {"product": "", "category": "", "assignee_id": 0}
    assert (
        one.post(
            f"/cases/{case_id}/edit", data={**data, "priority": "urgent", "snapshot": s1}
        ).status_code
        == 302
    )
    with unchanged(db, (Case, case_id)):
        response = two.post(
            f"/cases/{case_id}/edit", data={**data, "priority": "low", "snapshot": s2}
        )
    assert response.status_code == 409
    assert 'data-testid="edit-conflict"' in response.get_data(as_text=True)
    case = load(db, case_id)
    assert case.priority == "urgent" and case.sla_policy.name == "Urgent"


def test_merging_a_duplicate_keeps_its_requester_in(client_as, db, people, clock):
    original = open_case(client_as, people.customer_admin, subject="VPN drops")
    duplicate = open_case(client_as, people.customer_user, subject="VPN keeps dropping")
    agent = client_as(people.agent)
    number = load(db, original).number
    response = agent.post(f"/cases/{duplicate}/merge", data={"into": number})
    assert response.status_code == 302
    dup = load(db, duplicate)
    assert dup.status == "closed" and dup.merged_into_id == original
    watcher = db.scalar(select(CaseWatcher).where(CaseWatcher.case_id == original))
    assert watcher.user_id == people.customer_user.id
    page = client_as(people.customer_user).get(f"/cases/{original}")
    assert page.status_code == 200 and "VPN drops" in page.get_data(as_text=True)


# Attachments.

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_files_go_with_a_reply_and_download_safely(client_as, db, people, clock):
    import io

    case_id = open_case(client_as, people.customer_user)
    customer = client_as(people.customer_user)
    response = customer.post(
        f"/cases/{case_id}/reply",
        data={
            "body": "Screenshot attached",
            "files": [(io.BytesIO(PNG), "../../etc/scr een?.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    att = db.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case_id))
    assert att.filename == "scr_een.png" and att.size == len(PNG)
    download = client_as(people.agent).get(f"/cases/attachments/{att.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # The download's own policy, not the site-wide one: nothing loads, nothing runs.
    policy = [p.strip() for p in download.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert not any(p.startswith(("script-src", "style-src")) for p in policy)
    with unchanged(db, att):
        assert client_as(people.colleague).get(f"/cases/attachments/{att.id}").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", b"MZ....", "not accepted"),
        ("fake.png", b"<html>not a png</html>", "not the kind of file"),
        ("big.txt", b"x" * (10 * 1024 * 1024 + 1), "larger than 10 MB"),
        ("bin.txt", b"abc\x00def", "not a text file"),
    ],
)
def test_a_rejected_upload_says_why_and_keeps_the_reply(
    client_as, db, people, clock, name, content, message
):
    import io

    case_id = open_case(client_as, people.customer_user)
    customer = client_as(people.customer_user)
    with unchanged(db, (Case, case_id), counted=[CaseComment, CaseAttachment]):
        response = customer.post(
            f"/cases/{case_id}/reply",
            data={
                "body": "My long careful explanation QXR",
                "files": [(io.BytesIO(content), name)],
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and "My long careful explanation QXR" in html
    assert db.scalar(select(CaseComment).where(CaseComment.case_id == case_id)) is None


def test_files_of_internal_notes_stay_internal(client_as, db, people, clock):
    import io

    case_id = open_case(client_as, people.customer_user)
    client_as(people.agent).post(
        f"/cases/{case_id}/reply",
        data={
            "body": "trace",
            "internal": "y",
            "files": [(io.BytesIO(b"secret trace"), "trace.log")],
        },
        content_type="multipart/form-data",
    )
    att = db.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case_id))
    assert att.internal
    customer = client_as(people.customer_user)
    with unchanged(db, att):
        assert customer.get(f"/cases/attachments/{att.id}").status_code == 404
    assert "trace.log" not in customer.get(f"/cases/{case_id}").get_data(as_text=True)


def test_the_queue_puts_breached_cases_first_then_the_nearest_deadline(
    client_as, app, db, people, clock
):
    low = open_case(client_as, people.customer_user, subject="Low priority QL1", priority="low")
    urgent = open_case(client_as, people.customer_user, subject="Urgent one QU1", priority="urgent")
    clock.shift(timedelta(hours=2))  # the urgent case's first response (1 h) is now overdue
    late = open_case(client_as, people.customer_user, subject="Fresh normal QN1")
    tick(app, "case_sla")
    set_status(client_as(people.agent), low, "on_hold")
    html = client_as(people.agent).get("/cases/queue").get_data(as_text=True)
    order = [html.index(s) for s in ("Urgent one QU1", "Fresh normal QN1", "Low priority QL1")]
    assert order == sorted(order)  # breached, then running by deadline, then paused
    assert load(db, urgent).first_response_breached and load(db, late).queue_rank > 0
    breached = client_as(people.agent).get("/cases/queue?view=breached").get_data(as_text=True)
    assert "Urgent one QU1" in breached and "Fresh normal QN1" not in breached


def test_lists_page_by_keyset_without_skipping_or_repeating(client_as, db, people, clock):
    from tests.factories import make_case

    for n in range(30):
        make_case(db, people.customer, people.customer_user, f"Paged case QP{n:02d}")
    client = client_as(people.customer_user)
    seen = []
    html = client.get("/cases/").get_data(as_text=True)
    pages = 0
    while True:
        pages += 1
        seen += re.findall(r"Paged case QP\d\d", html)
        following = re.search(r'rel="next" href="([^"]+)"', html)
        if following is None:
            break
        html = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
        if pages > 3:
            break
    assert pages == 2 and sorted(seen) == [f"Paged case QP{n:02d}" for n in range(30)]
    # A cursor this portal did not give is a clear 422 (as on every keyset list), never a 500.
    agent = client_as(people.agent)
    with unchanged(db):
        assert client.get("/cases/?after=not-a-cursor").status_code == 422
        assert client.get("/cases/queue?after=WzEsMl0").status_code == 403  # customers: no queue
        assert agent.get("/cases/queue?after=WyJ4Il0").status_code == 422


def test_an_internal_note_is_no_response(client_as, app, db, people, clock):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    client_as(people.agent).post(
        f"/cases/{case_id}/reply", data={"body": "Looking into it", "internal": "y"}
    )
    case = load(db, case_id)
    assert case.first_responded_at is None and case.status == "new"
    clock.shift(timedelta(hours=1, minutes=1))
    tick(app, "case_sla")
    assert load(db, case_id).first_response_breached


def test_policies_by_conditions_first_match_wins(client_as, db, people, clock):
    """A policy's product condition names a catalogue product (SKU or name), a product line
    (code or label: every product of the line), or, as written before cases named products,
    the requester's words; any case."""
    from selfservice.cases.models import SlaPolicy

    firewall = make_product(db, sku="SEC-FW-200", name="Firewall 200", product_line="security")
    switch = make_product(db, sku="NW-CORE-48", name="Core switch", product_line="networking")
    hours = {"first_response_pauses": [], "resolution_pauses": ["pending"]}
    db.add_all(
        [
            SlaPolicy(name="Gold partners' customers", position=1, tier="gold",
                      first_response_hours=2, resolution_hours=10, **hours),
            SlaPolicy(name="Firewalls", position=2, product="sec-fw-200",
                      first_response_hours=3, resolution_hours=12, **hours,
                      timezone="Europe/Berlin", business_hours="08:00-18:00", holidays="DE"),
            SlaPolicy(name="Networking", position=3, product="Networking",
                      first_response_hours=4, resolution_hours=12, **hours),
            SlaPolicy(name="Old boxes", position=4, product="NW-FW100",
                      first_response_hours=5, resolution_hours=12, **hours),
        ]
    )  # fmt: skip
    db.flush()
    # The customer's managing partner is gold: the first policy matches before any other.
    first = load(db, open_case(client_as, people.customer_user, product=f"product:{firewall.id}"))
    assert first.sla_policy.name == "Gold partners' customers"
    assert first.first_response_due_at == at(2027, 3, 1, 12)
    # A customer without a gold partner, with the product: the product's policy and calendar.
    direct = db.get(type(people.customer), people.customer.id)
    direct.managed_by_id = None
    db.flush()

    def policy_of(subject, **fields):
        case = load(db, open_case(client_as, people.customer_user, subject=subject, **fields))
        return case.sla_policy.name, case.first_response_due_at

    three = ("Firewalls", at(2027, 3, 1, 13))  # 10:00 UTC + 3 h (Berlin 08-18)
    assert policy_of("Firewall", product=f"product:{firewall.id}") == three
    four = ("Networking", at(2027, 3, 1, 14))  # the line's policy: its products, the line itself
    assert policy_of("Switch", product=f"product:{switch.id}") == four
    assert policy_of("Wi-Fi", product="line:networking") == four
    assert policy_of("Old box", product_details="nw-fw100") == ("Old boxes", at(2027, 3, 1, 15))
    assert policy_of("Other thing", product="line:security")[0] == "Normal"


def test_round_robin_stays_within_the_case_team(client_as, db, people, clock, user_factory, vendor):
    third = user_factory(vendor, "support_agent", email="agent3@vendor.test")
    admin = user_factory(vendor, "vendor_admin")
    boss = client_as(admin)
    with unchanged(db):
        assert client_as(people.agent).get("/cases/teams").status_code == 403
    response = boss.post(
        "/cases/teams", data={"name": "Licensing", "members": [people.agent2.id, third.id]}
    )
    assert response.status_code == 302
    from selfservice.cases.models import SupportTeam, SupportTeamMember

    with unchanged(db, counted=[SupportTeam, SupportTeamMember]):
        refused = boss.post("/cases/teams", data={"name": "Bad", "members": [people.manager.id]})
    assert refused.status_code == 422

    team = db.scalar(select(SupportTeam).where(SupportTeam.name == "Licensing"))
    chosen = set()
    for n in range(4):
        case_id = open_case(client_as, people.customer_user, subject=f"Licence question {n}")
        case = load(db, case_id)
        case.team_id = team.id
        db.flush()
        client_as(people.agent).post(f"/cases/{case_id}/assign-next")
        chosen.add(load(db, case_id).assignee_id)
        clock.shift(timedelta(minutes=1))
    assert chosen == {people.agent2.id, third.id}  # never agent 1 or the admin: not in the team


def test_vendor_admins_keep_sla_policies(client_as, app, db, people, clock, user_factory, vendor):
    admin = client_as(user_factory(vendor, "vendor_admin"))
    from selfservice.cases.models import SlaPolicy

    with unchanged(db, counted=[SlaPolicy]):
        assert client_as(people.agent).get("/cases/sla").status_code == 403
    data = {
        "name": "Platinum firewall", "position": 1, "active": "y", "priority": "", "tier": "",
        "product": "NW-FW200", "first_response_hours": "0.5", "resolution_hours": "4",
        "first_response_pauses": [], "resolution_pauses": ["pending", "on_hold"],
        "timezone": "Mars/Olympus", "business_hours": "", "holidays": "",
    }  # fmt: skip
    with unchanged(db, counted=[SlaPolicy]):
        refused = admin.post("/cases/sla", data=data)
    assert refused.status_code == 422 and "unknown time zone" in refused.get_data(as_text=True)
    assert admin.post("/cases/sla", data={**data, "timezone": "UTC"}).status_code == 302
    case = load(
        db,
        open_case(client_as, people.customer_user, subject="FW issue", product_details="NW-FW200"),
    )
    assert case.sla_policy.name == "Platinum firewall"
    assert case.first_response_due_at == MONDAY_10 + timedelta(minutes=30)
    # Changed later: the open case's clock follows the new target; its record says who changed it.
    page = admin.get(f"/cases/sla/{case.sla_policy_id}")
    assert page.status_code == 200 and "Platinum firewall" in page.get_data(as_text=True)
    assert (
        admin.post(
            f"/cases/sla/{case.sla_policy_id}",
            data={**data, "timezone": "", "first_response_hours": "2"},
        ).status_code
        == 302
    )
    from selfservice.cases import services

    with app.app_context():
        assert services.clocks(load(db, case.id))["first_response"].limit == timedelta(hours=2)


def test_a_status_set_from_a_stale_page_is_a_conflict(client_as, db, people, clock):
    """Two agents on the same page: the second one's status change does not silently replace
    the first one's; the page says what changed."""
    case_id = open_case(client_as, people.customer_user)
    one, two = client_as(people.agent), client_as(people.agent2)
    s1 = STATUS_SNAPSHOT.search(one.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)
    s2 = STATUS_SNAPSHOT.search(two.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)
    ok = one.post(f"/cases/{case_id}/status", data={"status": "pending", "status_snapshot": s1})
    assert ok.status_code == 302
    with unchanged(db, (Case, case_id)):
        stale = two.post(
            f"/cases/{case_id}/status", data={"status": "solved", "status_snapshot": s2}
        )
    assert stale.status_code == 409
    assert 'data-testid="edit-conflict"' in stale.get_data(as_text=True)
    assert load(db, case_id).status == "pending"
    # Without a snapshot (a forged or outdated form) nothing changes either.
    with unchanged(db, (Case, case_id)):
        assert two.post(f"/cases/{case_id}/status", data={"status": "solved"}).status_code == 409
    assert load(db, case_id).status == "pending"


def test_a_reply_meanwhile_is_no_conflict_for_status_nor_edit(client_as, db, people, clock):
    """Only a change of the fields the form shows is a conflict: a reply or an SLA refresh
    (which bump the version) leaves the status and edit forms valid."""
    case_id = open_case(client_as, people.customer_user)
    agent = client_as(people.agent)
    assert set_status(agent, case_id, "open").status_code == 302
    page = agent.get(f"/cases/{case_id}").get_data(as_text=True)
    status_seen, edit_seen = STATUS_SNAPSHOT.search(page).group(1), EDIT_SNAPSHOT.search(page)
    version = load(db, case_id).version
    reply = client_as(people.agent2).post(f"/cases/{case_id}/reply", data={"body": "Hi."})
    assert reply.status_code == 302
    assert load(db, case_id).version > version and load(db, case_id).status == "open"
    edited = agent.post(
        f"/cases/{case_id}/edit",
        data={"priority": "high", "product": "", "category": "", "assignee_id": 0,
              "snapshot": edit_seen.group(1)},
    )  # fmt: skip
    assert edited.status_code == 302
    moved = agent.post(
        f"/cases/{case_id}/status", data={"status": "on_hold", "status_snapshot": status_seen}
    )
    assert moved.status_code == 302
    case = load(db, case_id)
    assert (case.priority, case.status) == ("high", "on_hold")


def test_a_new_due_time_is_warned_of_again(client_as, app, db, people, clock, mailbox):
    """Warned before the first deadline, the case's priority changes: the new deadline gets
    its own warning (the flag is cleared whenever the due time moves)."""
    case_id = open_case(client_as, people.customer_user, priority="urgent")  # first response 11:00
    clock.shift(timedelta(minutes=5))
    assert tick(app, "case_sla") == {"case_sla": 1}
    first_due = load(db, case_id).first_response_due_at
    assert load(db, case_id).first_response_warned
    agent = client_as(people.agent)
    edited = agent.post(
        f"/cases/{case_id}/edit",
        data={"priority": "high", "product": "", "category": "", "assignee_id": 0,
              "snapshot": EDIT_SNAPSHOT.search(agent.get(f"/cases/{case_id}").get_data(
                  as_text=True)).group(1)},
    )  # fmt: skip
    assert edited.status_code == 302
    case = load(db, case_id)
    assert case.first_response_due_at == at(2027, 3, 1, 14, 0) != first_due  # 4 h
    assert not case.first_response_warned
    mailbox.clear()
    clock.move_to(at(2027, 3, 1, 13, 30))
    assert tick(app, "case_sla") == {"case_sla": 1}
    assert any("due soon" in m["Subject"] for m in mailbox.to("agent@vendor.test"))
    assert load(db, case_id).first_response_warned


def test_round_robin_goes_by_the_last_assignment_not_the_last_reply(client_as, db, people, clock):
    """A reply on an agent's case is no new assignment: the next case goes to the agent whose
    last assignment is oldest."""
    first, second, third = (
        open_case(client_as, people.customer_user, subject=s * 4) for s in "ABC"
    )
    agent = client_as(people.agent)
    agent.post(f"/cases/{first}/assign-next")
    clock.shift(timedelta(minutes=5))
    agent.post(f"/cases/{second}/assign-next")
    one, two = load(db, first).assignee_id, load(db, second).assignee_id
    assert {one, two} == {people.agent.id, people.agent2.id}
    assert load(db, first).assigned_at == MONDAY_10
    clock.shift(timedelta(minutes=5))
    replier = client_as(people.agent if one == people.agent.id else people.agent2)
    assert replier.post(f"/cases/{first}/reply", data={"body": "Looking."}).status_code == 302
    agent.post(f"/cases/{third}/assign-next")
    assert load(db, third).assignee_id == one


def test_a_merge_keeps_the_duplicates_text_internal_and_tells_its_requester(
    client_as, db, people, clock, mailbox
):
    """Colleagues in an organisation that does not share: the duplicate's description reaches
    the surviving case as an internal note (agents), not as a reply its requester would read;
    the duplicate's requester hears of the merge on its own case."""
    original = open_case(client_as, people.colleague, subject="VPN drops")
    duplicate = open_case(
        client_as, people.customer_user, subject="VPN keeps dropping", description="Secret QXMD"
    )
    into = load(db, original).number
    mailbox.clear()
    agent = client_as(people.agent)
    assert agent.post(f"/cases/{duplicate}/merge", data={"into": into}).status_code == 302
    page = client_as(people.colleague).get(f"/cases/{original}").get_data(as_text=True)
    assert "Secret QXMD" not in page
    assert "Secret QXMD" in agent.get(f"/cases/{original}").get_data(as_text=True)
    note = db.scalar(select(CaseComment).where(CaseComment.case_id == original))
    assert note.internal and "Secret QXMD" in note.body
    told = db.scalar(select(CaseComment).where(CaseComment.case_id == duplicate))
    assert not told.internal and into in told.body
    assert not any("Secret QXMD" in m.get_content() for m in mailbox.to("col@acme.test"))
    assert any(into in m["Subject"] for m in mailbox.to("cu@acme.test"))


def test_a_closed_case_is_not_merged(client_as, db, people, clock):
    original = open_case(client_as, people.customer_user, subject="VPN drops")
    duplicate = open_case(client_as, people.customer_user, subject="VPN again")
    agent = client_as(people.agent)
    set_status(agent, duplicate, "solved")
    set_status(agent, duplicate, "closed")
    with unchanged(db, (Case, duplicate), (Case, original), counted=[CaseComment]):
        response = agent.post(f"/cases/{duplicate}/merge", data={"into": load(db, original).number})
    assert response.status_code == 409
    assert "closed case" in response.get_data(as_text=True)
    assert load(db, duplicate).merged_into_id is None


def test_a_file_with_a_non_latin_name_keeps_its_extension(client_as, db, people, clock):
    import io

    case_id = open_case(client_as, people.customer_user)
    response = client_as(people.customer_user).post(
        f"/cases/{case_id}/reply",
        data={
            "body": "Invoice attached",
            "files": [(io.BytesIO(b"%PDF-1.4 x"), "файл.pdf"), (io.BytesIO(PNG), "снимок 2.PNG")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    names = db.scalars(
        select(CaseAttachment.filename)
        .where(CaseAttachment.case_id == case_id)
        .order_by(CaseAttachment.id)
    ).all()
    assert names == ["attachment.pdf", "2.PNG"]


def test_a_request_too_large_for_the_app_is_a_clear_413(
    client_as, app, db, people, clock, monkeypatch
):
    """The app refuses bodies past MAX_CONTENT_LENGTH before reading them (60 MB by default;
    lowered here so the test stays small)."""
    import io

    from portal.config import from_environment

    assert from_environment({})["MAX_CONTENT_LENGTH"] == 60 * 1024 * 1024
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    case_id = open_case(client_as, people.customer_user)
    customer = client_as(people.customer_user)
    with unchanged(db, (Case, case_id), counted=[CaseComment, CaseAttachment]):
        response = customer.post(
            f"/cases/{case_id}/reply",
            data={"body": "Big", "files": [(io.BytesIO(b"x" * 4096), "big.txt")]},
            content_type="multipart/form-data",
        )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_the_attachment_limit_is_a_setting(app):
    from portal.config import ENVIRONMENT_KEYS, from_environment

    assert "CASES_ATTACHMENT_MAX_BYTES" in ENVIRONMENT_KEYS
    assert from_environment({})["CASES_ATTACHMENT_MAX_BYTES"] == 10 * 1024 * 1024
    config = from_environment({"CASES_ATTACHMENT_MAX_BYTES": "2097152"})
    assert config["CASES_ATTACHMENT_MAX_BYTES"] == 2 * 1024 * 1024
