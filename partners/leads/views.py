"""Pages of the channel's leads (being built)."""

from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")
