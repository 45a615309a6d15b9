"""Programme and tier compliance (issue 15, item 5): vendor admins create and order tiers, which
the organisation form then offers; partners record their people's certifications with an
evidence file and vendor staff verify or reject them; the tick proposes promotions and demotions
from each partner's standing, once, and the channel manager applies or dismisses them (audited,
the partner told). Refusals and bad input change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from partners.program.models import Certification, Tier, TierProposal
from portal import access, jobs
from portal.audit import AuditEvent
from portal.identity.models import Organization, tier_options
from portal.identity.services.organizations import _check_org_fields
from portal.notify.models import Notification
from tests.integration.race_support import written_first
from tests.unchanged import fresh, unchanged

PDF = b"%PDF-1.4\n%evidence\n%%EOF\n"
NOW = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)  # forward only: sign-in cookies must not be future


def _events(db, action: str) -> list[AuditEvent]:
    fresh(db)
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def _told(db, user) -> list[str]:
    fresh(db)
    return list(db.scalars(select(Notification.title).where(Notification.user_id == user.id)))


def _tier(db, code: str) -> Tier:
    fresh(db)
    return db.scalar(select(Tier).where(Tier.code == code))


def _order(db) -> list[str]:
    fresh(db)
    return list(db.scalars(select(Tier.code).order_by(Tier.rank, Tier.id)))


TERMS = {
    "name": "Diamond",
    "discount_percent": "30",
    "protection_days": "180",
    "distribution_weight": "8",
    "max_open_leads": "40",
    "required_won_value_12m": "1000000",
    "required_acceptance_percent": "80",
    "required_certified_people": "6",
}


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    aster = org_factory("reseller", name="Aster Networks", tier="silver")
    birch = org_factory("reseller", name="Birch Systems", tier="gold")
    return {
        "aster": aster,
        "birch": birch,
        "admin": user_factory(vendor, access.VENDOR_ADMIN),
        "manager": user_factory(vendor, access.CHANNEL_MANAGER),
        "sales": user_factory(vendor, access.SALES_REP),
        "aster_admin": user_factory(aster, access.PARTNER_ADMIN),
        "aster_user": user_factory(aster, access.PARTNER_USER),
        "birch_admin": user_factory(birch, access.PARTNER_ADMIN),
    }


# Tiers: created, renamed, ordered.


def test_a_vendor_admin_adds_a_tier_moves_it_and_the_organisation_form_offers_it(
    client_as, db, people
):
    client = client_as(people["admin"])
    assert client.get("/program/tiers/new").status_code == 200
    response = client.post("/program/tiers/new", data=TERMS)
    assert response.status_code == 302
    diamond = _tier(db, "diamond")
    assert (diamond.name, diamond.required_certified_people) == ("Diamond", 6)
    assert diamond.required_won_value_12m == Decimal("1000000.00")
    assert _order(db) == ["registered", "silver", "gold", "platinum", "diamond"]
    (created,) = _events(db, "tier.created")
    assert created.after["code"] == "diamond" and created.actor_user_id == people["admin"].id
    # Moved below platinum: promotions and demotions follow the order.
    moving = client.post(f"/program/tiers/{diamond.id}/move", data={"direction": "down"})
    assert moving.status_code == 302
    assert _order(db) == ["registered", "silver", "gold", "diamond", "platinum"]
    (moved,) = _events(db, "tier.reordered")
    assert moved.after["order"] == ["registered", "silver", "gold", "diamond", "platinum"]
    listing = client.get("/program/tiers").get_data(as_text=True)
    assert listing.index("Diamond") < listing.index("Platinum")
    # The organisation form offers the new tier, and the organisation service accepts it.
    org_form = client.get(f"/admin/organizations/{people['aster'].id}/edit")
    assert 'value="diamond"' in org_form.get_data(as_text=True)
    with client.application.test_request_context():
        assert ("diamond", "Diamond") in tier_options()
        _check_org_fields(name="Anything", kind="reseller", tier="diamond", managed_by_id=None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Gold"}, "Another tier has this name."),
        ({"name": ""}, "This field is required."),
        ({"required_certified_people": "-1"}, "Number must be between 0 and 10000."),
        ({"required_certified_people": "two"}, "Not a valid integer value."),
    ],
)
def test_bad_new_tiers_are_a_422_and_write_nothing(client_as, db, people, changes, message):
    client = client_as(people["admin"])
    with unchanged(db, counted=(Tier,)):
        response = client.post("/program/tiers/new", data={**TERMS, **changes})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(message) == 1


def test_only_vendor_admins_add_and_order_tiers(client_as, db, people):
    gold = _tier(db, "gold")
    for who in ("manager", "aster_admin"):
        client = client_as(people[who])
        with unchanged(db, gold, counted=(Tier,)):
            assert client.post("/program/tiers/new", data=TERMS).status_code == 403
            move = client.post(f"/program/tiers/{gold.id}/move", data={"direction": "up"})
            assert move.status_code == 403


def test_the_highest_tier_does_not_move_up(client_as, db, people):
    platinum = _tier(db, "platinum")
    client = client_as(people["admin"])
    with unchanged(db, platinum):
        client.post(f"/program/tiers/{platinum.id}/move", data={"direction": "up"})
    assert _order(db) == ["registered", "silver", "gold", "platinum"]


# Certifications.


def _record(client, person, **changes):
    data = {
        "user_id": str(person.id),
        "kind": "certification",
        "name": "Northwind Network Engineer",
        "issuer": "Northwind Academy",
        "issued_on": "2031-01-15",
        "valid_until": "2033-01-15",
        **changes,
    }
    evidence = changes.pop("evidence", (PDF, "certificate.pdf"))
    data.pop("evidence", None)
    if evidence is not None:
        from io import BytesIO

        data["evidence"] = (BytesIO(evidence[0]), evidence[1])
    return client.post("/program/certifications", data=data, content_type="multipart/form-data")


def _certification(db, name="Northwind Network Engineer") -> Certification:
    fresh(db)
    return db.scalar(select(Certification).where(Certification.name == name))


def test_a_partner_records_a_certification_and_the_vendor_verifies_it(client_as, db, people):
    with time_machine.travel(NOW, tick=False):
        partner = client_as(people["aster_admin"])
        assert partner.get("/program/certifications").status_code == 200
        response = _record(partner, people["aster_user"])
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        found = _certification(db)
        assert (found.org_id, found.user_id, found.status) == (
            people["aster"].id,
            people["aster_user"].id,
            "recorded",
        )
        assert found.evidence == PDF and found.evidence_filename == "certificate.pdf"
        (recorded,) = _events(db, "certification.recorded")
        assert recorded.org_id == people["aster"].id
        assert any("to verify" in t for t in _told(db, people["manager"]))
        page = partner.get("/program/certifications").get_data(as_text=True)
        assert "Northwind Network Engineer" in page and "waiting for verification" in page
        download = partner.get(f"/program/certifications/{found.id}/evidence")
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.mimetype == "application/octet-stream"

        vendor = client_as(people["manager"])
        queue = vendor.get("/program/certifications/review").get_data(as_text=True)
        assert "Aster Networks" in queue and "Northwind Network Engineer" in queue
        assert vendor.get(f"/program/certifications/{found.id}/evidence").data == PDF
        assert vendor.post(f"/program/certifications/{found.id}/verify").status_code == 302
        found = _certification(db)
        assert found.status == "verified" and found.decided_by_id == people["manager"].id
        assert _events(db, "certification.verified")
        assert any("is verified" in t for t in _told(db, people["aster_admin"]))
        # Decided once: a second verification (or a rejection) changes nothing.
        with unchanged(db, found):
            vendor.post(f"/program/certifications/{found.id}/verify")
            vendor.post(f"/program/certifications/{found.id}/reject", data={"reason": "No."})


def test_a_rejection_says_why_and_the_partner_is_told(client_as, db, people):
    with time_machine.travel(NOW, tick=False):
        _record(client_as(people["aster_admin"]), people["aster_admin"])
        found = _certification(db)
        vendor = client_as(people["manager"])
        with unchanged(db, found):  # no reason: refused
            vendor.post(f"/program/certifications/{found.id}/reject", data={"reason": " "})
        vendor.post(
            f"/program/certifications/{found.id}/reject",
            data={"reason": "The certificate names someone else."},
        )
        found = _certification(db)
        assert (found.status, found.rejection_reason) == (
            "rejected",
            "The certificate names someone else.",
        )
        assert any("someone else" in t for t in _told(db, people["aster_admin"]))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"evidence": (b"MZ\x90\x00", "tool.exe")}, "this type of file is not accepted"),
        ({"evidence": (b"not a pdf", "certificate.pdf")}, "is not the kind of file its name says"),
        ({"issued_on": "2031-04-01"}, "cannot be in the future"),
        ({"valid_until": "2030-01-01"}, "cannot expire before it was obtained"),
        ({"name": ""}, "This field is required."),
        ({"kind": "diploma"}, "Not a valid choice."),
    ],
)
def test_bad_certifications_are_a_422_and_write_nothing(client_as, db, people, changes, message):
    with time_machine.travel(NOW, tick=False):
        client = client_as(people["aster_admin"])
        with unchanged(db, counted=(Certification,)):
            response = _record(client, people["aster_user"], **changes)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_a_partner_records_only_for_its_own_people_and_sees_only_its_own(client_as, db, people):
    with time_machine.travel(NOW, tick=False):
        aster = client_as(people["aster_admin"])
        with unchanged(db, counted=(Certification,)):
            response = _record(aster, people["birch_admin"])
        assert response.status_code == 422
        _record(client_as(people["birch_admin"]), people["birch_admin"], name="Birch Only ZZQ")
        theirs = _certification(db, "Birch Only ZZQ")
        assert "Birch Only ZZQ" not in aster.get("/program/certifications").get_data(as_text=True)
        assert aster.get(f"/program/certifications/{theirs.id}/evidence").status_code == 404
        with unchanged(db, theirs):
            assert aster.post(f"/program/certifications/{theirs.id}/verify").status_code == 403
        assert aster.get("/program/certifications/review").status_code == 403


# The standing, the tick's proposals and the channel manager's decision.


def _require(db, code: str, *, won=None, acceptance=None, certified=None) -> None:
    tier = _tier(db, code)
    tier.required_won_value_12m = won
    tier.required_acceptance_percent = acceptance
    tier.required_certified_people = certified
    db.flush()


def _certify(db, person, **fields) -> None:
    db.add(
        Certification(
            org_id=person.org_id,
            user_id=person.id,
            kind=fields.get("kind", "certification"),
            name=fields.get("name", f"Cert of {person.id}"),
            issuer="Northwind Academy",
            issued_on=date(2030, 1, 1),
            valid_until=fields.get("valid_until"),
            status=fields.get("status", "verified"),
        )
    )
    db.flush()


def _tick(app) -> int:
    with app.app_context():
        return jobs.run_periodic(["propose_tier_changes"])["propose_tier_changes"]


def _proposals(db) -> list[tuple[str, str | None, str, str]]:
    fresh(db)
    rows = db.execute(
        select(Organization.name, TierProposal.from_tier, TierProposal.to_tier, TierProposal.status)
        .join(Organization, Organization.id == TierProposal.org_id)
        .order_by(TierProposal.id)
    )
    return [tuple(r) for r in rows]


@pytest.fixture
def standing_world(db, people):
    """Silver asks for one certified person, gold for two; both people of Aster are certified
    (one certification expired, one training, one unverified: those count for nothing), so
    Aster (silver) meets gold. Birch (gold) has none: it falls short of gold."""
    for code in ("registered", "platinum"):
        _require(db, code)
    _require(db, "silver", certified=1)
    _require(db, "gold", certified=2)
    _certify(db, people["aster_admin"], valid_until=date(2032, 1, 1))
    _certify(db, people["aster_user"])
    _certify(db, people["birch_admin"], name="Expired", valid_until=date(2031, 1, 1))
    _certify(db, people["birch_admin"], name="Training", kind="training")
    _certify(db, people["birch_admin"], name="Unverified", status="recorded")
    return people


def test_the_tick_proposes_once_and_the_channel_manager_applies(app, client_as, db, standing_world):
    people = standing_world
    with time_machine.travel(NOW, tick=False):
        assert _tick(app) == 2
        assert _tick(app) == 0  # safe to run again: the open proposals still hold
        assert _proposals(db) == [
            ("Aster Networks", "silver", "gold", "proposed"),
            ("Birch Systems", "gold", "silver", "proposed"),
        ]
        assert len(_events(db, "tier_proposal.proposed")) == 2
        assert any("promotion to Gold proposed" in t for t in _told(db, people["manager"]))
        manager = client_as(people["manager"])
        page = manager.get("/program/proposals").get_data(as_text=True)
        assert "Aster Networks" in page and "Promotion" in page and "Demotion" in page
        home = manager.get("/home").get_data(as_text=True)
        assert "2 proposed changes" in home
        aster_proposal = db.scalar(
            select(TierProposal).where(TierProposal.org_id == people["aster"].id)
        )
        assert manager.post(f"/program/proposals/{aster_proposal.id}/apply").status_code == 302
        fresh(db)
        assert db.get(Organization, people["aster"].id).tier == "gold"
        (changed,) = _events(db, "partner.tier_changed")
        assert changed.after == {"tier": "gold", "proposal": aster_proposal.id}
        assert changed.actor_user_id == people["manager"].id
        assert _events(db, "tier_proposal.applied")[0].org_id == people["manager"].org_id
        assert any("now in the Gold tier" in t for t in _told(db, people["aster_admin"]))
        # Applied once: again is refused and changes nothing.
        with unchanged(db, (TierProposal, aster_proposal.id), (Organization, people["aster"].id)):
            manager.post(f"/program/proposals/{aster_proposal.id}/apply")


def test_a_dismissed_proposal_stays_quiet_for_90_days(app, client_as, db, standing_world):
    people = standing_world
    with time_machine.travel(NOW, tick=False) as clock:
        _tick(app)
        birch = db.scalar(select(TierProposal).where(TierProposal.org_id == people["birch"].id))
        manager = client_as(people["manager"])
        manager.post(f"/program/proposals/{birch.id}/dismiss", data={"note": "New hires coming"})
        fresh(db)
        assert db.get(TierProposal, birch.id).status == "dismissed"
        assert db.get(TierProposal, birch.id).note == "New hires coming"
        assert db.get(Organization, people["birch"].id).tier == "gold"
        assert _tick(app) == 0
        clock.move_to(NOW + timedelta(days=91))
        assert _tick(app) == 1
        assert _proposals(db)[-1] == ("Birch Systems", "gold", "silver", "proposed")


def test_a_proposal_that_no_longer_holds_is_withdrawn(app, db, standing_world):
    people = standing_world
    with time_machine.travel(NOW, tick=False):
        _tick(app)
        _certify(db, people["birch_admin"], name="Second", valid_until=None)
        _certify(db, factory_user(db, people["birch"]))
        assert _tick(app) == 0
        assert ("Birch Systems", "gold", "silver", "withdrawn") in _proposals(db)


def factory_user(db, org):
    from tests import factories

    return factories.make_user(db, org, access.PARTNER_USER)


def test_a_proposal_is_stale_once_the_tier_changed(app, client_as, db, standing_world):
    people = standing_world
    with time_machine.travel(NOW, tick=False):
        _tick(app)
        aster = db.scalar(select(TierProposal).where(TierProposal.org_id == people["aster"].id))
        db.get(Organization, people["aster"].id).tier = "registered"
        db.flush()
        manager = client_as(people["manager"])
        with unchanged(db, (TierProposal, aster.id), (Organization, people["aster"].id)):
            response = manager.post(f"/program/proposals/{aster.id}/apply", follow_redirects=True)
        assert "tier changed since this was proposed" in response.get_data(as_text=True)


def test_only_the_channel_team_decides_and_partners_see_no_proposal(
    app, client_as, db, standing_world
):
    people = standing_world
    with time_machine.travel(NOW, tick=False):
        _tick(app)
        proposal = db.scalar(select(TierProposal).where(TierProposal.org_id == people["aster"].id))
        for who in ("sales", "aster_admin"):
            client = client_as(people[who])
            assert client.get("/program/proposals").status_code == 403
            with unchanged(db, proposal):
                assert client.post(f"/program/proposals/{proposal.id}/apply").status_code == 403
        partner = client_as(people["aster_admin"])
        page = partner.get("/program/certifications").get_data(as_text=True)
        assert 'data-testid="standing"' in page and "Next tier: Gold" in page
        assert "Certified people: 2 of 2" in page  # its standing, not the proposal


def test_two_decisions_at_once_leave_one(app, client_as, db, standing_world):
    """Another channel manager dismisses the proposal just before this one's apply lands: the
    apply is refused with a clear message and moves nobody."""
    people = standing_world
    with time_machine.travel(NOW, tick=False):
        _tick(app)
        proposal = db.scalar(select(TierProposal).where(TierProposal.org_id == people["aster"].id))
        manager = client_as(people["manager"])
        dismissed = f"UPDATE tier_proposals SET status = 'dismissed' WHERE id = {proposal.id}"
        with written_first(app, "UPDATE tier_proposals", dismissed) as preceded:
            response = manager.post(f"/program/proposals/{proposal.id}/apply")
        assert preceded, "the other decision landed first"
        page = manager.get(response.headers["Location"]).get_data(as_text=True)
        assert "already decided on" in page
        # (The other decision was written inside this request's transaction, and went with its
        # rollback: what matters is that the refused apply moved nobody.)
        fresh(db)
        assert db.get(Organization, people["aster"].id).tier == "silver"
        assert not _events(db, "partner.tier_changed")
