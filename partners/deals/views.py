"""Pages of the channel's deals (being built)."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")
