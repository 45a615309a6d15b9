"""Pages of the channel's program (being built)."""

from flask import Blueprint

bp = Blueprint("program", __name__, url_prefix="/program")
