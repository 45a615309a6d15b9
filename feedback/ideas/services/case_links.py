"""Cases linked to ideas. Cases belong to ``selfservice``: found through ``case.summary``
(``portal.events``), as the principal may see them."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from feedback.ideas.models import Idea, IdeaCaseLink, IdeaStatus
from feedback.ideas.services.common import idea_link
from portal import audit, events, people
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify


def link_case(idea: Idea, case_id: int | None = None, number: str | None = None, *, actor):
    """Vendor staff link a case (by id or number) to an idea; linking twice is harmless.
    Returns the link; raises InvalidInput when no such case is visible."""
    if not actor.can("ideas.manage"):
        raise Forbidden(_("Only vendor staff link cases to ideas."))
    if idea.status == IdeaStatus.duplicate:
        raise InvalidTransition(_("Link the case to the original idea."))
    case = events.ask("case.summary", case_id=case_id, number=number)
    if case is None:
        raise InvalidInput(_("There is no case with this number."), field="case_number")
    existing = db.session.scalar(
        select(IdeaCaseLink).where(
            IdeaCaseLink.idea_id == idea.id, IdeaCaseLink.case_id == case["id"]
        )
    )
    if existing is not None:
        return existing
    link = IdeaCaseLink(
        org_id=case["org_id"],
        idea_id=idea.id,
        case_id=case["id"],
        case_number=case["number"],
        linked_by_id=actor.user_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError:  # linked meanwhile by someone else
        return db.session.scalar(
            select(IdeaCaseLink).where(
                IdeaCaseLink.idea_id == idea.id, IdeaCaseLink.case_id == case["id"]
            )
        )
    audit.record("idea.case_linked", idea, actor=actor, after={"case": case["number"]})
    return link


def linked_cases(idea_id: int | None = None, case_id: int | None = None) -> list[IdeaCaseLink]:
    """Links of an idea or of a case (vendor staff see them; nobody else gets a row)."""
    stmt = select(IdeaCaseLink).order_by(IdeaCaseLink.id)
    if idea_id is not None:
        stmt = stmt.where(IdeaCaseLink.idea_id == idea_id)
    if case_id is not None:
        stmt = stmt.where(IdeaCaseLink.case_id == case_id)
    return list(db.session.scalars(stmt))


def tell_linked_requesters(idea: Idea, *, already: set[int]) -> None:
    """The idea is done: the requesters of its linked cases hear it (once each, and not twice
    if they follow the idea too)."""
    requesters: set[int] = set()
    for link in linked_cases(idea.id):
        case = events.ask("case.summary", case_id=link.case_id)
        if case and case["requester_id"] and case["requester_id"] not in already:
            requesters.add(case["requester_id"])
    if not requesters:
        return
    notify.notify(
        people.people(requesters),  # the cases' requesters, in their organisations
        "ideas.status",
        _l("The idea behind your case is done: “%(title)s”", title=idea.title),
        _l("You raised a case that asked for this; it is now available."),
        idea_link(idea.id),
    )
