"""Home pages: what needs the signed-in person now.

The page is the ``home`` place of ``portal.panels``: each feature package adds its work queues
(registrations to review, offers to answer, cases by SLA urgency...) in its ``init_app``, and
this view builds those of the principal, in order. The platform's own panels (the organisation's
profile, the vendor's organisations by kind) are in ``home.py``, added by ``init_app`` here."""

from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal import access, panels
from portal.db import db
from portal.identity.models import Organization

bp = Blueprint("dashboard", __name__)

HEADINGS = {
    "vendor": _l("Vendor home"),
    "partner": _l("Partner home"),
    "customer": _l("Customer home"),
}


def init_app(app) -> None:
    """The platform's own home panels (the blueprint is registered with the platform's pages)."""
    from portal.dashboard import home

    panels.add("home", *home.PANELS)


@bp.get("/")
def index():
    return redirect(
        url_for("dashboard.home" if current_user.is_authenticated else "identity.login")
    )


@bp.get("/home", endpoint="home")
@login_required
@access.require("home.view")
def home_page():
    principal = g.principal
    shown = panels.build("home", principal)
    return render_template(
        "dashboard/home.html",
        heading=HEADINGS[principal.audience],
        org=db.session.get(Organization, principal.org_id),
        panels=shown,
        waiting=sum(s.context.get("waiting", 0) for s in shown),
    )
