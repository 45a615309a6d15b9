"""Use cases of certifications and trainings: a partner records what its people hold, with an
evidence file; vendor staff verify or reject it. Only verified certifications valid today make a
person certified (a tier's ``required_certified_people``).

Services take plain values and a ``Principal`` as ``actor``, audit every change and only flush.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.program.models import Certification, CertificationKind, CertificationStatus
from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.identity.models import User
from portal.notify import services as notify
from portal.tenancy import Principal

# The evidence file is checked as a case attachment is: type by its first bytes, size, safe name.
from portal.uploads import check_files
from portal.workflow import transition

NAME_MAX = 120
REASON_MAX = 2000


def _text(value: str | None, field: str, message: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise InvalidInput(message, field=field)
    if len(value) > NAME_MAX:
        raise InvalidInput(_("Use at most %(n)d characters.", n=NAME_MAX), field=field)
    return value


def _person_of(actor: Principal, person_id: int | None) -> User:
    person = db.session.get(User, person_id) if person_id else None
    if person is None or person.org_id != actor.org_id or not person.active:
        raise InvalidInput(_("Choose one of your organisation's people."), field="user_id")
    return person


def record_certification(
    *,
    person_id: int | None,
    kind: str,
    name: str,
    issuer: str,
    issued_on: date | None,
    valid_until: date | None,
    evidence: tuple[str, bytes] | None,
    actor: Principal,
) -> Certification:
    """Record a certification or training that one of the actor's organisation's people holds,
    to be verified by the vendor (whose verifiers are told). ``evidence`` is (file name,
    content), or None. Raises ``Forbidden`` (not a partner who keeps certifications) and
    ``InvalidInput`` naming the wrong field; nothing is written then."""
    if not actor.is_partner or not actor.can("certifications.manage"):
        raise Forbidden(_("Only partners record their people's certifications."))
    person = _person_of(actor, person_id)
    if kind not in CertificationKind.__members__:
        raise InvalidInput(_("Choose certification or training."), field="kind")
    name = _text(name, "name", _("Give the certification's name."))
    issuer = _text(issuer, "issuer", _("Say who issued it."))
    today = utcnow().date()
    if issued_on is None:
        raise InvalidInput(_("Give the date it was obtained."), field="issued_on")
    if issued_on > today:
        raise InvalidInput(
            _("The date it was obtained cannot be in the future."), field="issued_on"
        )
    if valid_until is not None and valid_until < issued_on:
        raise InvalidInput(_("It cannot expire before it was obtained."), field="valid_until")
    checked = None
    if evidence is not None and (evidence[0] or evidence[1]):
        try:
            (checked,) = check_files([evidence])
        except InvalidInput as error:
            raise InvalidInput(error.message, field="evidence") from None
    certification = Certification(
        org_id=actor.org_id,
        user_id=person.id,
        kind=kind,
        name=name,
        issuer=issuer,
        issued_on=issued_on,
        valid_until=valid_until,
        recorded_by_id=actor.user_id,
    )
    if checked is not None:
        certification.evidence_filename = checked.filename
        certification.evidence_content_type = checked.content_type
        certification.evidence_size = len(checked.content)
        certification.evidence_sha256 = checked.sha256
        certification.evidence = checked.content
    db.session.add(certification)
    db.session.flush()
    audit.record(
        "certification.recorded",
        certification,
        actor=actor,
        after=audit.snapshot(certification, ["status", *Certification.workflow.audit_fields])
        | {"evidence_sha256": certification.evidence_sha256},
    )
    notify.tell(
        "certifications.verify",
        None,
        "program.certifications",
        _l(
            "%(org)s recorded %(name)s for %(person)s: to verify",
            org=certification.partner.name,
            name=name,
            person=person.name,
        ),
        link=notify.link("compliance.certification_review"),
    )
    return certification


def _decide(certification: Certification, to: str, *, actor: Principal, **kwargs) -> None:
    if not actor.can("certifications.verify"):
        raise Forbidden(_("Only the vendor's channel team verifies certifications."))
    if certification.status != CertificationStatus.recorded:
        raise Conflict(_("This certification was already decided on."))
    if not transition(certification, to, actor=actor, claim=True, **kwargs):
        raise Conflict(_("Someone decided on this certification at the same moment."))


def verify_certification(certification: Certification, *, actor: Principal) -> None:
    """Confirm the person holds it; the partner's keepers of certifications are told. Raises
    ``Forbidden`` and ``Conflict`` (already decided, also by someone at the same moment)."""
    _decide(certification, CertificationStatus.verified, actor=actor)
    _tell_partner(
        certification,
        _l(
            "%(name)s of %(person)s is verified",
            name=certification.name,
            person=certification.person.name,
        ),
    )


def reject_certification(certification: Certification, *, reason: str, actor: Principal) -> None:
    """Refuse it, saying why (the partner is told the reason). Raises ``InvalidInput`` (no
    reason), ``Forbidden`` and ``Conflict``."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why, so that the partner can correct it."), field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("Use at most %(n)d characters.", n=REASON_MAX), field="reason")
    _decide(
        certification,
        CertificationStatus.rejected,
        actor=actor,
        changes={"rejection_reason": reason},
        data={"reason": reason},
    )
    _tell_partner(
        certification,
        _l(
            "%(name)s of %(person)s is not verified: %(reason)s",
            name=certification.name,
            person=certification.person.name,
            reason=reason,
        ),
    )


def _tell_partner(certification: Certification, title: str) -> None:
    notify.tell(
        "certifications.manage",
        certification.org_id,
        "program.decided",
        title,
        link=notify.link("compliance.certifications"),
    )


def people_of(org_id: int) -> list[User]:
    """The active people of an organisation, by name: whom a certification may be recorded for."""
    return list(
        db.session.scalars(
            select(User).where(User.org_id == org_id, User.active.is_(True)).order_by(User.name)
        )
    )
