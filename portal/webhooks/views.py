"""Pages where an organisation's admins manage its webhook endpoints and read their delivery
log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from portal import access
from portal.db import db, get_or_404
from portal.identity.forms import ConfirmForm
from portal.navigation import NavItem
from portal.web import attempt, form_status, paginate
from portal.webhooks import catalogue, queries, services
from portal.webhooks.forms import WebhookForm
from portal.webhooks.models import STATUS_LABELS, WebhookDelivery, WebhookSubscription

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

NAVIGATION = (NavItem("webhooks.index", _l("Webhooks"), "webhooks.manage", order=96, area="admin"),)


@bp.get("/")
@login_required
@access.require("webhooks.manage")
def index():
    subscriptions = list(db.session.scalars(queries.subscriptions_of(g.principal.org_id)))
    return render_template("webhooks/index.html", subscriptions=subscriptions)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("webhooks.manage")
def new():
    form = WebhookForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            subscription, secret = services.create_subscription(
                g.principal.org_id,
                url=form.url.data,
                events=form.event_list(),
                description=form.description.data or "",
                actor=g.principal,
            )
        if done:
            flash(_("The endpoint is subscribed."), "success")
            return _detail(subscription, secret)  # the secret is shown this once
    return render_template(
        "webhooks/form.html", form=form, subscription=None, event_types=catalogue.event_types()
    ), form_status(form)


@bp.get("/<int:webhook_id>")
@login_required
@access.require("webhooks.manage")
def detail(webhook_id: int):
    return _detail(get_or_404(WebhookSubscription, webhook_id))


def _detail(subscription: WebhookSubscription, secret: str | None = None):
    page = paginate(queries.log_of(subscription.id), per_page=20)
    return render_template(
        "webhooks/detail.html",
        subscription=subscription,
        secret=secret,
        page=page,
        attempts=queries.attempts_of([d.id for d in page.items]),
        labels=STATUS_LABELS,
        confirm=ConfirmForm(),
    )


@bp.route("/<int:webhook_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("webhooks.manage")
def edit(webhook_id: int):
    subscription = get_or_404(WebhookSubscription, webhook_id)
    form = WebhookForm(obj=subscription)
    if not form.is_submitted():
        form.events.data = "\n".join(subscription.events)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_subscription(
                subscription,
                url=form.url.data,
                events=form.event_list(),
                description=form.description.data or "",
                active=form.active.data,
                actor=g.principal,
            )
        if done:
            flash(_("The endpoint is saved."), "success")
            return redirect(url_for("webhooks.detail", webhook_id=subscription.id))
    return render_template(
        "webhooks/form.html",
        form=form,
        subscription=subscription,
        event_types=catalogue.event_types(),
    ), form_status(form)


@bp.post("/<int:webhook_id>/delete")
@login_required
@access.require("webhooks.manage")
def delete(webhook_id: int):
    subscription = get_or_404(WebhookSubscription, webhook_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("webhooks.detail", webhook_id=subscription.id))
    with attempt() as done:
        services.delete_subscription(subscription, actor=g.principal)
    if done:
        flash(_("The endpoint is removed; nothing more is sent to it."), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/<int:webhook_id>/rotate-secret")
@login_required
@access.require("webhooks.manage")
def rotate_secret(webhook_id: int):
    subscription = get_or_404(WebhookSubscription, webhook_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("webhooks.detail", webhook_id=subscription.id))
    with attempt() as done:
        secret = services.rotate_secret(subscription, actor=g.principal)
    if not done:
        return redirect(url_for("webhooks.detail", webhook_id=subscription.id))
    flash(
        _("A new secret is made. For 24 hours deliveries are signed with the old one too."),
        "success",
    )
    return _detail(subscription, secret)


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@login_required
@access.require("webhooks.manage")
def redeliver(delivery_id: int):
    delivery = get_or_404(WebhookDelivery, delivery_id)
    if delivery.payload is None:
        abort(404)  # not checked yet: whether its organisation may see the event is not known
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.redeliver(delivery, actor=g.principal)
        if done:
            flash(_("The event is queued to be sent again."), "success")
    return redirect(url_for("webhooks.detail", webhook_id=delivery.subscription_id))
