"""Routes that belong to no feature: health check, the icon browsers ask for."""

from flask import Blueprint, current_app, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal import jobs
from portal.db import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: 200 when the database and the job queue answer, 503
    (with what failed) when one does not. Reads nothing of any tenant."""
    checks = {"database": _database_health(), "jobs": jobs.backend().health()}
    healthy = all(check["status"] == "ok" for check in checks.values())
    return {"status": "ok" if healthy else "unavailable", "checks": checks}, 200 if healthy else 503


def _database_health() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}
    except SQLAlchemyError as error:
        db.session.rollback()
        return {"status": "unavailable", "error": type(error).__name__}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page's ``<link rel="icon">`` says: the SVG."""
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
