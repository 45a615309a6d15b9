"""Use cases of the ideas board, by topic: ``ideas`` (propose, edit, comment), ``votes`` (and
subscriptions), ``statuses`` (and duplicate merges), ``case_links``. Writers only flush; the
caller commits once.

Statuses: under_review -> planned -> in_progress -> done, or declined (with a reason), or
duplicate (of another idea, into which its votes and subscribers move). Vendor staff may move an
idea between any of them, except out of duplicate (the merge is not undone). Every change tells
the idea's subscribers (in the portal and by email). Voting subscribes the voter.

A vote is one row per person and idea (a unique constraint): of two concurrent votes by one
person, the database lets one in; the other finds the row and counts nothing. Removing a vote is
the mirror image: of two concurrent removals, one deletes the row and uncounts it.
"""

from __future__ import annotations

from feedback.ideas.services.case_links import link_case, linked_cases
from feedback.ideas.services.common import STATUS_LABELS, idea_link
from feedback.ideas.services.ideas import (
    add_comment,
    check_editable,
    edit_idea,
    may_edit,
    submit_idea,
)
from feedback.ideas.services.statuses import change_status, merge_into, subscribers_of
from feedback.ideas.services.votes import follow, unfollow, unvote, vote

__all__ = [
    "STATUS_LABELS",
    "add_comment",
    "change_status",
    "check_editable",
    "edit_idea",
    "follow",
    "idea_link",
    "link_case",
    "linked_cases",
    "may_edit",
    "merge_into",
    "submit_idea",
    "subscribers_of",
    "unfollow",
    "unvote",
    "vote",
]
