"""Home pages per audience."""

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal import access
from portal.db import db
from portal.identity import queries
from portal.identity.models import Organization, User

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return redirect(
        url_for("dashboard.home" if current_user.is_authenticated else "identity.login")
    )


@bp.get("/home")
@login_required
@access.require("home.view")
def home():
    principal = g.principal
    org = db.session.get(Organization, principal.org_id)
    figures = {}
    if principal.is_vendor_staff:
        rows = db.session.execute(
            select(Organization.kind, func.count()).group_by(Organization.kind)
        ).all()
        figures = {kind: count for kind, count in rows}
    colleagues = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.org_id == principal.org_id, User.active.is_(True))
    )
    return render_template(
        f"dashboard/{principal.audience}.html",
        org=org,
        figures=figures,
        colleagues=colleagues,
        serving_partner=queries.serving_partner_name(org),
    )
