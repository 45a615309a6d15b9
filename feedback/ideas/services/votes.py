"""Votes and subscriptions. A vote is one row per person and idea (a unique constraint): of two
concurrent votes by one person, the database lets one in; the other finds the row and counts
nothing. Removing a vote is the mirror image: of two concurrent removals, one deletes the row
and uncounts it. Voting subscribes the voter."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from feedback.ideas import trending
from feedback.ideas.models import OPEN_STATUSES, Idea, IdeaSubscription, IdeaVote
from portal import audit
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidTransition
from portal.tenancy import Principal


def subscribe(idea_id: int, user_id: int, org_id: int) -> bool:
    """Follow an idea; False if already following (also when a concurrent request did)."""
    session = db.session
    exists = session.scalar(
        select(IdeaSubscription.id).where(
            IdeaSubscription.idea_id == idea_id, IdeaSubscription.user_id == user_id
        )
    )
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(IdeaSubscription(idea_id=idea_id, user_id=user_id, org_id=org_id))
    except IntegrityError:
        return False
    return True


def vote(idea: Idea, *, actor: Principal) -> bool:
    """One vote per person: True if this call counted a vote, False if the person had voted
    already. Voting subscribes the voter."""
    if not actor.can("ideas.vote"):
        raise Forbidden(_("Only customers and partners vote for ideas."))
    if idea.status not in OPEN_STATUSES:
        raise InvalidTransition(_("Votes are closed for this idea."))
    session = db.session
    try:
        with session.begin_nested():
            # The idea's row first, while it is open: a status change or a merge holds it too,
            # so this vote waits for them and is refused once the idea closed or merged. The
            # vote row follows in the same savepoint: a person's second vote undoes both.
            if not _add_to_counts(idea, 1, recent=True):
                raise InvalidTransition(_("Votes are closed for this idea."))
            session.add(IdeaVote(idea_id=idea.id, user_id=actor.user_id, org_id=actor.org_id))
            session.flush()
    except IntegrityError:
        session.refresh(idea)
        return False
    session.refresh(idea)
    subscribe(idea.id, actor.user_id, actor.org_id)
    # In the voter's organisation's history: the idea's organisation must not learn who voted.
    audit.record("idea.voted", idea, actor=actor, org_id=actor.org_id)
    return True


def unvote(idea: Idea, *, actor: Principal) -> bool:
    """Take back one's vote while the idea is open: True if this call removed it, False if there
    was none (also when a concurrent request removed it first). The voter still follows the idea.
    """
    if not actor.can("ideas.vote"):
        raise Forbidden(_("Only customers and partners vote for ideas."))
    if idea.status not in OPEN_STATUSES:
        raise InvalidTransition(_("Votes are closed for this idea: yours stays counted."))
    session = db.session
    mine = session.execute(
        select(IdeaVote.id, IdeaVote.created_at).where(
            IdeaVote.idea_id == idea.id, IdeaVote.user_id == actor.user_id
        )
    ).first()
    if mine is None:
        return False
    # A vote older than the window left the trending count already (or will, at the next tick).
    recent = mine.created_at >= trending.window_start()
    try:
        with session.begin_nested():
            if not _add_to_counts(idea, -1, recent=recent):  # the idea's row first, as vote()
                raise InvalidTransition(_("Votes are closed for this idea: yours stays counted."))
            # Of two concurrent removals, one deletes the row; the other deletes nothing and
            # must not uncount it a second time.
            deleted = session.execute(
                delete(IdeaVote)
                .where(IdeaVote.id == mine.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if deleted != 1:
                raise _NotRemoved()
    except _NotRemoved:
        session.refresh(idea)
        return False
    session.refresh(idea)
    audit.record("idea.unvoted", idea, actor=actor, org_id=actor.org_id)
    return True


class _NotRemoved(Exception):
    """Another request removed the vote first (rolls this one's savepoint back)."""


def _add_to_counts(idea: Idea, change: int, *, recent: bool) -> bool:
    """Add ``change`` to the idea's vote count (and to its trending count if ``recent``), in the
    database, so concurrent votes add up, only while the idea is open (False if it is not).
    The counts live on the idea, which belongs to its author's organisation: written unscoped,
    by the caller that changes the voter's own row in the same savepoint."""
    values = {"vote_count": Idea.vote_count + change}
    if recent:
        values["recent_vote_count"] = Idea.recent_vote_count + change
    session = db.session
    with unscoped(session):  # reason: the counts live on the idea, in its author's organisation
        changed = session.execute(
            update(Idea)
            .where(Idea.id == idea.id, Idea.status.in_(OPEN_STATUSES))
            .values(values)
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed == 1


def follow(idea: Idea, *, actor: Principal) -> bool:
    return subscribe(idea.id, actor.user_id, actor.org_id)


def unfollow(idea: Idea, *, actor: Principal) -> bool:
    return (
        db.session.execute(
            delete(IdeaSubscription).where(
                IdeaSubscription.idea_id == idea.id, IdeaSubscription.user_id == actor.user_id
            )
        ).rowcount
        > 0
    )
