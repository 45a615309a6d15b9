"""Who sees which case: the requester and watchers; the whole organisation once its admin shares
cases; admins always; the partner that manages the customer (read only), and no other partner;
vendor staff by role. A case that is not visible answers 404, like one that does not exist."""

from __future__ import annotations

import pytest

from selfservice.cases.models import CaseWatcher
from tests.factories import make_case
from tests.integration.test_cases import make_people, open_case
from tests.unchanged import unchanged


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


@pytest.fixture
def other_partner(org_factory, user_factory):
    org = org_factory("reseller", name="Unrelated Reseller")
    return user_factory(org, "partner_admin")


def sees(client_as, user, case_id) -> bool:
    status = client_as(user).get(f"/cases/{case_id}").status_code
    assert status in (200, 404, 403)
    return status == 200


def listed(client_as, user, subject) -> bool:
    return subject in client_as(user).get("/cases/").get_data(as_text=True)


def test_own_cases_only_until_the_admin_shares(client_as, db, people, other_partner):
    case = make_case(db, people.customer, people.customer_user, "Own case QXV")
    assert sees(client_as, people.customer_user, case.id) and listed(
        client_as, people.customer_user, "Own case QXV"
    )
    assert not sees(client_as, people.colleague, case.id)
    assert not listed(client_as, people.colleague, "Own case QXV")
    assert sees(client_as, people.customer_admin, case.id)
    # The admin shares: now every colleague sees it.
    admin = client_as(people.customer_admin)
    assert admin.post("/cases/settings", data={"shared": "y"}).status_code == 302
    assert sees(client_as, people.colleague, case.id) and listed(
        client_as, people.colleague, "Own case QXV"
    )
    admin.post("/cases/settings", data={})
    assert not sees(client_as, people.colleague, case.id)


def test_only_admins_choose_sharing(client_as, db, people):
    from selfservice.cases.models import CaseSettings

    user = client_as(people.customer_user)
    with unchanged(db, counted=[CaseSettings]):
        assert user.post("/cases/settings", data={"shared": "y"}).status_code == 403


def test_managing_partner_sees_its_customers_cases_and_no_other_partner_does(
    client_as, db, people, other_partner
):
    case = make_case(db, people.customer, people.customer_user, "Managed case QXW")
    assert sees(client_as, people.partner_user, case.id)
    assert listed(client_as, people.partner_user, "Managed case QXW")
    assert not sees(client_as, other_partner, case.id)
    assert not listed(client_as, other_partner, "Managed case QXW")


def test_watchers_see_the_case_and_the_partner_can_be_one(client_as, db, people, mailbox):
    case = make_case(db, people.customer, people.customer_user, "Watched case QXX")
    owner = client_as(people.customer_user)
    assert (
        owner.post(f"/cases/{case.id}/watchers", data={"email": "col@acme.test"}).status_code == 302
    )
    assert sees(client_as, people.colleague, case.id)
    assert (
        owner.post(f"/cases/{case.id}/watchers", data={"email": "pu@reseller.test"}).status_code
        == 302
    )
    # The watching partner hears of public replies.
    mailbox.clear()
    client_as(people.agent).post(f"/cases/{case.id}/reply", data={"body": "On it."})
    assert mailbox.to("pu@reseller.test") and mailbox.to("col@acme.test")


def test_a_watcher_from_an_unrelated_organisation_is_refused(client_as, db, people, other_partner):
    case = make_case(db, people.customer, people.customer_user, "Case QXY")
    owner = client_as(people.customer_user)
    with unchanged(db, case, counted=[CaseWatcher]):
        response = owner.post(f"/cases/{case.id}/watchers", data={"email": other_partner.email})
    assert response.status_code == 422
    assert not sees(client_as, other_partner, case.id)


def test_vendor_staff_by_role(client_as, db, people):
    case = make_case(db, people.customer, people.customer_user, "Case QXZ")
    assert sees(client_as, people.agent, case.id)
    with unchanged(db, case):
        assert client_as(people.manager).get(f"/cases/{case.id}").status_code == 403
        assert client_as(people.manager).get("/cases/queue").status_code == 403
    assert "Case QXZ" in client_as(people.agent).get("/cases/queue").get_data(as_text=True)


def test_a_case_opened_on_behalf_of_a_customer(client_as, db, people):
    case_id = open_case(
        client_as, people.agent, subject="Phoned in QXQ", org_id=people.customer.id,
        requester_email="cu@acme.test",
    )  # fmt: skip
    assert sees(client_as, people.customer_user, case_id)
    assert not sees(client_as, people.colleague, case_id)


def test_a_watcher_leaves_or_is_removed(client_as, db, people):
    from sqlalchemy import select

    from selfservice.cases.models import CaseWatcher

    case = make_case(db, people.customer, people.customer_user, "Watched case QXR")
    owner = client_as(people.customer_user)
    owner.post(f"/cases/{case.id}/watchers", data={"email": "pu@reseller.test"})
    owner.post(f"/cases/{case.id}/watchers", data={"email": "col@acme.test"})
    rows = {w.user_id: w.id for w in db.scalars(select(CaseWatcher))}
    # The partner (read only otherwise) may stop watching; it may not remove anyone else. It sees
    # the managed customer's case and so its watchers: visible but not its to change, a 403.
    partner = client_as(people.partner_user)
    with unchanged(db, case, (CaseWatcher, rows[people.colleague.id])):
        assert (
            partner.post(f"/cases/watchers/{rows[people.colleague.id]}/remove").status_code == 403
        )
    assert db.scalar(select(CaseWatcher.id).where(CaseWatcher.id == rows[people.colleague.id]))
    assert partner.post(f"/cases/watchers/{rows[people.partner_user.id]}/remove").status_code == 302
    owner.post(f"/cases/watchers/{rows[people.colleague.id]}/remove")
    assert not sees(client_as, people.colleague, case.id)
    assert db.scalars(select(CaseWatcher)).all() == []


def test_a_colleague_cannot_remove_a_watcher_of_a_private_case_it_cannot_see(client_as, db, people):
    """Organisation not sharing: the colleague sees neither the case nor its watchers, so
    removing one is a 404 like any foreign row, and the watcher stays."""
    from sqlalchemy import select

    from selfservice.cases.models import CaseWatcher

    case = make_case(db, people.customer, people.customer_user, "Private case QXP")
    owner = client_as(people.customer_user)
    owner.post(f"/cases/{case.id}/watchers", data={"email": "pu@reseller.test"})
    watcher_id = db.scalar(select(CaseWatcher.id).where(CaseWatcher.case_id == case.id))
    assert not sees(client_as, people.colleague, case.id)
    colleague = client_as(people.colleague)
    with unchanged(db, case, (CaseWatcher, watcher_id)):
        assert colleague.post(f"/cases/watchers/{watcher_id}/remove").status_code == 404
    db.expire_all()
    assert db.scalar(select(CaseWatcher.id).where(CaseWatcher.id == watcher_id)) == watcher_id
