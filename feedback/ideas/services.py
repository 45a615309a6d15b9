"""Use cases of the ideas board. Writers only flush; the caller commits once.

Statuses: under_review -> planned -> in_progress -> done, or declined (with a reason), or
duplicate (of another idea, into which its votes and subscribers move). Vendor staff may move an
idea between any of them, except out of duplicate (the merge is not undone). Every change tells
the idea's subscribers (in the portal and by email). Voting subscribes the voter.

A vote is one row per person and idea (a unique constraint): of two concurrent votes by one
person, the database lets one in; the other finds the row and counts nothing. Removing a vote is
the mirror image: of two concurrent removals, one deletes the row and uncounts it.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from feedback.ideas import trending
from feedback.ideas.models import (
    EDITABLE_FIELDS,
    IDEA_STATUSES,
    OPEN_STATUSES,
    Idea,
    IdeaCaseLink,
    IdeaComment,
    IdeaSubscription,
    IdeaVote,
)
from portal import audit, events
from portal.clock import utcnow
from portal.concurrency import EditConflict, check_unchanged
from portal.db import db, unscoped
from portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import User
from portal.notify import register_kind
from portal.notify import services as notify
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal

register_kind("ideas.status", _l("News of ideas I proposed, voted for or follow"))

STATUS_LABELS = {
    "under_review": _l("Under review"),
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "declined": _l("Declined"),
    "duplicate": _l("Duplicate"),
}
AUDIT_FIELDS = ["status", "status_reason", "duplicate_of_id", "vote_count"]


def idea_path(idea_id: int) -> str:
    return f"/ideas/{idea_id}"


def _clean(fields: dict) -> dict:
    """Title, description and product as proposing and editing accept them."""
    title = " ".join((fields.get("title") or "").split())
    if len(title) < 5:
        raise InvalidInput(_("Give the idea a title of at least 5 characters."), field="title")
    if len(title) > 200:
        raise InvalidInput(_("Keep the title under 200 characters."), field="title")
    description = (fields.get("description") or "").strip()
    if len(description) > 5000:
        raise InvalidInput(_("Keep the description under 5000 characters."), field="description")
    product = fields.get("product") or ""
    if product not in PRODUCT_LINES:
        raise InvalidInput(_("Choose the product the idea is about."), field="product")
    return {"title": title, "description": description, "product": product}


def submit_idea(fields: dict, *, actor: Principal) -> Idea:
    """A customer or partner proposes an idea (title, description, product); the author
    follows it from the start."""
    if not actor.can("ideas.submit"):
        raise Forbidden(_("Only customers and partners propose ideas."))
    cleaned = _clean(fields)
    idea = Idea(
        org_id=actor.org_id,
        status="under_review",
        author_id=actor.user_id,
        vote_count=0,
        **cleaned,
    )
    db.session.add(idea)
    db.session.flush()
    _subscribe(idea.id, actor.user_id, actor.org_id)
    audit.record(
        "idea.submitted",
        idea,
        actor=actor,
        after={"title": cleaned["title"], "product": cleaned["product"]},
    )
    return idea


def check_editable(idea: Idea, actor: Principal) -> None:
    """Raise unless ``actor`` may edit ``idea`` now. Vendor staff with ``ideas.manage`` edit any
    idea; its author only while it is under review (once planned, what was promised is the
    vendor's to word). Nobody else, colleagues of the author included: Forbidden. A duplicate
    lives on in its original: InvalidTransition."""
    if not actor.can("ideas.manage"):
        if idea.author_id is None or idea.author_id != actor.user_id:
            raise Forbidden(_("Only its author and the vendor's staff edit an idea."))
        if idea.status != "under_review":
            raise Forbidden(_("The idea is no longer under review: only the vendor edits it."))
    if idea.status == "duplicate":
        raise InvalidTransition(_("A duplicate stays merged into its original: edit that one."))


def may_edit(idea: Idea, actor: Principal) -> bool:
    try:
        check_editable(idea, actor)
    except DomainError:
        return False
    return True


def edit_idea(idea: Idea, fields: dict, *, seen: str | None, actor: Principal) -> bool:
    """Change an idea's title, description and product (validated as when proposing).
    ``seen`` is the form's snapshot (``portal.concurrency``): if someone saved meanwhile,
    EditConflict says what changed and nothing is overwritten. Followers are not told (an edit
    is no news of the idea's progress); the history keeps before and after. Returns False if
    nothing changed. Raises Forbidden, InvalidTransition, InvalidInput, EditConflict."""
    check_editable(idea, actor)
    check_unchanged(idea, seen)
    cleaned = _clean(fields)
    before = audit.snapshot(idea, EDITABLE_FIELDS)
    if cleaned == before:
        return False
    # Written only if the row is still as this request read it: of two edits that both passed
    # the snapshot check, the later finds the row changed and becomes a conflict.
    unchanged = [getattr(Idea, f) == value for f, value in before.items()]
    written = db.session.execute(
        update(Idea)
        .where(Idea.id == idea.id, Idea.status == idea.status, *unchanged)
        .values(**cleaned)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(idea)
    if written != 1:
        check_editable(idea, actor)  # its status moved meanwhile: may this person still edit?
        now = audit.snapshot(idea, EDITABLE_FIELDS)
        raise EditConflict([(f, before[f], now[f]) for f in EDITABLE_FIELDS if before[f] != now[f]])
    audit.record("idea.edited", idea, actor=actor, before=before, after=cleaned)
    return True


def _subscribe(idea_id: int, user_id: int, org_id: int) -> bool:
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
            session.add(IdeaVote(idea_id=idea.id, user_id=actor.user_id, org_id=actor.org_id))
    except IntegrityError:
        return False
    # Only after this person's vote row went in, so it counts each vote once.
    _add_to_counts(idea, 1, recent=True)
    _subscribe(idea.id, actor.user_id, actor.org_id)
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
    # Of two concurrent removals, one deletes the row; the other deletes nothing and must not
    # uncount it a second time.
    deleted = session.execute(
        delete(IdeaVote).where(IdeaVote.id == mine.id).execution_options(synchronize_session=False)
    ).rowcount
    if deleted != 1:
        return False
    # A vote older than the window left the trending count already (or will, at the next tick).
    _add_to_counts(idea, -1, recent=mine.created_at >= trending.window_start())
    audit.record("idea.unvoted", idea, actor=actor, org_id=actor.org_id)
    return True


def _add_to_counts(idea: Idea, change: int, *, recent: bool) -> None:
    """Add ``change`` to the idea's vote count (and to its trending count if ``recent``), in the
    database, so concurrent votes add up. The counts live on the idea, which belongs to its
    author's organisation: written unscoped, by the caller that changed the voter's own row."""
    values = {"vote_count": Idea.vote_count + change}
    if recent:
        values["recent_vote_count"] = Idea.recent_vote_count + change
    session = db.session
    with unscoped(session):
        session.execute(
            update(Idea)
            .where(Idea.id == idea.id)
            .values(values)
            .execution_options(synchronize_session=False)
        )
    session.refresh(idea, ["vote_count", "recent_vote_count"])


def follow(idea: Idea, *, actor: Principal) -> bool:
    return _subscribe(idea.id, actor.user_id, actor.org_id)


def unfollow(idea: Idea, *, actor: Principal) -> bool:
    return (
        db.session.execute(
            delete(IdeaSubscription).where(
                IdeaSubscription.idea_id == idea.id, IdeaSubscription.user_id == actor.user_id
            )
        ).rowcount
        > 0
    )


def add_comment(idea: Idea, body: str, *, actor: Principal) -> IdeaComment:
    if not actor.can("ideas.comment"):
        raise Forbidden(_("You may not comment here."))
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write a comment first."), field="body")
    if len(body) > 5000:
        raise InvalidInput(_("Keep the comment under 5000 characters."), field="body")
    comment = IdeaComment(
        idea_id=idea.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        author_kind=actor.audience,
        body=body,
    )
    db.session.add(comment)
    db.session.flush()
    return comment


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
    if idea.status == "duplicate":
        raise InvalidTransition(_("A duplicate stays merged into its original."))
    if status == idea.status:
        raise InvalidTransition(_("The idea is already %(status)s.", status=STATUS_LABELS[status]))
    reason = (reason or "").strip()[:2000]
    if status == "declined" and not reason:
        raise InvalidInput(_("Say why the idea is declined."), field="reason")
    if status == "duplicate":
        if duplicate_of is None:
            raise InvalidInput(_("Give the number of the original idea."), field="duplicate_of")
        if duplicate_of.id == idea.id or duplicate_of.status == "duplicate":
            raise InvalidInput(
                _("Choose another idea that is not itself a duplicate."), field="duplicate_of"
            )
    before = audit.snapshot(idea, AUDIT_FIELDS)
    told = subscribers_of(idea.id)
    idea.status = status
    idea.status_reason = reason
    idea.status_changed_at = utcnow()
    if status == "duplicate":
        idea.duplicate_of_id = duplicate_of.id
        merge_into(idea, duplicate_of)
    db.session.flush()
    audit.record(
        "idea.status_changed",
        idea,
        actor=actor,
        before=before,
        after=audit.snapshot(idea, AUDIT_FIELDS),
    )
    _tell_subscribers(idea, told, actor=actor, original=duplicate_of)
    if status == "done":
        _tell_linked_requesters(idea, already={u.id for u in told} | {actor.user_id})


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


def subscribers_of(idea_id: int) -> list[User]:
    """The people following an idea, whatever their organisation (vendor staff's view)."""
    with unscoped():
        return list(
            db.session.scalars(
                select(User)
                .join(IdeaSubscription, IdeaSubscription.user_id == User.id)
                .where(IdeaSubscription.idea_id == idea_id)
                .order_by(User.id)
            )
        )


def _tell_subscribers(idea: Idea, users: list[User], *, actor: Principal, original) -> None:
    label = STATUS_LABELS[idea.status]
    title = _("Idea “%(title)s” is now %(status)s", title=idea.title, status=label)
    if idea.status == "duplicate":
        body = _(
            "It is the same as “%(original)s”; your vote and your subscription moved there.",
            original=original.title,
        )
        link = idea_path(original.id)
    else:
        body = _("Reason: %(reason)s", reason=idea.status_reason) if idea.status_reason else ""
        link = idea_path(idea.id)
    notify.notify([u for u in users if u.id != actor.user_id], "ideas.status", title, body, link)


# Cases linked to ideas. Cases belong to ``selfservice``: found through ``case.summary``
# (``portal.events``), as the principal may see them.


def link_case(idea: Idea, case_id: int | None = None, number: str | None = None, *, actor):
    """Vendor staff link a case (by id or number) to an idea; linking twice is harmless.
    Returns the link; raises InvalidInput when no such case is visible."""
    if not actor.can("ideas.manage"):
        raise Forbidden(_("Only vendor staff link cases to ideas."))
    if idea.status == "duplicate":
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


def _tell_linked_requesters(idea: Idea, *, already: set[int]) -> None:
    """The idea is done: the requesters of its linked cases hear it (once each, and not twice
    if they follow the idea too)."""
    requesters: set[int] = set()
    for link in linked_cases(idea.id):
        case = events.ask("case.summary", case_id=link.case_id)
        if case and case["requester_id"] and case["requester_id"] not in already:
            requesters.add(case["requester_id"])
    if not requesters:
        return
    with unscoped():  # the cases' requesters, in their organisations (reviewed)
        users = list(db.session.scalars(select(User).where(User.id.in_(requesters))))
    notify.notify(
        users,
        "ideas.status",
        _("The idea behind your case is done: “%(title)s”", title=idea.title),
        _("You raised a case that asked for this; it is now available."),
        idea_path(idea.id),
    )
