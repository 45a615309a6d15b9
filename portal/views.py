"""Routes that belong to no feature: health check, the icon browsers ask for."""

from flask import Blueprint, current_app, send_from_directory
from sqlalchemy import text

from portal.db import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page's ``<link rel="icon">`` says: the SVG."""
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
