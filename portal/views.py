"""Routes that belong to no feature: health check, the icon browsers ask for."""

from flask import Blueprint, current_app, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal import jobs
from portal.db import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: 200 while the database answers, 503 when it does not;
    with the job queue's state. Without the queue the host still serves every page (jobs run
    inline until Redis is back), so that is "degraded" for a monitor to raise, not a reason for
    a load balancer to take every app host out at once. Reads nothing of any tenant."""
    checks = {"database": _database_health(), "jobs": jobs.backend().health()}
    if checks["database"]["status"] != "ok":
        return {"status": "unavailable", "checks": checks}, 503
    status = "ok" if checks["jobs"]["status"] == "ok" else "degraded"
    return {"status": status, "checks": checks}, 200


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
