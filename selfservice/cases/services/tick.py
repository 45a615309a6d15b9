"""The periodic tick: SLA warnings and breaches, auto-close of solved cases. Registered by
``selfservice.cases.init_app``; ``portal.jobs`` binds the tick's own session as ``db.session``."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm.exc import StaleDataError

from portal import audit, formatting
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidTransition
from portal.notify import services as notify
from selfservice.cases.models import RESOLVED_STATUSES, TARGETS, Case, CaseStatus
from selfservice.cases.services.common import (
    agents_to_tell,
    clocks,
    log,
    move_case,
    refresh_sla,
    tell_of,
)


def _warning_window() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("CASES_SLA_WARNING_MINUTES", 60)))


def check_sla() -> int:
    """Tick: warn agents once when a target's clock will run out within the warning window,
    and tell them once when it breached. Safe to run twice (the flags are set once)."""
    now = utcnow()
    window = now + _warning_window()
    done = 0
    # Clocks not yet breached whose deadline falls within the window (a breached case is not
    # looked at again: its breach is recorded once).
    due = or_(
        *(
            and_(getattr(Case, f"{t}_due_at") <= window, getattr(Case, f"{t}_breached").is_(False))
            for t in TARGETS
        )
    )
    cases = db.session.scalars(
        select(Case).where(due, Case.status.not_in(RESOLVED_STATUSES)).order_by(Case.id)
    ).all()
    for case in cases:
        try:
            with db.session.begin_nested():  # one case at a time: a concurrent tick wins it
                done += _check_case_sla(case, now, window)
        except StaleDataError:
            log.info("case %s changed meanwhile; left to whoever changed it", case.id)
    db.session.flush()
    return done


def _check_case_sla(case: Case, now: datetime, window: datetime) -> int:
    done = 0
    states = clocks(case, now)
    for target in refresh_sla(case, now):
        audit.record("case.sla_breached", case, actor=None, after={"target": target})
        _tell_sla(case, target, breached=True)
        done += 1
    for target, state in states.items():
        flag = f"{target}_warned"
        if state.state == "running" and not getattr(case, flag) and state.due_at <= window:
            setattr(case, flag, True)
            _tell_sla(case, target, breached=False, due_at=state.due_at)
            done += 1
    db.session.flush()
    return done


def _tell_sla(case: Case, target: str, *, breached: bool, due_at: datetime | None = None) -> None:
    label = {
        "first_response": _l("first response"),
        "next_response": _l("next response"),
        "resolution": _l("resolution"),
    }[target]
    title = (
        _l("SLA breached on %(number)s: %(target)s", number=case.number, target=label)
        if breached
        else _l("SLA due soon on %(number)s: %(target)s", number=case.number, target=label)
    )
    body = case.subject
    if due_at is not None:
        when = notify.lazy(formatting.datetime, due_at, with_zone=True, zone="UTC")
        body = notify.joined(body, _l("Due at %(when)s.", when=when))
    tell_of(agents_to_tell(case), case, "cases.sla", title, body=body)


def close_solved_cases() -> int:
    """Tick: cases solved ``CASES_AUTO_CLOSE_DAYS`` ago close by themselves (safe to run twice,
    or at once with a person: each case moves in its own savepoint, and the case's version
    makes the loser of a race change nothing)."""
    now = utcnow()
    days = float(current_app.config.get("CASES_AUTO_CLOSE_DAYS", 4))
    done = 0
    cases = db.session.scalars(
        select(Case)
        .where(Case.status == CaseStatus.solved, Case.solved_at <= now - timedelta(days=days))
        .order_by(Case.id)
    ).all()
    for case in cases:
        try:
            with db.session.begin_nested():
                move_case(case, CaseStatus.closed, actor=None, at=now, event="case.closed")
            done += 1
        except (StaleDataError, InvalidTransition):
            log.info("case %s changed meanwhile; not closed now", case.id)
    return done
