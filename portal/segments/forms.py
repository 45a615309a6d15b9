"""The segment form: a name, and one field per criterion of the registry (built per request,
so the choices are today's). The form checks only that a name is given; the service checks the
criteria (``registry.clean``) and its messages land on the criterion's field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from portal.segments import registry
from portal.segments.registry import Criterion
from portal.web import choices


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SegmentForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Give the segment a name.")), Length(max=120)],
    )

    criteria: list[Criterion] = []

    def criteria_fields(self) -> list:
        return [self[c.key] for c in self.criteria]

    def values(self) -> dict:
        """Criterion key -> what was entered ("" or [] where nothing was)."""
        return {c.key: self[c.key].data for c in self.criteria}


def _field(criterion: Criterion):
    kwargs = {"description": criterion.description, "validators": [Optional()]}
    if criterion.input == "many":
        return MultiCheckboxField(
            criterion.label,
            choices=lambda c=criterion: choices(c.options()),
            validate_choice=False,
            **kwargs,
        )
    if criterion.input == "one":
        return SelectField(
            criterion.label,
            choices=lambda c=criterion: choices([("", _l("Any"))] + c.options()),
            validate_choice=False,
            **kwargs,
        )
    step = "1" if criterion.input == "integer" else "0.1"
    widget = NumberInput(step=step, min=criterion.minimum, max=criterion.maximum)
    return StringField(criterion.label, filters=[_strip], widget=widget, **kwargs)


def segment_form(segment=None) -> SegmentForm:
    """The form over today's criteria, filled from ``segment`` on a first view (and from the
    request when it comes back)."""
    offered = registry.criteria()
    form_class = type(
        "SegmentCriteriaForm",
        (SegmentForm,),
        {"criteria": offered, **{c.key: _field(c) for c in offered}},
    )
    if segment is None:
        return form_class()
    return form_class(data={"name": segment.name, **segment.criteria})
