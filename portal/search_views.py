"""The portal-wide search page: one box in the navigation, results grouped by kind.

The kinds are the feature packages' ``portal.search.Source``s (``portal`` imports none of them);
each reads through the tenant wall, so a principal finds only what it may see."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_login import login_required

from portal import access, search

bp = Blueprint("search", __name__)

MAX_QUERY = 200


@bp.get("/search")
@login_required
@access.require("home.view")
def index():
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    searchable = bool(search.terms(query))
    groups = search.everywhere(g.principal, query) if searchable else []
    return render_template(
        "search/results.html",
        q=query,
        searchable=searchable,
        groups=groups,
        count_cap=search.COUNT_CAP,
        kinds=search.sources_for(g.principal),
    )
