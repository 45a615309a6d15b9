"""The signed-in user's in-app notifications."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal import access
from portal.db import db, get_or_404
from portal.identity.forms import ConfirmForm
from portal.notify import services
from portal.notify.models import Notification
from portal.web import paginate, safe_next_url

bp = Blueprint("notify", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
@access.require("notifications.view")
def index():
    stmt = select(Notification).order_by(Notification.id.desc())
    return render_template("notify/index.html", page=paginate(stmt), confirm=ConfirmForm())


@bp.post("/<int:notification_id>/read")
@login_required
@access.require("notifications.view")
def read(notification_id: int):
    """Mark read and follow its link (a POST: opening a notification changes state)."""
    notification = get_or_404(Notification, notification_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.mark_read(notification)
    db.session.commit()
    return redirect(safe_next_url(notification.link) or url_for("notify.index"))


@bp.post("/read-all")
@login_required
@access.require("notifications.view")
def read_all():
    if ConfirmForm().validate_on_submit():
        services.mark_all_read(current_user.id)
        db.session.commit()
    flash(_("All notifications are marked read."), "info")
    return redirect(url_for("notify.index"))
