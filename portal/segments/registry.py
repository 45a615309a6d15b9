"""The criteria a segment may use, as data: each package adds the ones it knows in its
``init_app`` (``partners.deals.segment_criteria``...), so ``portal`` imports none of them.

A criterion turns one value into a SQL condition over ``Organization.id`` (an ``EXISTS`` or
``IN`` subquery, or a column comparison): a segment's members are one SELECT of organisations
with every condition of its criteria, never rows filtered in Python.

Inputs, and the value a criterion's ``condition`` receives (as stored in the segment's JSON):
    one       one of ``choices`` (a string)
    many      several of ``choices``, any of them matches (a list of strings, in choice order)
    integer   a whole number from ``minimum`` to ``maximum``
    decimal   a number with at most one decimal, from ``minimum`` to ``maximum`` (stored as a
              string, "4.5", so the JSON keeps it exact; the condition receives a ``Decimal``)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, and_, false
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.errors import InvalidInput
from portal.identity.models import Organization

INPUTS = ("one", "many", "integer", "decimal")
# Attributes of a form (FlaskForm, the segment form's own fields) a key would shadow.
RESERVED_KEYS = frozenset(
    {"name", "data", "errors", "meta", "process", "validate", "populate_obj", "form_errors"}
)

Choices = Callable[[], Iterable[tuple[Any, Any]]]


@dataclass(frozen=True)
class Criterion:
    """One way to narrow a segment. ``condition(value)`` returns a SQL boolean over
    ``Organization`` (correlated subqueries on ``Organization.id``); ``choices`` (for the inputs
    ``one`` and ``many``) returns ``(value, label)`` pairs, read when a form or a description
    needs them. ``order`` places it in the form."""

    key: str
    label: Any
    input: str
    choices: Choices | None
    condition: Callable[[Any], ColumnElement[bool]]
    order: int = 50
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    description: Any = ""

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise ValueError(f"criterion {self.key!r}: input {self.input!r} is not one of {INPUTS}")
        if not self.key.isidentifier() or self.key.startswith("_") or self.key in RESERVED_KEYS:
            raise ValueError(f"criterion key {self.key!r}: an identifier a form does not use")
        if self.input in ("one", "many") and self.choices is None:
            raise ValueError(f"criterion {self.key!r}: a choice needs its choices")

    def options(self) -> list[tuple[str, str]]:
        """``(value, label)`` pairs, the values as strings (as forms send them back)."""
        return [(str(value), str(label)) for value, label in (self.choices or (lambda: ()))()]

    def clean(self, value: Any, options: list[tuple[str, str]] | None = None) -> Any:
        """The value as the segment stores it, or None when it is empty (the criterion is not
        used). Raises InvalidInput naming the criterion's field."""
        if value is None or value == "" or value == [] or value == ():
            return None
        if self.input in ("one", "many"):
            known = [v for v, _label in (options if options is not None else self.options())]
            many = self.input == "many" and not isinstance(value, str)
            wanted = [str(v) for v in value] if many else [str(value)]
            unknown = [v for v in wanted if v not in known]
            if unknown:
                raise InvalidInput(
                    _("%(criterion)s: choose from the list.", criterion=self.label),
                    field=self.key,
                )
            if self.input == "one":
                return wanted[0]
            return [v for v in known if v in set(wanted)]
        return self._clean_number(value)

    def _clean_number(self, value: Any) -> int | str:
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite():
            raise InvalidInput(
                _("%(criterion)s: give a number.", criterion=self.label), field=self.key
            )
        if self.input == "integer" and number != number.to_integral_value():
            raise InvalidInput(
                _("%(criterion)s: give a whole number.", criterion=self.label), field=self.key
            )
        if self.input == "decimal" and number != number.quantize(Decimal("0.1")):
            raise InvalidInput(
                _("%(criterion)s: give at most one decimal (4.5).", criterion=self.label),
                field=self.key,
            )
        low, high = self.minimum, self.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            raise InvalidInput(
                _(
                    "%(criterion)s: give a number from %(low)s to %(high)s.",
                    criterion=self.label,
                    low=low,
                    high=high,
                ),
                field=self.key,
            )
        if self.input == "integer":
            return int(number)
        return str(number.quantize(Decimal("0.1")))

    def argument(self, stored: Any) -> Any:
        """The stored value as ``condition`` takes it."""
        if self.input == "decimal":
            return Decimal(str(stored))
        if self.input == "integer":
            return int(stored)
        return stored

    def shown(self, stored: Any, options: list[tuple[str, str]] | None = None) -> str:
        """The stored value as a person reads it (choices by their labels)."""
        if self.input in ("one", "many"):
            labels = dict(options if options is not None else self.options())
            values = stored if isinstance(stored, list) else [stored]
            return format_list(
                [labels.get(str(v), str(v)) for v in values], style="or", locale=_locale()
            )
        return str(stored)


