"""Pages of the partner programme: the partner directory and profiles (vendor staff), tiers
and partners' tiers, territories and specialisations (vendor admins change them), and each
partner's own programme page."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.program import queries, services
from partners.program.forms import (
    CoverageForm,
    MoveTierForm,
    NewTierForm,
    PartnerTierForm,
    TierForm,
    tier_choices,
)
from partners.program.models import REQUIREMENT_CURRENCY, Tier
from portal import access, audit, concurrency
from portal.concurrency import EditConflict
from portal.db import db, get_or_404
from portal.identity import queries as identity_queries
from portal.identity.models import Organization
from portal.navigation import NavItem
from portal.product_lines import PRODUCT_LINES
from portal.web import attempt, form_status, paginate

bp = Blueprint("program", __name__, url_prefix="/program")

NAVIGATION = [
    NavItem("program.directory", _l("Partners"), "program.view", ("vendor",), 30, "channel"),
    NavItem("program.mine", _l("Programme"), "program.own", ("partner",), 30, "channel"),
]


@bp.context_processor
def _helpers() -> dict:
    return {
        "country_name": queries.country_name,
        "requirement_currency": REQUIREMENT_CURRENCY,
    }


def _labelled(conflict: EditConflict, form) -> EditConflict:
    """Name the changed fields as the form labels them, not by their attribute names."""
    conflict.changes = [
        (form[field].label.text if field in form else field, before, now)
        for field, before, now in conflict.changes
    ]
    return conflict


# The directory and profiles (vendor staff).


def _directory_filters(args) -> dict:
    """The filters of the query string; a value that is not one the page offers is ignored."""
    tier = args.get("tier", "")
    country = queries.country_code(args.get("country", ""))
    product_line = args.get("specialisation", "")
    kind = args.get("kind", "")
    return {
        "tier": tier if tier == queries.NO_TIER or queries.tier_by_code(tier) else None,
        "country": country,
        "product_line": product_line if product_line in PRODUCT_LINES else None,
        "kind": kind if kind in access.PARTNER_KINDS else None,
        "search": args.get("q", "").strip()[:200] or None,
    }


@bp.get("/partners")
@login_required
@access.require("program.view")
def directory():
    filters = _directory_filters(request.args)
    page = paginate(queries.directory(**filters))
    ids = [org.id for org in page.items]
    tiers = queries.tiers()
    return render_template(
        "partners/program/directory.html",
        page=page,
        filters=filters,
        coverage=queries.coverage_of(ids),
        open_deals=queries.open_deal_counts(ids),
        tiers=tiers,
        tier_by_code={t.code: t for t in tiers},
        countries=sorted(
            set(queries.countries_in_use()) | ({filters["country"]} - {None}),
            key=queries.country_name,
        ),
        product_lines=PRODUCT_LINES,
        kinds=access.PARTNER_KINDS,
        no_tier=queries.NO_TIER,
    )


@bp.get("/partners/<int:partner_id>")
@login_required
@access.require("program.view")
def profile(partner_id: int):
    return _profile(queries.partner_or_404(partner_id))


def _profile(
    partner: Organization,
    tier_form: PartnerTierForm | None = None,
    conflict: EditConflict | None = None,
    status: int = 200,
):
    tiers = queries.tiers()
    if tier_form is None:
        tier_form = PartnerTierForm(tier=partner.tier or "", seen_tier=partner.tier or "")
    tier_form.tier.choices = tier_choices(tiers)
    return render_template(
        "partners/program/profile.html",
        partner=partner,
        tiers=tiers,
        tier=next((t for t in tiers if t.code == partner.tier), None),
        coverage=queries.coverage_of([partner.id])[partner.id],
        users=db.session.scalars(identity_queries.users_of(partner.id)).all(),
        deals=queries.open_deals_of(partner.id),
        figures=queries.lead_figures(partner.id),
        tier_form=tier_form,
        conflict=conflict,
        events=audit.history_for(partner),
    ), status


@bp.post("/partners/<int:partner_id>/tier")
@login_required
@access.require("program.manage")
def change_tier(partner_id: int):
    partner = queries.partner_or_404(partner_id)
    form = PartnerTierForm()
    form.tier.choices = tier_choices(queries.tiers())
    if form.validate_on_submit():
        with attempt(form) as saving:
            moved = services.change_partner_tier(
                partner,
                tier_code=form.tier.data or None,
                seen_tier=form.seen_tier.data or None,
                actor=g.principal,
            )
        if saving:
            if moved:
                tier = queries.tier_by_code(partner.tier)
                flash(
                    _("%(name)s is now in the %(tier)s tier.", name=partner.name, tier=tier.name)
                    if tier
                    else _("%(name)s no longer has a tier.", name=partner.name),
                    "success",
                )
            else:
                flash(_("%(name)s stays in its tier.", name=partner.name), "info")
            return redirect(url_for("program.profile", partner_id=partner.id))
        if isinstance(saving.error, EditConflict):
            form.seen_tier.data = partner.tier or ""  # saving again is a conscious choice
            return _profile(partner, form, _labelled(saving.error, form), 409)
    return _profile(partner, form, status=form_status(form))


@bp.route("/partners/<int:partner_id>/coverage", methods=["GET", "POST"])
@login_required
@access.require("program.manage")
def edit_coverage(partner_id: int):
    partner = queries.partner_or_404(partner_id)
    form = CoverageForm()
    conflict = None
    if not form.is_submitted():
        _show_coverage(form, partner, with_input=True)
    elif form.validate_on_submit():
        with attempt(form) as saving:
            services.update_partner_coverage(
                partner,
                countries=form.country_list(),
                product_lines=form.product_lines.data,
                seen_countries=form.split(form.seen_countries.data),
                seen_product_lines=form.split(form.seen_product_lines.data),
                actor=g.principal,
            )
        if saving:
            flash(
                _("Territories and specialisations of %(name)s saved.", name=partner.name),
                "success",
            )
            return redirect(url_for("program.profile", partner_id=partner.id))
        if isinstance(saving.error, EditConflict):
            conflict = _labelled(saving.error, form)
            _show_coverage(form, partner, with_input=False)
    return render_template(
        "partners/program/coverage.html", partner=partner, form=form, conflict=conflict
    ), (409 if conflict else form_status(form))


def _show_coverage(form: CoverageForm, partner: Organization, *, with_input: bool) -> None:
    """Put the partner's coverage as it is now in the form: as the 'seen' state always, and as
    the input too when the form is first shown."""
    now = queries.coverage_of([partner.id])[partner.id]
    form.seen_countries.data = form.joined(now.countries)
    form.seen_product_lines.data = form.joined(now.product_lines)
    if with_input:
        form.countries.data = ", ".join(now.countries)
        form.product_lines.data = now.product_lines


# Tiers.


@bp.get("/tiers")
@login_required
@access.require("program.view")
def tiers():
    return render_template(
        "partners/program/tiers.html",
        tiers=queries.tiers(),
        counts=queries.partner_counts_by_tier(),
        move_form=MoveTierForm(),
    )


def _tier_terms(form) -> dict:
    return {
        "name": form.name.data,
        "discount_percent": form.discount_percent.data,
        "protection_days": form.protection_days.data,
        "distribution_weight": form.distribution_weight.data,
        "max_open_leads": form.max_open_leads.data,
        "required_won_value_12m": form.required_won_value_12m.data,
        "required_acceptance_percent": form.required_acceptance_percent.data,
        "required_certified_people": form.required_certified_people.data,
    }


@bp.route("/tiers/new", methods=["GET", "POST"])
@login_required
@access.require("program.manage")
def new_tier():
    form = NewTierForm()
    if form.validate_on_submit():
        with attempt(form) as saving:
            tier = services.create_tier(**_tier_terms(form), actor=g.principal)
        if saving:
            flash(
                _("Tier %(name)s added at the top: move it into its place.", name=tier.name),
                "success",
            )
            return redirect(url_for("program.tiers"))
    return render_template("partners/program/tier_new.html", form=form), form_status(form)


@bp.post("/tiers/<int:tier_id>/move")
@login_required
@access.require("program.manage")
def move_tier(tier_id: int):
    tier = get_or_404(Tier, tier_id)
    form = MoveTierForm()
    if form.validate_on_submit() and form.direction.data in ("up", "down"):
        with attempt() as saving:
            services.move_tier(tier, up=form.direction.data == "up", actor=g.principal)
        if saving:
            flash(_("Tier %(name)s moved.", name=tier.name), "success")
    else:
        flash(_("Choose up or down."), "danger")
    return redirect(url_for("program.tiers"))


@bp.route("/tiers/<int:tier_id>", methods=["GET", "POST"])
@login_required
@access.require("program.manage")
def edit_tier(tier_id: int):
    tier = get_or_404(Tier, tier_id)
    form = TierForm(obj=tier)
    conflict = None
    if not form.is_submitted():
        form.snapshot.data = concurrency.snapshot(tier, services.TIER_FIELDS)
    elif form.validate_on_submit():
        with attempt(form) as saving:
            changed = services.update_tier(
                tier,
                snapshot=form.snapshot.data,
                name=form.name.data,
                discount_percent=form.discount_percent.data,
                protection_days=form.protection_days.data,
                distribution_weight=form.distribution_weight.data,
                max_open_leads=form.max_open_leads.data,
                required_won_value_12m=form.required_won_value_12m.data,
                required_acceptance_percent=form.required_acceptance_percent.data,
                required_certified_people=form.required_certified_people.data,
                actor=g.principal,
            )
        if saving:
            flash(
                _("Tier %(name)s saved.", name=tier.name)
                if changed
                else _("Nothing to save: tier %(name)s is unchanged.", name=tier.name),
                "success" if changed else "info",
            )
            return redirect(url_for("program.tiers"))
        if isinstance(saving.error, EditConflict):
            conflict = _labelled(saving.error, form)
            form.snapshot.data = concurrency.snapshot(tier, services.TIER_FIELDS)
    return render_template(
        "partners/program/tier_form.html",
        tier=tier,
        form=form,
        conflict=conflict,
        events=audit.history_for(tier),
    ), (409 if conflict else form_status(form))


# The partner's own programme.


@bp.get("/mine")
@login_required
@access.require("program.own")
def mine():
    org = get_or_404(Organization, g.principal.org_id)
    tiers = queries.tiers()
    return render_template(
        "partners/program/mine.html",
        org=org,
        tiers=tiers,
        tier=next((t for t in tiers if t.code == org.tier), None),
        coverage=queries.coverage_of([org.id])[org.id],
    )
