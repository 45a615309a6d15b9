"""Feedback in the isolation matrix: NPS campaigns (the vendor's) and ideas (the shared board).

No idea is foreign: the board is shared by every customer and partner by design. What must not
cross organisations there is who wrote an idea or a comment: the foreign organisations' names and
people are markers, so the board's pages must never show them to another customer or partner.
The survey answer page carries a ``token`` (NON_RECORD_PARAMS): a made-up one gets a clear 400.
"""

from __future__ import annotations

from feedback.ideas.models import Idea, IdeaComment, IdeaVote
from feedback.surveys.models import NpsCampaign
from portal import access
from tests.factories import make_campaign, make_idea
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    make_campaign(db, w.vendor, "Matrix NPS campaign", audience_kinds=["customer"])
    for org, user in zip(w.foreign, w.foreign_users, strict=True):
        idea = make_idea(
            db, user, f"Foreign idea of {org.kind}", description="Shared on the board", vote_count=1
        )
        db.add(IdeaVote(org_id=org.id, idea_id=idea.id, user_id=user.id))
        db.add(
            IdeaComment(
                org_id=org.id,
                idea_id=idea.id,
                author_id=user.id,
                author_kind="partner" if org.kind != "customer" else "customer",
                body="A comment from afar",
            )
        )
    db.flush()


def _campaign_foreign(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []
    return [c.id for c in db.query(NpsCampaign)]


def _campaign_own(db, w: World, role) -> int | None:
    if role.audience != "vendor":
        return None
    return db.query(NpsCampaign).first().id


def _idea_own(db, w: World, role) -> int:
    """A visible idea the role's user may change. Customers and partners: one of their own,
    under review (its author edits it; another organisation's idea, readable by everyone, is
    theirs to read only, and ``tests/integration/test_feedback_idea_edits.py`` proves its edit
    page answers 403). Vendor staff: another organisation's idea."""
    if not access.role_allows(role.name, "ideas.submit"):
        return db.query(Idea).filter(Idea.org_id == w.foreign[0].id).first().id
    user = w.users[role.name]
    idea = db.query(Idea).filter(Idea.author_id == user.id).first()
    if idea is None:
        idea = make_idea(db, user, f"Own idea of {role.name}", description="Proposed at home")
    return idea.id


record_kind("campaign_id", foreign=_campaign_foreign, own=_campaign_own, seed=_seed)
record_kind("idea_id", foreign=lambda db, w, role: [], own=_idea_own)
