"""In-process domain events: one part of the portal tells others that something happened without
importing them (``selfservice`` publishes ``case.solved``; ``feedback`` sends its CSAT survey).

Every state change made by ``portal.workflow.transition`` publishes a ``DomainEvent`` after the
flush; a few other facts (a deal's conflicts flagged) are published the same way. Subscribers
run synchronously, in the publisher's transaction and request (or job) context, so what they
write commits or rolls back with the change that caused it. A subscriber that wants to deliver
something later queues it (the notification outbox, a job). An event carries plain values only,
never ORM objects, so a subscriber in another package (or a webhook body built under another
organisation's principal) learns nothing the event did not say.

Subscriptions are made explicitly by each package's ``init_app``; a pattern ``deal.*`` matches
every event of one kind of record, ``*`` every event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from flask import has_app_context


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened to one record, as plain values.

    ``type`` is ``<record>.<what>`` (``deal.approved``); ``org_ids`` are the organisations it
    concerns (the record's owner first); ``before`` and ``after`` the status it left and
    reached (equal for an event that is not a move); ``data`` what subscribers need besides.
    """

    type: str
    record_type: str
    record_id: int
    org_ids: tuple[int, ...]
    actor_user_id: int | None
    actor_org_id: int | None
    at: datetime
    before: str | None = None
    after: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[DomainEvent], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(pattern: str, fn: Subscriber) -> Subscriber:
    """Call ``fn(event)`` for every published event whose type matches ``pattern``. Subscribing
    the same function again (a second app in one process) keeps one subscription."""
    key = (fn.__module__, fn.__qualname__)
    listeners = _subscribers[pattern]
    listeners[:] = [f for f in listeners if (f.__module__, f.__qualname__) != key]
    listeners.append(fn)
    return fn


def publish(event: DomainEvent) -> None:
    """Run every subscriber whose pattern matches, in order of subscription. An exception
    propagates to the publisher: the change and its consequences stand or fall together.

    Subscribers run behind the tenant wall even when the publisher wrote past it (a customer's
    acceptance winning its partner's deal): what a subscriber reads is what the principal may.
    """
    listeners = [
        fn
        for pattern, fns in list(_subscribers.items())
        if pattern == event.type or fnmatchcase(event.type, pattern)
        for fn in list(fns)
    ]
    if not listeners:
        return
    with _walled():
        for fn in listeners:
            fn(event)


@contextmanager
def _walled():
    if not has_app_context():  # a unit test, no session
        yield
        return
    from portal.db import walled

    with walled():
        yield


# Questions: one package answers, another asks, neither imports the other.

_providers: dict[str, Callable[..., object]] = {}


def provide(name: str, fn: Callable[..., object]) -> Callable[..., object]:
    """Let ``fn(**data)`` answer ``ask(name, **data)``; one provider per name (the latest wins)."""
    _providers[name] = fn
    return fn


def ask(name: str, **data) -> object | None:
    """The provider's answer, or None when no package provides ``name``."""
    fn = _providers.get(name)
    return fn(**data) if fn is not None else None
