from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.web import choices
from selfservice.cases.models import PRIORITIES
from selfservice.cases.services import STATUS_LABELS

ATTACH_LABEL = _l("Attach files (PDF, images, text, logs, zip; up to 10 MB each)")
PRIORITY_LABELS = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}


class CaseForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(), Length(min=3, max=200)],
        render_kw={"autocomplete": "off", "data-suggest": "1"},
    )
    description = TextAreaField(
        _l("Describe the problem (markdown)"), validators=[DataRequired(), Length(max=20000)]
    )
    priority = SelectField(
        _l("Priority"), choices=choices(PRIORITY_LABELS.items()), default="normal"
    )
    product = StringField(_l("Product"), validators=[Length(max=100)])
    # Vendor staff open cases on someone's behalf: the organisation (and, optionally, who asked).
    org_id = SelectField(_l("Organisation"), coerce=int, validators=[Optional()], choices=[])
    requester_email = StringField(_l("Requester's email (optional)"), validators=[Length(max=254)])
    read_article = HiddenField()  # the suggested article the person read before opening
    files = MultipleFileField(ATTACH_LABEL)


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=20000)])
    internal = BooleanField(_l("Internal note (never shown to the customer)"))
    status = SelectField(
        _l("Then set the status to"),
        choices=choices([("", "—"), *[(k, v) for k, v in STATUS_LABELS.items() if k != "new"]]),
        validators=[Optional()],
    )
    files = MultipleFileField(ATTACH_LABEL)


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=choices([(k, v) for k, v in STATUS_LABELS.items() if k != "new"]),
        validators=[DataRequired()],
    )
    # Optimistic locking (portal.concurrency): the status the page showed. Named apart from the
    # edit form's snapshot, both being on the case page.
    status_snapshot = HiddenField()


class EditCaseForm(FlaskForm):
    priority = SelectField(_l("Priority"), choices=choices(PRIORITY_LABELS.items()))
    product = StringField(_l("Product"), validators=[Length(max=100)])
    category = StringField(_l("Category"), validators=[Length(max=100)])
    assignee_id = SelectField(_l("Assignee"), coerce=int, validators=[Optional()], choices=[])
    team_id = SelectField(_l("Team"), coerce=int, validators=[Optional()], choices=[])
    snapshot = HiddenField()  # optimistic locking (portal.concurrency)


class MergeForm(FlaskForm):
    into = StringField(_l("Merge into case number"), validators=[DataRequired(), Length(max=20)])


class WatcherForm(FlaskForm):
    email = StringField(_l("Add a watcher (email)"), validators=[DataRequired(), Length(max=254)])


class TeamForm(FlaskForm):
    name = StringField(_l("Team"), validators=[DataRequired(), Length(min=2, max=120)])
    members = SelectMultipleField(_l("Members"), coerce=int, choices=[])
    lead_id = SelectField(
        _l("Team lead (hears of low satisfaction ratings)"),
        coerce=int,
        validators=[Optional()],
        choices=[],
        validate_choice=False,  # the service says why a person cannot lead
    )


PAUSE_CHOICES = [("pending", _l("Pending")), ("on_hold", _l("On hold"))]


class PolicyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=120)])
    position = IntegerField(_l("Position (lower is tried first)"), default=100)
    active = BooleanField(_l("Active"), default=True)
    priority = SelectField(
        _l("Priority"), choices=choices([("", _l("Any")), *PRIORITY_LABELS.items()])
    )
    tier = SelectField(_l("Customer's or partner's tier"), choices=[])
    product = StringField(_l("Product (empty: any)"), validators=[Length(max=100)])
    first_response_hours = StringField(_l("First response, business hours"))
    first_response_pauses = SelectMultipleField(
        _l("Statuses that stop the first-response clock"), choices=choices(PAUSE_CHOICES)
    )
    resolution_hours = StringField(_l("Resolution, business hours"))
    resolution_pauses = SelectMultipleField(
        _l("Statuses that stop the resolution clock"), choices=choices(PAUSE_CHOICES)
    )
    timezone = StringField(_l("Time zone (empty: the vendor's)"), validators=[Length(max=64)])
    business_hours = StringField(
        _l("Business hours, e.g. 08:00-18:00"), validators=[Length(max=20)]
    )
    holidays = StringField(_l("Public holidays, e.g. DE-BY"), validators=[Length(max=10)])


class SharingForm(FlaskForm):
    shared = BooleanField(_l("Everyone in our organisation sees all our cases"))


class SolveForm(FlaskForm):
    pass


__all__ = ["IntegerField", "PRIORITIES"]
