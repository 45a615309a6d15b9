"""NPS pages: the vendor's campaigns and results, and the public answer page of a signed link.

The answer page needs no sign-in. GET only shows the form (email scanners open links); POST,
CSRF-protected like every form, records. A link that was answered, has expired or was altered
gets a page that says so, never an error page.
"""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from feedback import links
from feedback.surveys import answers, queries, services
from feedback.surveys.forms import AnswerForm, CampaignForm, CloseForm, ScheduleForm
from feedback.surveys.models import NpsCampaign
from portal import access, audit
from portal.db import db, get_or_404
from portal.errors import InvalidInput
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.navigation import NavItem
from portal.product_lines import PRODUCT_LINES
from portal.segments import queries as segments
from portal.web import attempt, choices, form_status

bp = Blueprint("nps", __name__, url_prefix="/feedback/nps")
public = Blueprint("surveys", __name__, url_prefix="/feedback/survey")
NAVIGATION = [NavItem("nps.index", _l("NPS"), "feedback.view", ("vendor",), 60, "feedback")]


@bp.get("/")
@login_required
@access.require("feedback.view")
def index():
    return render_template(
        "feedback/nps/index.html", campaigns=queries.campaigns(), trend=queries.trend()
    )


def _org_choices(form: CampaignForm) -> None:
    orgs = db.session.scalars(
        select(Organization)
        .where(Organization.kind != access.VENDOR, Organization.active.is_(True))
        .order_by(Organization.name)
    )
    form.audience_org_ids.choices = choices((o.id, f"{o.name} ({o.kind_label})") for o in orgs)
    form.audience_segment_id.choices = choices(
        [("", _("No segment"))] + [(str(i), name) for i, name in segments.segment_choices()]
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("feedback.manage")
def new():
    form = CampaignForm()
    _org_choices(form)
    if form.validate_on_submit():
        with attempt(form) as done:
            campaign = services.create_campaign(form.fields_dict(), actor=g.principal)
        if done:
            flash(_("Campaign “%(name)s” is saved as a draft.", name=campaign.name), "success")
            return redirect(url_for("nps.detail", campaign_id=campaign.id))
    return render_template("feedback/nps/form.html", form=form), form_status(form)


@bp.get("/<int:campaign_id>")
@login_required
@access.require("feedback.view")
def detail(campaign_id: int):
    return _detail(get_or_404(NpsCampaign, campaign_id))


def _detail(
    campaign: NpsCampaign,
    schedule: ScheduleForm | None = None,
    status: int = 200,
    close: CloseForm | None = None,
):
    return render_template(
        "feedback/nps/detail.html",
        campaign=campaign,
        results=queries.results(campaign),
        schedule=schedule or ScheduleForm(formdata=None),
        close=close or CloseForm(formdata=None),
        confirm=ConfirmForm(),
        products=PRODUCT_LINES,
        events=audit.history_for(campaign),
        segment_name=(
            segments.name_of(campaign.audience_segment_id) if campaign.audience_segment_id else None
        ),
    ), status


@bp.post("/<int:campaign_id>/schedule")
@login_required
@access.require("feedback.manage")
def schedule(campaign_id: int):
    campaign = get_or_404(NpsCampaign, campaign_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _detail(campaign, form, 422)
    with attempt(form) as done:
        services.schedule_campaign(
            campaign, form.send_at.data.replace(tzinfo=UTC), actor=g.principal
        )
    if not done:
        return _detail(campaign, form, 422)
    flash(_("The campaign will be sent at the time you chose."), "success")
    return redirect(url_for("nps.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/send")
@login_required
@access.require("feedback.manage")
def send(campaign_id: int):
    campaign = get_or_404(NpsCampaign, campaign_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            count = services.send_campaign(campaign, actor=g.principal)
        if done:
            flash(_("The campaign was sent to %(n)d people.", n=count), "success")
    return redirect(url_for("nps.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/unschedule")
@login_required
@access.require("feedback.manage")
def unschedule(campaign_id: int):
    campaign = get_or_404(NpsCampaign, campaign_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("nps.detail", campaign_id=campaign.id))
    return _change(
        campaign,
        services.unschedule_campaign,
        _("The schedule is cancelled: the campaign is a draft again."),
    )


@bp.post("/<int:campaign_id>/close")
@login_required
@access.require("feedback.manage")
def close(campaign_id: int):
    campaign = get_or_404(NpsCampaign, campaign_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _detail(campaign, status=422, close=form)
    return _change(
        campaign,
        services.close_campaign,
        _("The campaign is closed: its links no longer take answers."),
    )


def _change(campaign: NpsCampaign, use_case, done_message: str):
    """Run a change of the campaign's status; a refusal is flashed on its page, with its code."""
    with attempt() as done:
        use_case(campaign, actor=g.principal)
    if not done:
        return _detail(campaign, status=done.error.status_code)
    flash(done_message, "success")
    return redirect(url_for("nps.detail", campaign_id=campaign.id))


# The signed link: no sign-in.


def _refused(message: str, status: int):
    return render_template("feedback/survey/closed.html", message=message), status


@public.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    try:
        opened = answers.open_link(token)
    except links.LinkExpired:
        return _refused(_("This survey link has expired. Thank you all the same."), 410)
    except answers.SurveyClosed:
        return _closed()
    except links.LinkInvalid:
        return _refused(
            _("This survey link is not valid. Please open it exactly as it came in the email."),
            400,
        )
    if opened.answered:
        return _already_answered()
    form = AnswerForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                answers.record_answer(token, form.score.data, form.comment.data)
                db.session.commit()
            except links.AlreadyAnswered:
                db.session.rollback()
                return _already_answered()
            except answers.SurveyClosed:  # closed since the link was opened
                db.session.rollback()
                return _closed()
            except InvalidInput as error:
                db.session.rollback()
                form.score.errors = [*form.score.errors, error.message]
            else:
                return render_template("feedback/survey/thanks.html")
        return render_template("feedback/survey/answer.html", form=form, opened=opened), 422
    return render_template("feedback/survey/answer.html", form=form, opened=opened)


def _closed():
    return _refused(_("This survey is closed. Thank you all the same."), 410)


def _already_answered():
    return render_template(
        "feedback/survey/closed.html",
        message=_("You have already answered this survey. Thank you!"),
    ), 200
