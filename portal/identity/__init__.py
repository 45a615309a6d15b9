"""Organisations, users, roles, invitations, sign-in and password reset.

``bp`` is the blueprint; ``views`` and ``admin_views`` add their routes to it when imported (the
app factory does), so importing the models alone pulls in no views.
"""

from flask import Blueprint

bp = Blueprint("identity", __name__)
