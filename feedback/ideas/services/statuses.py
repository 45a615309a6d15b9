"""Vendor staff move ideas between statuses (``Idea.workflow``); a duplicate merges into its
original. Every change tells the idea's subscribers (in the portal and by email)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from feedback.ideas import trending
from feedback.ideas.models import IDEA_STATUSES, Idea, IdeaStatus, IdeaSubscription, IdeaVote
from feedback.ideas.services.case_links import tell_linked_requesters
from feedback.ideas.services.common import STATUS_LABELS, idea_link
from portal import people
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def change_status(
    idea: Idea,
    status: str,
    *,
    reason: str = "",
    duplicate_of: Idea | None = None,
    actor: Principal,
) -> None:
    """Vendor staff move an idea to ``status``; declined needs a ``reason``, duplicate the
    original (``duplicate_of``), into which votes and subscribers move. Subscribers are told."""
    if not actor.can("ideas.manage"):
        raise Forbidden(_("Only vendor staff change the status of ideas."))
    if status not in IDEA_STATUSES:
        raise InvalidInput(_("Choose a status from the list."), field="status")
    status = IdeaStatus(status)
    _lock(idea, duplicate_of)
    if idea.status == IdeaStatus.duplicate:
        raise InvalidTransition(_("A duplicate stays merged into its original."))
    if status == idea.status:
        raise InvalidTransition(_("The idea is already %(status)s.", status=STATUS_LABELS[status]))
    reason = (reason or "").strip()[:2000]
    if status == IdeaStatus.declined and not reason:
        raise InvalidInput(_("Say why the idea is declined."), field="reason")
    if status == IdeaStatus.duplicate:
        if duplicate_of is None:
            raise InvalidInput(_("Give the number of the original idea."), field="duplicate_of")
        if duplicate_of.id == idea.id or duplicate_of.status == IdeaStatus.duplicate:
            raise InvalidInput(
                _("Choose another idea that is not itself a duplicate."), field="duplicate_of"
            )
    told = subscribers_of(idea.id)
    changes = {"status_reason": reason}
    merged = None
    if status == IdeaStatus.duplicate:
        changes["duplicate_of_id"] = duplicate_of.id
        merged = {"vote_count": 0}  # the merge below moves every vote to the original
    transition(idea, status, actor=actor, event="idea.status_changed", changes=changes, data=merged)
    if status == IdeaStatus.duplicate:
        merge_into(idea, duplicate_of)
    _tell_subscribers(idea, told, actor=actor, original=duplicate_of)
    if status == IdeaStatus.done:
        tell_linked_requesters(idea, already={p.id for p in told} | {actor.user_id})


def _lock(*ideas: Idea | None) -> None:
    """Hold the ideas' rows (PostgreSQL) and read them again: a vote takes the idea's row before
    it writes, so none slips in between a merge's recount and its write, nor lands on an idea
    that closed meanwhile; two staff changing one idea at once go one after the other. Vendor
    staff (who alone change statuses) may lock every organisation's ideas."""
    ids = sorted({i.id for i in ideas if i is not None})  # one order: no deadlock
    db.session.execute(select(Idea.id).where(Idea.id.in_(ids)).with_for_update())
    for idea in ideas:
        if idea is not None:
            db.session.refresh(idea)


def merge_into(duplicate: Idea, original: Idea) -> None:
    """Move the duplicate's votes and subscriptions to the original; a person who had voted
    for (or followed) both keeps one. Both ideas' counts (all votes, recent votes) are recounted
    from the votes."""
    session = db.session
    for model in (IdeaVote, IdeaSubscription):
        on_original = select(model.user_id).where(model.idea_id == original.id)
        session.execute(
            delete(model)
            .where(model.idea_id == duplicate.id, model.user_id.in_(on_original))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(model)
            .where(model.idea_id == duplicate.id)
            .values(idea_id=original.id)
            .execution_options(synchronize_session=False)
        )
    for idea in (duplicate, original):
        idea.vote_count = session.scalar(
            select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id)
        )
        idea.recent_vote_count = session.scalar(trending.recent_votes_of(idea.id))
    session.flush()


def subscribers_of(idea_id: int) -> list[people.Person]:
    """The people following an idea, whatever their organisation (vendor staff read every
    subscription; the people are looked up past the wall)."""
    user_ids = db.session.scalars(
        select(IdeaSubscription.user_id).where(IdeaSubscription.idea_id == idea_id)
    ).all()
    return people.people(user_ids)


def _tell_subscribers(idea: Idea, told: list, *, actor: Principal, original) -> None:
    label = STATUS_LABELS[idea.status]
    title = _l("Idea “%(title)s” is now %(status)s", title=idea.title, status=label)
    if idea.status == IdeaStatus.duplicate:
        body = _l(
            "It is the same as “%(original)s”; your vote and your subscription moved there.",
            original=original.title,
        )
        link = idea_link(original.id)
    else:
        body = _l("Reason: %(reason)s", reason=idea.status_reason) if idea.status_reason else ""
        link = idea_link(idea.id)
    notify.notify([p for p in told if p.id != actor.user_id], "ideas.status", title, body, link)
