"""State machines: every stateful record declares its statuses and its moves once, and one
function, ``transition``, moves it.

A model declares ``workflow = Workflow(...)`` beside its columns: the statuses (a ``StrEnum``),
the moves allowed from each, the fields its audit events show, who and when each arrival is
stamped in, and the organisations its events concern. ``transition`` checks the table, stamps,
writes the audit event (before and after, in the same transaction), flushes, and then publishes
a ``portal.events.DomainEvent`` with plain values. Nothing else assigns a status: a
``before_flush`` guard refuses a changed status that did not come through here, and another
refuses an ORM ``UPDATE`` that sets one (``tests/unit/test_platform_rules.py`` also reads the
code for assignments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit, events
from portal.clock import utcnow
from portal.db import Base, db
from portal.errors import InvalidTransition


class StatusAssigned(RuntimeError):
    """Code changed a record's status without ``transition`` (a bug, never a user's error)."""


def _owner(record) -> tuple[int, ...]:
    org_id = getattr(record, "org_id", None)
    return (org_id,) if org_id is not None else ()


@dataclass
class Workflow:
    """The statuses of one kind of record and the moves between them.

    ``name`` prefixes its events (``deal`` → ``deal.approved``); ``moves`` maps a status to the
    statuses it may become; ``stamps`` maps a status to the attributes that record when it was
    reached and by whom (``("decided_at", "decided_by_id")``, either may be None);
    ``concerns(record)`` gives the organisations its events concern (default: the owner);
    ``event`` names the audit action and domain event of every move when one name serves them
    all (``case.status_changed``: a case's arrival in ``solved`` is told separately, with the
    values its subscribers need); by default each move is ``<name>.<to>``. ``audited`` is False
    only for delivery state that no person changes (the mail outbox), with ``unaudited_reason``
    saying why.
    """

    name: str
    statuses: type[StrEnum]
    moves: Mapping[str, Iterable[str]]
    attribute: str = "status"
    audit_fields: tuple[str, ...] = ()
    stamps: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    concerns: Callable[[Any], Iterable[int]] = _owner
    labels: Mapping[str, object] = field(default_factory=dict)
    noun: object = ""
    event: str | None = None
    audited: bool = True
    unaudited_reason: str = ""

    def __post_init__(self) -> None:
        known = {s.value for s in self.statuses}
        self.moves = {
            self.statuses(source): frozenset(self.statuses(t) for t in targets)
            for source, targets in self.moves.items()
        }
        unknown = {*self.stamps} - known
        if unknown:
            raise ValueError(f"{self.name}: stamps for unknown statuses {sorted(unknown)}")
        if not self.audited and not self.unaudited_reason:
            raise ValueError(f"{self.name}: say why its moves are not audited")
        if self.attribute not in self.audit_fields:
            self.audit_fields = (self.attribute, *self.audit_fields)

    def allows(self, source: str | None, target: str) -> bool:
        return target in self.moves.get(source, ())

    def label(self, status: str) -> str:
        label = self.labels.get(status)
        return str(label) if label is not None else _(str(status).replace("_", " "))

    def event_for(self, target: str) -> str:
        """The audit action and event type of a move to ``target``, unless the caller names one."""
        return self.event or f"{self.name}.{target}"

    def all_moves(self) -> list[tuple[str, str]]:
        return [(s, t) for s, targets in self.moves.items() for t in sorted(targets)]

    def refusal(self, source: str, target: str) -> str:
        return _(
            "A %(noun)s that is %(state)s cannot become %(to)s.",
            noun=str(self.noun or self.name.replace("_", " ")),
            state=self.label(source),
            to=self.label(target),
        )


def workflow_of(model_or_record) -> Workflow | None:
    cls = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    declared = getattr(cls, "workflow", None)
    return declared if isinstance(declared, Workflow) else None


_stateful_cache: tuple[list[type], dict[str, Workflow]] | None = None


@event.listens_for(Mapper, "after_mapper_constructed")
def _forget_stateful(mapper, class_) -> None:
    global _stateful_cache
    _stateful_cache = None


def _stateful() -> tuple[list[type], dict[str, Workflow]]:
    """The models that declare a workflow and their workflows by name, found again only when a
    model was mapped since (the UPDATE guard asks on every flush, labels on every row; listing
    the registry's mappers costs some 200 Python calls)."""
    global _stateful_cache
    if _stateful_cache is None:
        models = [m.class_ for m in Base.registry.mappers if workflow_of(m.class_) is not None]
        _stateful_cache = (models, {workflow_of(m).name: workflow_of(m) for m in models})
    return _stateful_cache


def stateful_models() -> list[type]:
    """Every mapped class that declares a workflow."""
    return _stateful()[0]


def workflows_by_name() -> dict[str, Workflow]:
    """Every workflow by its name (``deal``, ``case``...)."""
    return _stateful()[1]


_PERMITTED = "workflow_permitted"
_CLAIMING = "workflow_claiming"
# Told of every claimed move: ``listener(session, record, changed)``, ``changed`` the fields the
# move wrote, name -> (before, after). A claim is an UPDATE past the session's unit of work, so
# what watches flushes (the dashboards' rollups) does not see it.
_CLAIM_LISTENERS: list[Callable] = []


def on_claim(listener: Callable) -> None:
    """Tell ``listener`` of every claimed move (once, however often it is added)."""
    if listener not in _CLAIM_LISTENERS:
        _CLAIM_LISTENERS.append(listener)


# A session whose writes are not the application's: the test suite's arranging session, which
# builds worlds in any status. Set by the test fixture only.
UNCHECKED = "workflow_unchecked"


def transition(
    record,
    to: str,
    *,
    actor,
    event: str | None = None,
    changes: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    audit_data: Mapping[str, Any] | None = None,
    audit_org_id: int | None = None,
    claim: bool = False,
    at: datetime | None = None,
    session: Session | None = None,
) -> bool:
    """Move ``record`` to status ``to``: the one way a status changes.

    Checks the workflow's table (``InvalidTransition`` with a message a person can read),
    applies the stamps and ``changes`` (other fields that belong to this move), records the audit
    event ``event`` (default: the workflow's, else ``<workflow>.<to>``) with before and after,
    flushes, and publishes the domain event. ``actor`` is a ``Principal`` or None for the system
    (ticks). ``data`` goes into the audit event's after values and the domain event;
    ``audit_data`` into the audit event only (what the record's owner may read and the
    organisations the event concerns may not, such as the partners a lead was ranked against).
    ``audit_org_id`` files the audit event in another organisation's history than the record's.
    ``at`` is the moment of the move (default now), for a caller that computes other fields
    from it.

    With ``claim=True`` the move is one conditional UPDATE (``WHERE status = <current>``), for
    moves that may race (two first openings, a tick and a person): the loser gets False and
    nothing is written. A claim moves the record's version counter on, if it has one, so a page
    or request that read it before is stale, as after any change. Otherwise returns True.
    """
    workflow = workflow_of(record)
    if workflow is None:
        raise TypeError(f"{type(record).__name__} declares no workflow")
    session = session if session is not None else db.session
    source = getattr(record, workflow.attribute)
    target = workflow.statuses(to)
    if not workflow.allows(source, target):
        raise InvalidTransition(workflow.refusal(source, target))
    before = audit.snapshot(record, list(workflow.audit_fields)) if workflow.audited else None
    now = at or utcnow()
    values: dict[str, Any] = {workflow.attribute: target.value}
    at_attribute, by_attribute = workflow.stamps.get(target, (None, None))
    if at_attribute:
        values[at_attribute] = now
    if by_attribute:
        values[by_attribute] = actor.user_id if actor is not None else None
    if workflow.attribute in (changes or {}):
        raise ValueError("the status is the move's target, not one of its changes")
    values.update(changes or {})
    if claim:
        if not _claim(session, record, workflow, source, values):
            return False
    else:
        session.info.setdefault(_PERMITTED, set()).add(id(record))
        for name, value in values.items():
            setattr(record, name, value)
    kind = event or workflow.event_for(target.value)
    plain = {k: audit.plain(v) for k, v in (data or {}).items()}
    if workflow.audited:
        after = (
            audit.snapshot(record, list(workflow.audit_fields))
            | plain
            | {k: audit.plain(v) for k, v in (audit_data or {}).items()}
        )
        if audit_org_id is None and getattr(record, "org_id", None) is None:
            if actor is None:
                raise ValueError(f"say in whose history a move of {type(record).__name__} goes")
            audit_org_id = actor.org_id  # a global record (an article): the actor's history
        audit.record(
            kind, record, actor=actor, org_id=audit_org_id, before=before, after=after,
            session=session,
        )  # fmt: skip
    session.flush()
    _publish(kind, record, workflow, actor, now, source, target.value, plain)
    return True


def _claim(session: Session, record, workflow: Workflow, source, values: dict) -> bool:
    model = type(record)
    mapper = inspect(model)
    if mapper.version_id_col is not None and mapper.version_id_generator is not False:
        version = mapper.get_property_by_column(mapper.version_id_col).key
        values = {**values, version: getattr(record, version) + 1}
    statement = (
        update(model)
        .where(model.id == record.id, getattr(model, workflow.attribute) == source)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    before = {name: getattr(record, name) for name in values} if _CLAIM_LISTENERS else {}
    with _claiming(session):
        claimed = session.execute(statement).rowcount == 1
    if claimed:
        for name, value in values.items():
            set_committed_value(record, name, value)
        changed = {name: (old, values[name]) for name, old in before.items()}
        for listener in _CLAIM_LISTENERS:
            listener(session, record, changed)
    return claimed


@contextmanager
def _claiming(session: Session):
    previous = session.info.get(_CLAIMING, False)
    session.info[_CLAIMING] = True
    try:
        yield
    finally:
        session.info[_CLAIMING] = previous


def announce(
    kind: str,
    record,
    *,
    actor,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Publish a fact about ``record`` that is not its move, in the shape of a transition's
    event: ``case.solved``, told with what the satisfaction survey needs while the move itself
    is audited as ``case.status_changed``. ``at`` is when it happened (default now)."""
    workflow = workflow_of(record)
    status = getattr(record, workflow.attribute) if workflow is not None else None
    plain = {k: audit.plain(v) for k, v in (data or {}).items()}
    _publish(kind, record, workflow, actor, at or utcnow(), status, status, plain)


def _publish(kind, record, workflow, actor, at, before, after, data) -> None:
    concerns = workflow.concerns(record) if workflow is not None else _owner(record)
    events.publish(
        events.DomainEvent(
            type=kind,
            record_type=type(record).__name__,
            record_id=record.id,
            org_ids=tuple(dict.fromkeys(o for o in concerns if o is not None)),
            actor_user_id=actor.user_id if actor is not None else None,
            actor_org_id=actor.org_id if actor is not None else None,
            at=at,
            before=str(before) if before is not None else None,
            after=str(after) if after is not None else None,
            data=data,
        )
    )


# The guards: a status changes only through ``transition``.


@event.listens_for(Session, "before_flush")
def _refuse_assigned_status(session: Session, flush_context, instances) -> None:
    permitted = session.info.pop(_PERMITTED, set())
    if session.info.get(UNCHECKED):
        return
    for obj in session.dirty:
        workflow = workflow_of(obj)
        if workflow is None or id(obj) in permitted:
            continue
        if inspect(obj).attrs[workflow.attribute].history.has_changes():
            raise StatusAssigned(
                f"{type(obj).__name__}.{workflow.attribute} was assigned outside "
                "portal.workflow.transition"
            )
    for obj in session.new:
        workflow = workflow_of(obj)
        status = getattr(obj, workflow.attribute) if workflow is not None else None
        if status is not None and status not in {s.value for s in workflow.statuses}:
            raise StatusAssigned(f"{type(obj).__name__}: unknown status {status!r}")


@event.listens_for(Session, "do_orm_execute")
def _refuse_status_update(state) -> None:
    if not state.is_update or state.session.info.get(_CLAIMING):
        return
    if state.session.info.get(UNCHECKED):
        return
    table_name = getattr(getattr(state.statement, "table", None), "name", None)
    for model in stateful_models():
        if model.__table__.name == table_name:
            column = workflow_of(model).attribute
            values = [getattr(key, "key", key) for key in state.statement._values or {}]
            parameters = state.parameters or {}
            for row in parameters if isinstance(parameters, list) else [parameters]:
                values += list(row)  # update(Model) executed with rows by primary key
            if column in values:
                raise StatusAssigned(
                    f"an UPDATE of {model.__name__} sets its status outside "
                    "portal.workflow.transition"
                )
