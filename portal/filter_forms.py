"""GET filter forms of the long list pages, without redoing constant work on every request.

- ``constant_choices(key, build)``: a select's options built once per locale (the ~250
  countries sorted by name, the statuses with their labels) and reused; the cache is keyed by
  ``flask_babel.get_locale()``, so each language has its own.
- ``FilterForm``: a GET form (no CSRF token) whose ``validate()`` checks only what the query
  uses: each select's value is one of its options (a set look-up, not WTForms' walk over every
  option), other fields through their own validators.
- ``options_html(field)`` (``FilterSelectField.options_html()`` in a template): a select's
  ``<option>`` list as one string, built once per locale and selected value for constant
  choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import is_dataclass, replace

from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectField
from wtforms.validators import Optional


def _value_label(choice) -> tuple:
    """(value, label) of an option given as a ``SelectChoice``, a pair or a plain value."""
    if hasattr(choice, "value"):
        return choice.value, choice.label
    if isinstance(choice, tuple):
        return choice[0], choice[1]
    return choice, choice


class ConstantChoices(list):
    """A select's options that are the same for everyone reading one language."""

    key: tuple = ()
    values: frozenset = frozenset()


_CHOICES: dict[tuple, ConstantChoices] = {}
_CHOICES_MAX = 256


def constant_choices(key: str, build: Callable[[], list]) -> ConstantChoices:
    """The options ``build()`` returns, built once per (``key``, locale) and reused."""
    full_key = (key, str(get_locale() or ""))
    found = _CHOICES.get(full_key)
    if found is None:
        found = ConstantChoices(
            replace(c, label=str(c.label)) if is_dataclass(c) else c for c in build()
        )
        found.key = full_key
        found.values = frozenset(_value_label(c)[0] for c in found)
        if len(_CHOICES) >= _CHOICES_MAX:
            _CHOICES.clear()
        _CHOICES[full_key] = found
    return found


class FilterForm(FlaskForm):
    """A list page's filters, read from the query string (nothing changes: no CSRF token)."""

    class Meta:
        csrf = False

    def validate(self, extra_validators=None) -> bool:
        valid = True
        for field in self:
            if isinstance(field, SelectField):
                field.errors = list(field.process_errors)
                if _left_out(field):
                    field.errors = []  # as Optional() does: an empty filter is no filter
                    continue
                choices = field.choices
                values = (
                    choices.values
                    if isinstance(choices, ConstantChoices)
                    else {_value_label(c)[0] for c in choices or ()}
                )
                if not field.errors and field.data not in values:
                    field.errors.append(field.gettext("Not a valid choice."))
                valid = valid and not field.errors
            else:
                valid = field.validate(self) and valid
        return valid


def _left_out(field) -> bool:
    raw = field.raw_data
    empty = not raw or (isinstance(raw[0], str) and not raw[0].strip())
    return empty and any(isinstance(v, Optional) for v in field.validators)


_OPTION = Markup('<option value="%s"%s>%s</option>')
_OPTIONS: dict[tuple, Markup] = {}
_OPTIONS_MAX = 4096


def _render_options(choices, selected: str) -> Markup:
    parts = []
    for choice in choices:
        value, label = _value_label(choice)
        mark = " selected" if value == selected else ""
        parts.append(_OPTION % (value, mark, label))  # Markup's % escapes each value
    return Markup("").join(parts)


class FilterSelectField(SelectField):
    """A filter's select; ``options_html()`` writes its options (see ``options_html``)."""

    def options_html(self) -> Markup:
        return options_html(self)


def options_html(field) -> Markup:
    """The ``<option>`` elements of a select field, the one matching its value selected."""
    selected = field.data or ""
    choices = field.choices or []
    if not isinstance(choices, ConstantChoices):
        return _render_options(choices, selected)
    key = (choices.key, str(selected))
    found = _OPTIONS.get(key)
    if found is None:
        if len(_OPTIONS) >= _OPTIONS_MAX:
            _OPTIONS.clear()
        found = _OPTIONS[key] = _render_options(choices, str(selected))
    return found
