"""The organisation page's ideas section: the ideas its people proposed, most voted first."""

from __future__ import annotations

from sqlalchemy import select

from feedback.ideas.models import Idea
from portal.db import db
from portal.panels import Panel


def ideas(principal, *, org_id: int) -> dict | None:
    """One statement: the organisation's five most voted ideas (every principal reads ideas)."""
    rows = db.session.scalars(
        select(Idea)
        .where(Idea.org_id == org_id)
        .order_by(Idea.vote_count.desc(), Idea.id.desc())
        .limit(5)
    ).all()
    return {"ideas": rows} if rows else None


PANELS = (Panel("ideas", "feedback/ideas/_org_ideas.html", ideas, action="ideas.view", order=70),)
