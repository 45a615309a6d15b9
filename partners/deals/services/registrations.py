"""A partner registers, edits and submits a deal; conflicts are recorded for the review; the vendor
records its direct deals."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from partners.deals import matching
from partners.deals.models import (
    AUDIT_FIELDS,
    OPEN_DEAL_STATUSES,
    DealConflict,
    DealRegistration,
    DealStatus,
    DirectDeal,
)
from partners.deals.services.common import (
    REGISTERING_KINDS,
    clean_fields,
    tell_reviewers,
)
from portal import access, audit
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidTransition
from portal.identity.models import Organization
from portal.tenancy import Principal
from portal.workflow import transition


def register_deal(
    partner: Organization, fields: dict, *, submit: bool, actor: Principal
) -> DealRegistration:
    """A partner registers a deal, as a draft or submitted at once."""
    if not actor.can("deals.register") or partner.id != actor.org_id:
        raise Forbidden(_("Only a partner registers its own deals."))
    if partner.kind not in REGISTERING_KINDS:
        raise Forbidden(_("Only resellers and distributors register deals."))
    deal = DealRegistration(
        org_id=partner.id,
        number="pending",
        status=DealStatus.draft,
        registered_by_id=actor.user_id,
        **clean_fields(fields),
    )
    db.session.add(deal)
    db.session.flush()
    deal.number = f"DR-{deal.created_at.year}-{deal.id:05d}"  # from the id: never reused
    audit.record("deal.registered", deal, actor=actor, after=audit.snapshot(deal, AUDIT_FIELDS))
    if submit:
        submit_deal(deal, actor=actor)
    return deal


def update_deal(
    deal: DealRegistration, fields: dict, *, seen: str | None, actor: Principal
) -> None:
    """The partner edits a draft, or a registration the vendor asked more information about."""
    if deal.org_id != actor.org_id or not actor.can("deals.register"):
        raise Forbidden(_("Only the registering partner edits a registration."))
    if deal.status not in (DealStatus.draft, DealStatus.info_requested):
        raise InvalidTransition(
            _("Only a draft or a registration awaiting information can be edited.")
        )
    check_unchanged(deal, seen)
    before = audit.snapshot(deal, AUDIT_FIELDS)
    for key, value in clean_fields(fields).items():
        setattr(deal, key, value)
    audit.record(
        "deal.edited", deal, actor=actor, before=before, after=audit.snapshot(deal, AUDIT_FIELDS)
    )


def submit_deal(deal: DealRegistration, *, actor: Principal) -> list[DealConflict]:
    """Submit for review; conflicts with open registrations and direct deals are recorded for
    the channel manager. Returns them (the partner is told only 'under review'). Where the
    programme asks for it, a reseller's registration goes to its distributor first
    (``first_review``): no conflicts yet, they are looked for when it reaches the vendor."""
    from partners.deals.services.first_review import first_reviewer, send_to_distributor

    if deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner submits a registration."))
    distributor_id = first_reviewer(deal.partner)
    if distributor_id is not None:
        send_to_distributor(deal, distributor_id, actor=actor)
        return []
    return arrive_for_review(deal, actor=actor)


def arrive_for_review(deal: DealRegistration, *, actor: Principal) -> list[DealConflict]:
    """The registration reaches the vendor's review queue: conflicts are recorded, the channel
    managers told. One passed on by the reseller's distributor keeps the time the reseller
    submitted it: that is when it claimed the customer (who was first in a conflict)."""
    kept = {"submitted_at": deal.submitted_at} if deal.status == "distributor_review" else None
    transition(deal, DealStatus.submitted, actor=actor, changes=kept)
    conflicts = _record_conflicts(deal)
    if conflicts:  # the vendor's to know: an event in the vendor's history, by no partner user
        audit.record(
            "deal.conflicts_flagged",
            deal,
            actor=None,
            org_id=conflicts[0].org_id,
            after={"conflicts": len(conflicts)},
        )
    tell_reviewers(
        deal,
        "deals.submitted",
        _l(
            "%(partner)s registered a deal with %(customer)s",
            partner=deal.partner.name,
            customer=deal.customer_name,
        ),
        body=_l("%(n)d possible conflicts.", n=len(conflicts)) if conflicts else "",
    )
    return conflicts


def _record_conflicts(deal: DealRegistration) -> list[DealConflict]:
    # Every partner's open registrations and the vendor's open direct deals, read as plain rows
    # past the partner's wall.
    with read_across() as reader:
        registrations = reader.execute(
            select(
                DealRegistration.id,
                DealRegistration.customer_name_key,
                DealRegistration.customer_domain,
            ).where(DealRegistration.status.in_(OPEN_DEAL_STATUSES), DealRegistration.id != deal.id)
        ).all()
        directs = reader.execute(
            select(DirectDeal.id, DirectDeal.customer_name_key, DirectDeal.customer_domain).where(
                DirectDeal.status == "open"
            )
        ).all()
        vendor_id = reader.scalar(select(Organization.id).where(Organization.kind == access.VENDOR))
        recorded = reader.execute(
            select(
                DealConflict.registration_id,
                DealConflict.other_registration_id,
                DealConflict.direct_deal_id,
            ).where(
                or_(
                    DealConflict.registration_id == deal.id,
                    DealConflict.other_registration_id == deal.id,
                )
            )
        ).all()
    # A registration submitted again (after the vendor asked for information) keeps the
    # conflicts recorded the first time, settled or not: each clash is recorded once.
    known = {("direct", d) for _r, _o, d in recorded if d is not None} | {
        ("registration", o if r == deal.id else r) for r, o, d in recorded if d is None
    }
    candidates = [
        candidate
        for candidate in [matching.Candidate("registration", *row) for row in registrations]
        + [matching.Candidate("direct", *row) for row in directs]
        if (candidate.kind, candidate.id) not in known
    ]
    conflicts = []
    for match in matching.find_matches(deal.customer_name, deal.customer_domain, candidates):
        registration = match.candidate.kind == "registration"
        conflicts.append(
            DealConflict(
                org_id=vendor_id,
                registration_id=deal.id,
                kind=match.reason,
                score=match.score,
                other_registration_id=match.candidate.id if registration else None,
                direct_deal_id=None if registration else match.candidate.id,
            )
        )
    # PostgreSQL would refuse the INSERT's RETURNING row under the partner's read policy.
    with unscoped():  # reason: the vendor's review data, which the partner may not read back
        db.session.add_all(conflicts)
    return conflicts


def create_direct_deal(fields: dict, *, actor: Principal) -> DirectDeal:
    """The vendor records a deal it works itself, so registrations are checked against it."""
    if not actor.can("direct_deals.manage"):
        raise Forbidden(_("Only vendor sales staff record direct deals."))
    cleaned = clean_fields(
        {
            **fields,
            "products": ["direct"],
            "expected_close": fields.get("expected_close") or utcnow().date(),
        }
    )
    deal = DirectDeal(
        customer_name=cleaned["customer_name"],
        customer_name_key=cleaned["customer_name_key"],
        customer_domain=cleaned["customer_domain"],
        value=cleaned["value"],
        currency=cleaned["currency"],
        owner_id=actor.user_id,
    )
    db.session.add(deal)
    db.session.flush()
    audit.record(
        "direct_deal.created",
        deal,
        actor=actor,
        after={"customer_name": deal.customer_name, "domain": deal.customer_domain},
    )
    return deal
