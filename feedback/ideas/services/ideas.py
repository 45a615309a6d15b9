"""Proposing, editing and commenting on ideas."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from feedback.ideas.models import EDITABLE_FIELDS, Idea, IdeaComment, IdeaStatus
from feedback.ideas.services.common import clean_fields
from feedback.ideas.services.votes import subscribe
from portal import audit
from portal.concurrency import EditConflict, check_unchanged
from portal.db import db
from portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition
from portal.tenancy import Principal


def submit_idea(fields: dict, *, actor: Principal) -> Idea:
    """A customer or partner proposes an idea (title, description, product); the author
    follows it from the start."""
    if not actor.can("ideas.submit"):
        raise Forbidden(_("Only customers and partners propose ideas."))
    cleaned = clean_fields(fields)
    idea = Idea(
        org_id=actor.org_id,
        status=IdeaStatus.under_review,
        author_id=actor.user_id,
        vote_count=0,
        **cleaned,
    )
    db.session.add(idea)
    db.session.flush()
    subscribe(idea.id, actor.user_id, actor.org_id)
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
        if idea.status != IdeaStatus.under_review:
            raise Forbidden(_("The idea is no longer under review: only the vendor edits it."))
    if idea.status == IdeaStatus.duplicate:
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
    cleaned = clean_fields(fields)
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
