"""Claims: the partner claims what an approved request's activity cost, with proof of
performance; the channel team approves (the unused part goes back), rejects, or marks paid."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.funds.models import (
    OPEN_CLAIM_STATUSES,
    ClaimStatus,
    FundClaim,
    FundClaimFile,
    FundRequest,
    RequestStatus,
)
from partners.funds.services.common import (
    CLAIM_FIELDS,
    clean_amount,
    money,
    move_reserved,
    require_manager,
    require_own,
    tell_channel_team,
    tell_partner,
)
from portal import audit
from portal.db import db
from portal.errors import InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.uploads import check_files
from portal.workflow import transition


def claim_funds(
    record: FundRequest,
    *,
    amount,
    description: str,
    files: list[tuple[str, bytes]],
    actor: Principal,
) -> FundClaim:
    """Claim what an approved request's activity cost (at most its amount), with proof of
    performance: at least one file, checked as case attachments are."""
    require_own(record, actor)
    _lock(record)
    if record.status != RequestStatus.approved:
        raise InvalidInput(_("Only an approved request can be claimed."))
    if _open_claim(record) is not None:
        raise InvalidInput(_("This request has a claim already."))
    amount = clean_amount(amount)
    if amount > record.amount:
        raise InvalidInput(
            _("A claim is at most the approved %(amount)s.", amount=money(record.amount)),
            field="amount",
        )
    checked = check_files(files)
    if not checked:
        raise InvalidInput(_("Attach the proof of performance: at least one file."), field="files")
    claim = FundClaim(
        org_id=record.org_id,
        request_id=record.id,
        amount=amount,
        description=(description or "").strip()[:5000],
        status=ClaimStatus.submitted,
        submitted_by_id=actor.user_id,
    )
    db.session.add(claim)
    db.session.flush()
    for f in checked:
        db.session.add(
            FundClaimFile(
                org_id=record.org_id,
                claim_id=claim.id,
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.content),
                sha256=f.sha256,
                uploaded_by_id=actor.user_id,
                content=f.content,
            )
        )
    db.session.flush()
    audit.record(
        "fund_claim.submitted",
        claim,
        actor=actor,
        after=audit.snapshot(claim, CLAIM_FIELDS) | {"files": [f.filename for f in checked]},
    )
    tell_channel_team(
        record,
        _l(
            "%(partner)s claims %(amount)s for %(activity)s",
            partner=record.partner.name,
            amount=notify.lazy(money, amount),
            activity=record.activity,
        ),
    )
    return claim


def _lock(record: FundRequest) -> None:
    """Hold the request's row to the end of the transaction (PostgreSQL), so two claims, or a
    claim and its approval, on one request take turns."""
    db.session.execute(select(FundRequest.id).where(FundRequest.id == record.id).with_for_update())


def _open_claim(record: FundRequest) -> FundClaim | None:
    return db.session.scalar(
        select(FundClaim).where(
            FundClaim.request_id == record.id, FundClaim.status.in_(OPEN_CLAIM_STATUSES)
        )
    )


def approve_claim(claim: FundClaim, *, actor: Principal) -> None:
    """Approve a claim: what the approved request reserved and the claim did not use goes back
    to the budget."""
    require_manager(actor)
    record = claim.request
    _lock(record)
    if claim.status != ClaimStatus.submitted:
        raise InvalidTransition(claim.workflow.refusal(claim.status, ClaimStatus.approved))
    unused = record.amount - claim.amount
    if unused and record.budget is not None:
        move_reserved(record.budget, -unused)
    if not transition(claim, ClaimStatus.approved, actor=actor, claim=True):
        raise InvalidTransition(_("Someone decided on this claim a moment ago."))
    tell_partner(
        record,
        _l(
            "Your claim of %(amount)s for %(activity)s is approved.",
            amount=notify.lazy(money, claim.amount),
            activity=record.activity,
        ),
        also=[claim.submitted_by_id],
    )


def reject_claim(claim: FundClaim, *, reason: str, actor: Principal) -> None:
    """Reject a claim, saying why; the request stays approved and may be claimed again."""
    require_manager(actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the claim is rejected."), field="reason")
    transition(claim, ClaimStatus.rejected, actor=actor, changes={"decision_reason": reason})
    tell_partner(
        claim.request,
        _l(
            "Your claim for %(activity)s is rejected: %(reason)s",
            activity=claim.request.activity,
            reason=reason,
        ),
        also=[claim.submitted_by_id],
    )


def pay_claim(claim: FundClaim, *, reference: str, actor: Principal) -> None:
    """Record that an approved claim is paid, with the payment's reference."""
    require_manager(actor)
    reference = (reference or "").strip()
    if not reference:
        raise InvalidInput(_("Give the payment's reference."), field="reference")
    transition(claim, ClaimStatus.paid, actor=actor, changes={"payment_reference": reference[:100]})
    tell_partner(
        claim.request,
        _l(
            "%(amount)s for %(activity)s is paid (%(reference)s).",
            amount=notify.lazy(money, claim.amount),
            activity=claim.request.activity,
            reference=reference[:100],
        ),
        also=[claim.submitted_by_id],
    )
