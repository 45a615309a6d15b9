"""Routes that belong to no feature: health check."""

from flask import Blueprint
from sqlalchemy import text

from portal.db import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
