"""The distributor's first approval: where the programme asks for it, a reseller attached to a
distributor submits to its distributor first; the distributor's admins send the registration on
to the vendor or reject it. The programme's setting is the channel manager's."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.deals.models import DealProgramme, DealRegistration, DealStatus
from partners.deals.services.common import tell_partner
from portal import audit
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

PROGRAMME_ID = 1  # the one row


def programme() -> DealProgramme:
    """The programme's rules (unsaved defaults where the row is missing)."""
    return db.session.get(DealProgramme, PROGRAMME_ID) or DealProgramme(
        id=PROGRAMME_ID, distributor_first_approval=False
    )


def set_distributor_first_approval(required: bool, *, actor: Principal) -> DealProgramme:
    """Whether resellers attached to a distributor submit to it first (audited)."""
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers change the registration programme."))
    row = db.session.get(DealProgramme, PROGRAMME_ID)
    if row is None:
        row = DealProgramme(id=PROGRAMME_ID, distributor_first_approval=False)
        db.session.add(row)
    before = audit.snapshot(row, ["distributor_first_approval"])
    row.distributor_first_approval = bool(required)
    row.updated_at, row.updated_by_id = utcnow(), actor.user_id
    db.session.flush()
    audit.record(
        "deal_programme.updated",
        row,
        actor=actor,
        org_id=actor.org_id,
        before=before,
        after=audit.snapshot(row, ["distributor_first_approval"]),
    )
    return row


def first_reviewer(partner: Organization) -> int | None:
    """The distributor that approves ``partner``'s registrations first, if the programme asks."""
    if partner.kind != "reseller" or partner.managed_by_id is None:
        return None
    if not programme().distributor_first_approval:
        return None
    # The reseller does not see its distributor's organisation: its kind, read as a plain value.
    with read_across() as reader:
        kind = reader.scalar(
            select(Organization.kind).where(Organization.id == partner.managed_by_id)
        )
    return partner.managed_by_id if kind == "distributor" else None


def send_to_distributor(deal: DealRegistration, distributor_id: int, *, actor: Principal) -> None:
    """The reseller's submission goes to its distributor's admins first."""
    transition(deal, DealStatus.distributor_review, actor=actor)
    notify.tell(
        "deals.first_review",
        distributor_id,
        "deals.submitted",
        _l(
            "%(partner)s registered a deal with %(customer)s for your approval",
            partner=deal.partner.name,
            customer=deal.customer_name,
        ),
        link=notify.link("deals.detail", deal_id=deal.id),
    )


def _check_first_reviewer(deal: DealRegistration, actor: Principal) -> None:
    if not actor.can("deals.first_review") or deal.partner.managed_by_id != actor.org_id:
        raise Forbidden(_("Only the reseller's distributor gives the first approval."))


def _past_the_read_only_wall(move) -> None:
    """A distributor reads its resellers' registrations and writes none (the wall, and on
    PostgreSQL its policies), but for its first decision, checked by the caller."""
    with unscoped():  # reason: the distributor's first decision on its reseller's registration
        move()


def pass_to_vendor(deal: DealRegistration, *, actor: Principal) -> None:
    """The distributor approves: the registration goes on to the vendor's review (conflicts are
    looked for then, as for any submission)."""
    from partners.deals.services.registrations import arrive_for_review

    _check_first_reviewer(deal, actor)
    _past_the_read_only_wall(lambda: arrive_for_review(deal, actor=actor))
    tell_partner(
        deal,
        _l(
            "Your distributor approved deal %(number)s; it is now under the vendor's review.",
            number=deal.number,
        ),
    )


def reject_first_review(deal: DealRegistration, *, reason: str, actor: Principal) -> None:
    """The distributor rejects the registration, saying why (the reseller reads it)."""
    _check_first_reviewer(deal, actor)
    if not (reason or "").strip():
        raise InvalidInput(_("Say why the registration is rejected."), field="reason")
    _past_the_read_only_wall(
        lambda: transition(
            deal,
            DealStatus.rejected,
            actor=actor,
            changes={"decision_reason": reason.strip()[:2000]},
            data={"first_review": True},
        )
    )
    tell_partner(
        deal,
        _l(
            "Your distributor rejected deal %(number)s: %(reason)s",
            number=deal.number,
            reason=reason.strip(),
        ),
    )
