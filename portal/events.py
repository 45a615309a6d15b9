"""In-process domain events: one feature package tells others that something happened without
importing them (``selfservice`` publishes ``case.solved``; ``feedback`` sends its CSAT survey).

Subscribers run synchronously, in the publisher's transaction and request (or job) context, so
what they write commits or rolls back with the change that caused it. A subscriber that wants
to deliver something later queues it (the notification outbox, a job). Data are plain values,
never ORM objects of the publisher's package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(name: str, fn: Callable[..., None] | None = None):
    """Call ``fn(**data)`` on every ``publish(name, **data)``; usable as a decorator.
    Subscribing the same function twice (a module imported again) keeps one subscription."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        key = (fn.__module__, fn.__qualname__)
        listeners = _subscribers[name]
        listeners[:] = [f for f in listeners if (f.__module__, f.__qualname__) != key]
        listeners.append(fn)
        return fn

    return register(fn) if fn is not None else register


def publish(name: str, **data) -> None:
    """Run every subscriber of ``name`` with ``data``, in order of subscription. An exception
    propagates to the publisher: the change and its consequences stand or fall together."""
    for fn in list(_subscribers.get(name, ())):
        fn(**data)


# Questions: one package answers, another asks, neither imports the other.

_providers: dict[str, Callable[..., object]] = {}


def provide(name: str, fn: Callable[..., object] | None = None):
    """Let ``fn(**data)`` answer ``ask(name, **data)``; one provider per name (the latest wins)."""

    def register(fn: Callable[..., object]) -> Callable[..., object]:
        _providers[name] = fn
        return fn

    return register(fn) if fn is not None else register


def ask(name: str, **data) -> object | None:
    """The provider's answer, or None when no package provides ``name``."""
    fn = _providers.get(name)
    return fn(**data) if fn is not None else None
