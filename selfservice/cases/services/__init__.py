"""Use cases of support cases. Writers only flush; the caller commits once.

Statuses (``CaseStatus``, moves in ``Case.workflow``): new, open (category open); pending,
on_hold (paused); solved, closed (resolved). A customer's public reply reopens a pending or
solved case; solved cases close by themselves after ``CASES_AUTO_CLOSE_DAYS``. Every move goes
through ``common.move_case`` (``portal.workflow.transition``) and is kept (``CaseStatusChange``):
the SLA clocks are computed from that history (``selfservice.cases.sla``).

Split by topic: ``common`` (SLA clocks, moves, who is an agent, teams, whom to tell),
``conversation`` (opening, replies and notes, status changes), ``handling`` (editing,
assignment, merging, watchers, sharing), ``products`` (what a case is about: a catalogue
product or a product line), ``tick`` (warnings, breaches, auto-close). This package
names them all.
"""

from selfservice.cases.services.common import (
    AGENT_ACTION,
    AUDIT_FIELDS,
    EDITABLE_FIELDS,
    STATUS_FIELDS,
    STATUS_LABELS,
    agents,
    case_link,
    case_summary,
    choose_policy,
    clocks,
    is_agent,
    move_case,
    queue_rank,
    refresh_sla,
    require_participant,
    save_team,
    status_history,
    team_lead,
    teams,
    wait_clock,
)
from selfservice.cases.services.conversation import add_comment, change_status, open_case
from selfservice.cases.services.handling import (
    add_watcher,
    assign_case,
    assign_round_robin,
    is_shared,
    merge_case,
    remove_watcher,
    set_sharing,
    update_case,
)
from selfservice.cases.services.products import (
    CaseProduct,
    apply_product,
    choose_product,
    line_code,
    product_named,
    product_terms,
)
from selfservice.cases.services.tick import check_sla, close_solved_cases

__all__ = [
    "AGENT_ACTION", "AUDIT_FIELDS", "EDITABLE_FIELDS", "STATUS_FIELDS", "STATUS_LABELS",
    "CaseProduct", "add_comment", "add_watcher", "agents", "apply_product", "assign_case",
    "assign_round_robin", "case_link", "case_summary", "change_status", "check_sla",
    "choose_policy", "choose_product", "clocks", "close_solved_cases", "is_agent", "is_shared",
    "line_code", "merge_case", "move_case", "open_case", "product_named", "product_terms",
    "queue_rank", "refresh_sla", "remove_watcher", "require_participant", "save_team",
    "set_sharing", "status_history", "team_lead", "teams", "update_case", "wait_clock",
]  # fmt: skip
