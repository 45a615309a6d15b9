"""Organisations, users, roles, invitations, sign-in and password reset."""

from flask import Blueprint

bp = Blueprint("identity", __name__)

from portal.identity import admin_views, views  # noqa: E402,F401  (routes register on bp)
