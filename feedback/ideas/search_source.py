"""Ideas in the portal-wide search (``portal.search``): the ideas board (read by everyone), best
match first, as the suggestions for a new idea rank them; merged duplicates are left out."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from feedback.ideas.models import IDEA_INDEX, Idea, IdeaStatus
from portal import search


def ideas(query: str, principal=None) -> Select | None:
    stmt = search.ranked(IDEA_INDEX, query)
    return None if stmt is None else stmt.where(Idea.status != IdeaStatus.duplicate)


def _found(idea: Idea) -> search.Found:
    return search.Found(idea.title, url_for("ideas.detail", idea_id=idea.id))


SOURCE = search.Source("ideas", _l("Ideas"), "ideas.view", ideas, _found, order=80)
