"""Panels: the parts of a page that the feature packages fill, as data.

A page that shows what several packages own (the home page's work queues, the organisation page's
sections) cannot import them: ``portal`` imports no feature package. Each package adds its panels
to a *place* in its ``init_app`` (``panels.add("home", *home.PANELS)``), and the page asks the
place for the panels of the signed-in principal.

A panel's ``build(principal, **args)`` reads through the tenant wall and returns the context its
template renders (as ``panel``), or ``None`` when it has nothing to show this principal (the
page then leaves it out). ``audiences`` and ``action`` say who may see it at all, as navigation
entries do, so a panel is never built for someone who could not follow its links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PLACES = ("home", "organization")


@dataclass(frozen=True)
class Panel:
    key: str  # unique within its place; the panel's anchor and test id
    template: str
    build: Callable[..., dict[str, Any] | None]
    action: str = "home.view"
    audiences: tuple[str, ...] = ("vendor", "partner", "customer")
    order: int = 50


@dataclass(frozen=True)
class Shown:
    """A panel built for one principal: what the page renders."""

    panel: Panel
    context: dict[str, Any]

    @property
    def key(self) -> str:
        return self.panel.key

    @property
    def template(self) -> str:
        return self.panel.template


_PANELS: dict[str, list[Panel]] = {place: [] for place in PLACES}


def add(place: str, *panels: Panel) -> None:
    """Add panels to a place (a panel whose key is already there replaces it)."""
    if place not in _PANELS:
        raise ValueError(f"unknown panel place {place!r}: one of {PLACES}")
    keys = {p.key for p in panels}
    _PANELS[place][:] = [p for p in _PANELS[place] if p.key not in keys] + list(panels)


def for_principal(place: str, principal) -> list[Panel]:
    return sorted(
        (
            p
            for p in _PANELS[place]
            if principal.audience in p.audiences and principal.can(p.action)
        ),
        key=lambda p: (p.order, p.key),
    )


def build(place: str, principal, **args) -> list[Shown]:
    """The panels of ``place`` that have something for ``principal``, in order."""
    shown = []
    for panel in for_principal(place, principal):
        context = panel.build(principal, **args)
        if context is not None:
            shown.append(Shown(panel, context))
    return shown
