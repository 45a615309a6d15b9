from flask_babel import gettext as _
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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.product_lines import PRODUCT_LINES
from portal.web import choices
from selfservice.cases.models import PRIORITIES
from selfservice.cases.services import STATUS_LABELS, line_code

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
    # What the case is about (choices: product_choices), and the requester's own words.
    product = SelectField(_l("Product"), choices=[], validate_choice=False)
    product_details = StringField(
        _l("Model, version or serial number (optional)"), validators=[Length(max=100)]
    )
    # Vendor staff open cases on someone's behalf: the organisation (and, optionally, who asked).
    org_id = SelectField(_l("Organisation"), coerce=int, validators=[Optional()], choices=[])
    requester_email = StringField(_l("Requester's email (optional)"), validators=[Length(max=254)])
    read_article = HiddenField()  # the suggested article the person read before opening
    files = MultipleFileField(ATTACH_LABEL)


# The product select's values: "" (none), "line:<code>", "product:<id>". Validated by the
# service (selfservice.cases.services.choose_product), which says why a value cannot be had.


def product_choices(products) -> list[SelectChoice]:
    """Options of the product select: none, then one group per product line (the line itself,
    then its products), then the products outside the portal's lines."""
    options = [SelectChoice("", _("None, or not sure"))]
    by_line: dict[str, list] = {}
    for product in products:
        by_line.setdefault(line_code(product.product_line) or "", []).append(product)
    for code, label in PRODUCT_LINES.items():
        options.append(
            SelectChoice(
                f"line:{code}", _("%(line)s, other or in general", line=label), optgroup=str(label)
            )
        )
        options += [_product_choice(p, str(label)) for p in by_line.get(code, [])]
    others = str(_("Other products"))
    options += [_product_choice(p, others) for p in by_line.get("", [])]
    return options


def _product_choice(product, group: str) -> SelectChoice:
    return SelectChoice(f"product:{product.id}", f"{product.name} ({product.sku})", optgroup=group)


def product_value(product_id: int | None, product_line: str | None) -> str:
    """The select's value for what a case is about."""
    if product_id is not None:
        return f"product:{product_id}"
    return f"line:{product_line}" if product_line else ""


def product_fields(value: str | None) -> dict:
    """``product_id`` and ``product_line`` from the select's value (a value that is neither
    reaches the service as a line, which it refuses with a message saying what to choose)."""
    kind, _sep, rest = (value or "").partition(":")
    if not value:
        return {"product_id": None, "product_line": None}
    if kind == "product":
        return {"product_id": int(rest) if rest.isdigit() else 0, "product_line": None}
    return {"product_id": None, "product_line": rest if kind == "line" else value}


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
    product = SelectField(_l("Product"), choices=[], validate_choice=False)
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
    product = StringField(
        _l("Product line (e.g. networking), or a product's SKU or name (empty: any)"),
        validators=[Length(max=100)],
    )
    first_response_hours = StringField(_l("First response, business hours"))
    first_response_pauses = SelectMultipleField(
        _l("Statuses that stop the first-response clock"), choices=choices(PAUSE_CHOICES)
    )
    next_response_hours = StringField(
        _l("Next response after the customer's reply, business hours (empty: none)")
    )
    next_response_pauses = SelectMultipleField(
        _l("Statuses that stop the next-response clock"), choices=choices(PAUSE_CHOICES)
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
