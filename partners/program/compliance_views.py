"""Pages of tier compliance: a partner's certifications (kept by the partner), the vendor's
verification queue, and the tier changes the tick proposes (decided by the channel manager)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.program import certifications as certification_services
from partners.program import queries, standing
from partners.program.forms import (
    CERTIFICATION_KINDS,
    CertificationForm,
    DecideForm,
    DismissProposalForm,
    RejectCertificationForm,
)
from partners.program.models import (
    REQUIREMENT_CURRENCY,
    Certification,
    CertificationStatus,
    TierProposal,
)
from portal import access, uploads
from portal.db import get_or_404
from portal.extensions import talisman
from portal.identity.models import Organization
from portal.navigation import NavItem
from portal.web import attempt, choices, form_status, paginate

bp = Blueprint("compliance", __name__, url_prefix="/program")

NAVIGATION = [
    NavItem(
        "compliance.certifications",
        _l("Certifications"),
        "certifications.manage",
        ("partner",),
        31,
        "channel",
    ),
    NavItem(
        "compliance.certification_review",
        _l("Certifications to verify"),
        "certifications.verify",
        ("vendor",),
        32,
        "channel",
    ),
    NavItem(
        "compliance.proposals", _l("Tier reviews"), "program.review", ("vendor",), 33, "channel"
    ),
]


@bp.context_processor
def _helpers() -> dict:
    return {
        "certification_kinds": CERTIFICATION_KINDS,
        "certification_label": Certification.workflow.label,
        "proposal_label": TierProposal.workflow.label,
        "requirement_currency": REQUIREMENT_CURRENCY,
        "tier_names": {t.code: t.name for t in queries.tiers()},
    }


# The partner's certifications.


def _certification_form(form: CertificationForm | None = None) -> CertificationForm:
    form = form or CertificationForm()
    people = certification_services.people_of(g.principal.org_id)
    form.user_id.choices = choices([("", "—"), *((p.id, p.name) for p in people)])
    return form


@bp.get("/certifications")
@login_required
@access.require("certifications.manage")
def certifications(form: CertificationForm | None = None, status: int = 200):
    org = get_or_404(Organization, g.principal.org_id)
    page = paginate(queries.certifications(org_id=org.id))
    return render_template(
        "partners/program/certifications.html",
        org=org,
        page=page,
        form=_certification_form(form),
        standing=standing.partner_standing(org.id, org.tier),
    ), status


@bp.post("/certifications")
@login_required
@access.require("certifications.manage")
def record_certification():
    form = _certification_form()
    if form.validate_on_submit():
        evidence = uploads.sent_file("evidence")
        with attempt(form) as saving:
            certification_services.record_certification(
                person_id=form.user_id.data,
                kind=form.kind.data,
                name=form.name.data,
                issuer=form.issuer.data,
                issued_on=form.issued_on.data,
                valid_until=form.valid_until.data,
                evidence=evidence,
                actor=g.principal,
            )
        if saving:
            flash(_("Recorded: the vendor will verify it."), "success")
            return redirect(url_for("compliance.certifications"))
    return certifications(form, form_status(form))


@bp.get("/certifications/<int:certification_id>/evidence")
# The site-wide policy is written after the view, so the download's own goes through Talisman.
@talisman(content_security_policy=uploads.DOWNLOAD_POLICY)
@login_required
@access.require("home.view")
def evidence(certification_id: int):
    """The evidence file, as a download: the wall finds a partner only its own certifications
    (vendor staff see every partner's, customers none)."""
    found = get_or_404(Certification, certification_id)
    if found.evidence is None:
        abort(404)
    return uploads.download(found.evidence, found.evidence_filename or "evidence")


# The vendor's verification.


@bp.get("/certifications/review")
@login_required
@access.require("certifications.verify")
def certification_review():
    wanted = request.args.get("status", CertificationStatus.recorded.value)
    status = wanted if wanted in CertificationStatus.__members__ else None
    return render_template(
        "partners/program/certification_review.html",
        page=paginate(queries.certifications(status=status)),
        status=status,
        statuses=list(CertificationStatus),
        decide_form=DecideForm(),
        reject_form=RejectCertificationForm(),
    )


@bp.post("/certifications/<int:certification_id>/verify")
@login_required
@access.require("certifications.verify")
def verify(certification_id: int):
    found = get_or_404(Certification, certification_id)
    if DecideForm().validate_on_submit():
        with attempt() as saving:
            certification_services.verify_certification(found, actor=g.principal)
        if saving:
            flash(_("%(name)s is verified.", name=found.name), "success")
    return redirect(url_for("compliance.certification_review"))


@bp.post("/certifications/<int:certification_id>/reject")
@login_required
@access.require("certifications.verify")
def reject(certification_id: int):
    found = get_or_404(Certification, certification_id)
    form = RejectCertificationForm()
    with attempt() as saving:
        certification_services.reject_certification(
            found, reason=form.reason.data if form.validate_on_submit() else "", actor=g.principal
        )
    if saving:
        flash(_("%(name)s is rejected; the partner is told why.", name=found.name), "success")
    return redirect(url_for("compliance.certification_review"))


# The channel manager's tier reviews.


@bp.get("/proposals")
@login_required
@access.require("program.review")
def proposals():
    return render_template(
        "partners/program/proposals.html",
        proposals=queries.open_proposals(),
        decided=queries.decided_proposals(),
        decide_form=DecideForm(),
        dismiss_form=DismissProposalForm(),
    )


@bp.post("/proposals/<int:proposal_id>/apply")
@login_required
@access.require("program.review")
def apply(proposal_id: int):
    proposal = get_or_404(TierProposal, proposal_id)
    if DecideForm().validate_on_submit():
        with attempt() as saving:
            standing.apply_proposal(proposal, actor=g.principal)
        if saving:
            flash(_("%(org)s moved; its admins are told.", org=proposal.partner.name), "success")
    return redirect(url_for("compliance.proposals"))


@bp.post("/proposals/<int:proposal_id>/dismiss")
@login_required
@access.require("program.review")
def dismiss(proposal_id: int):
    proposal = get_or_404(TierProposal, proposal_id)
    form = DismissProposalForm()
    if form.validate_on_submit():
        with attempt() as saving:
            standing.dismiss_proposal(proposal, note=form.note.data or "", actor=g.principal)
        if saving:
            flash(_("Dismissed: %(org)s keeps its tier.", org=proposal.partner.name), "success")
    else:
        flash(_("The note is too long."), "danger")
    return redirect(url_for("compliance.proposals"))