@dataclass(frozen=True)
class Activity:
    """Something an organisation does that counts as buying (a won registration, an accepted
    quote): ``since(moment)`` selects the ids of the organisations that did it at or after
    ``moment``. The platform's criterion "no ... in the last N days" asks every activity."""

    key: str
    label: Any  # a noun phrase: "won registration"
    since: Callable[[datetime], Select]


_CRITERIA: dict[str, Criterion] = {}
_ACTIVITIES: dict[str, Activity] = {}
# name -> fn(segment_id) -> list of what still uses the segment (a campaign not sent yet...).
_USAGES: dict[str, Callable[[int], list[str]]] = {}

INACTIVE = "inactive_days"


def add_criterion(*criteria: Criterion) -> None:
    """Offer criteria (one with the key of a criterion already offered replaces it)."""
    for criterion in criteria:
        _CRITERIA[criterion.key] = criterion


def add_activity(*activities: Activity) -> None:
    """Count activities in the platform's inactivity criterion ("no won registration or
    accepted quote in the last N days"), which is offered once some activity is known."""
    for activity in activities:
        _ACTIVITIES[activity.key] = activity
    add_criterion(
        Criterion(
            key=INACTIVE,
            label=_InactivityLabel(),
            input="integer",
            choices=None,
            condition=_inactive_for,
            order=80,
            minimum=1,
            maximum=3650,
        )
    )


def add_usage(name: str, fn: Callable[[int], list[str]]) -> None:
    """Let a package say what still depends on a segment: ``fn(segment_id)`` returns readable
    descriptions of what uses it; a segment something uses is not deleted."""
    _USAGES[name] = fn


def criteria() -> list[Criterion]:
    """Every criterion offered, in form order."""
    return sorted(_CRITERIA.values(), key=lambda c: (c.order, c.key))


def criterion(key: str) -> Criterion | None:
    return _CRITERIA.get(key)


def usages(segment_id: int) -> list[str]:
    return [what for fn in _USAGES.values() for what in fn(segment_id)]


def conditions(stored: dict) -> list[ColumnElement[bool]]:
    """The SQL conditions of a segment's stored criteria. A criterion no package offers any more
    matches nobody: a segment never silently widens."""
    found = []
    for key, value in (stored or {}).items():
        c = _CRITERIA.get(key)
        found.append(false() if c is None else c.condition(c.argument(value)))
    return found


def clean(values: dict) -> dict:
    """The criteria of a segment as stored: every used criterion's value checked (unknown keys
    and values off the lists refused, numbers within their bounds); empty ones left out; at
    least one used. Raises InvalidInput naming the criterion."""
    cleaned = {}
    for key, value in (values or {}).items():
        c = _CRITERIA.get(key)
        if c is None:
            raise InvalidInput(_("Unknown criterion: %(key)s.", key=key))
        stored = c.clean(value)
        if stored is not None:
            cleaned[key] = stored
    if not cleaned:
        raise InvalidInput(
            _("Choose at least one criterion: a segment narrows the organisations down.")
        )
    return {key: cleaned[key] for key in sorted(cleaned, key=_form_position)}


def _locale():
    return get_locale() or "en"


def _form_position(key: str) -> tuple[int, str]:
    c = _CRITERIA.get(key)
    return (c.order if c else 999, key)


# The platform's inactivity criterion.


class _InactivityLabel:
    """ "No won registration or accepted quote in the last (days)", listing the activities known
    when it is read (in the reader's language)."""

    def __str__(self) -> str:
        what = format_list(
            [str(a.label) for a in _ACTIVITIES.values()], style="or", locale=_locale()
        )
        return _("No %(what)s in the last (days)", what=what)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def _inactive_for(days: int) -> ColumnElement[bool]:
    moment = utcnow() - timedelta(days=days)
    return and_(*(Organization.id.not_in(a.since(moment)) for a in _ACTIVITIES.values()))
