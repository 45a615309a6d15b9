"""A record's status as a badge, the same wherever it is shown, one way for every kind of record.

A package says in its ``init_app`` which Bootstrap colour each status of a model's workflow
shows in (``add``); templates write ``{{ status_badge(record) }}``. The text is the workflow's
label of the status (``portal.workflow.Workflow.label``) in the reader's language.

Each badge is built once per kind of record, status and language, and kept (a few dozen in
all): list pages show one a row, and a template snippet that translated, escaped and assembled
each anew cost some 200 Python calls a row (issue 18).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

from portal import i18n
from portal.workflow import Workflow, workflow_of

_BADGE = Markup('<span class="badge text-bg-{}" data-testid="{}">{}</span>')


@dataclass(frozen=True)
class _Style:
    workflow: Workflow
    colours: Mapping[str, str]
    testid: str
    known: frozenset[str]  # the workflow's statuses


_STYLES: dict[type, _Style] = {}
_BUILT: dict[tuple[type, str, str], Markup] = {}


def add(model: type, colours: Mapping[str, str], *, testid: str | None = None) -> None:
    """Show ``model``'s statuses as badges of ``colours`` (status → Bootstrap colour; a status
    not named is ``secondary``). ``testid``: the badge's ``data-testid``, by default
    ``<workflow name>-status``."""
    workflow = workflow_of(model)
    if workflow is None:
        raise ValueError(f"{model.__name__} has no workflow: its statuses have no labels")
    known = frozenset(s.value for s in workflow.statuses)
    unknown = set(colours) - known
    if unknown:
        raise ValueError(f"{model.__name__}: colours for unknown statuses {sorted(unknown)}")
    _STYLES[model] = _Style(workflow, dict(colours), testid or f"{workflow.name}-status", known)
    _BUILT.clear()


def status_badge(record) -> Markup:
    """The badge of ``record``'s status, in the reader's language."""
    model = type(record)
    style = _STYLES[model]
    status = str(getattr(record, style.workflow.attribute))
    key = (model, status, i18n.current_language())
    badge = _BUILT.get(key)
    if badge is None:
        badge = _BADGE.format(
            style.colours.get(status, "secondary"), style.testid, style.workflow.label(status)
        )
        if status in style.known:  # kept only for the few statuses there are
            _BUILT[key] = badge
    return badge
