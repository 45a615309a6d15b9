"""Forms of the lead pages. They check what a browser can get wrong; the services check the rest
(and the same for the API and CSV rows)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from partners.leads.models import LEAD_LABELS, SHARED_LEAD_LABELS
from partners.leads.queries import EXPIRING_WITHIN
from partners.leads.services import MAX_REASON, country_choices
from portal.filter_forms import FilterForm, FilterSelectField, constant_choices
from portal.product_lines import PRODUCT_LINES
from portal.web import choices


def _strip(value):
    return value.strip() if isinstance(value, str) else value


SORT_LABELS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"), "company": _l("Company")}


def _countries(blank):
    return choices([("", blank)] + country_choices())


def _product_lines(blank):
    return choices([("", blank), *PRODUCT_LINES.items()])


class _LeadFields(FlaskForm):
    company = StringField(
        _l("Company"), filters=[_strip], validators=[DataRequired(), Length(max=200)]
    )
    contact_name = StringField(_l("Contact"), filters=[_strip], validators=[Length(max=200)])
    email = EmailField(
        _l("Email"), filters=[_strip], validators=[Optional(), Email(), Length(max=254)]
    )
    country = SelectField(
        _l("Country"), choices=lambda: _countries(_l("Choose…")), validators=[DataRequired()]
    )
    product_line = SelectField(
        _l("Product line"),
        choices=lambda: _product_lines(_l("Choose…")),
        validators=[DataRequired()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])

    field_names: tuple[str, ...] = (
        "company",
        "contact_name",
        "email",
        "country",
        "product_line",
        "notes",
    )

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in self.field_names}


class LeadForm(_LeadFields):
    phone = StringField(_l("Phone"), filters=[_strip], validators=[Length(max=50)])
    offer_now = BooleanField(_l("Offer it to a partner by rule at once"))
    snapshot = HiddenField()  # optimistic locking (portal.concurrency), when editing

    field_names = (*_LeadFields.field_names, "phone")


class SharedLeadForm(_LeadFields):
    pass


class LeadFilterForm(FilterForm):
    """The list's filters (GET: no CSRF token, nothing changes). Its choices are built once per
    locale, and ``validate()`` checks only what the query uses (``portal.filter_forms``)."""

    q = StringField(_l("Search"), filters=[_strip], validators=[Optional(), Length(max=100)])
    status = FilterSelectField(
        _l("Status"),
        choices=lambda: constant_choices(
            "leads.status",
            lambda: choices([("", _l("Any status"))] + list(LEAD_LABELS.items())),
        ),
        validators=[Optional()],
    )
    expiring = FilterSelectField(
        _l("Answer due"),
        choices=lambda: constant_choices(
            "leads.expiring",
            lambda: choices(
                [
                    ("", _l("Any time")),
                    (
                        "soon",
                        _l(
                            "Unanswered, due within %(hours)d hours",
                            hours=EXPIRING_WITHIN // timedelta(hours=1),
                        ),
                    ),
                ]
            ),
        ),
        validators=[Optional()],
    )
    country = FilterSelectField(
        _l("Country"),
        choices=lambda: constant_choices("leads.country", lambda: _countries(_l("Any country"))),
        validators=[Optional()],
    )
    product_line = FilterSelectField(
        _l("Product line"),
        choices=lambda: constant_choices(
            "leads.product_line", lambda: _product_lines(_l("Any product line"))
        ),
        validators=[Optional()],
    )
    sort = FilterSelectField(
        _l("Order"),
        choices=lambda: constant_choices("leads.sort", lambda: choices(SORT_LABELS.items())),
        default="newest",
        validators=[Optional()],
    )


class SharedFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=lambda: choices([("", _l("Any status"))] + list(SHARED_LEAD_LABELS.items())),
        validators=[Optional()],
    )


class OfferForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int, validators=[DataRequired()])
    note = StringField(
        _l("Note for the record (optional)"), filters=[_strip], validators=[Length(max=MAX_REASON)]
    )


class PassDownForm(FlaskForm):
    """A distributor passes a lead down to one of its resellers, with its own respond-by."""

    reseller_id = SelectField(_l("Reseller"), coerce=int, validators=[DataRequired()])
    respond_by = DateTimeLocalField(
        _l("Answer by (UTC)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )


class RuleForm(FlaskForm):
    """Offer by rule, optionally among the partners of a segment (``portal.segments``)."""

    segment_id = SelectField(
        _l("Candidates"),
        default="",
        validators=[Optional()],
        description=_l("A segment narrows the partners the rule chooses from."),
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (required: the other side reads it)"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_REASON)],
    )


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Note to the partner (optional)"),
        filters=[_strip],
        validators=[Length(max=MAX_REASON)],
    )


class CloseForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=lambda: choices([("won", _l("Won")), ("lost", _l("Lost"))]),
        validators=[DataRequired()],
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired()],
        description=_l(
            "A header row, then one lead per row. Columns: company, country and product_line "
            "(required); contact_name, email, phone, notes. Comma, semicolon or tab separated, "
            "UTF-8."
        ),
    )
    source = StringField(
        _l("Source"),
        default="import",
        filters=[_strip],
        validators=[Optional(), Length(max=60)],
        description=_l("Where these leads come from, for example a trade fair."),
    )


class ImportConfirmForm(FlaskForm):
    """The preview's confirmation; the file travels in ``payload`` fields (csv_import.seal)."""
