from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from partners.deals.services import CURRENCIES
from portal.web import choices

# DataRequired would call a zero "required": say what is wrong with it instead.
ABOVE_ZERO = NumberRange(min=0.01, message=_l("The estimated value must be above zero."))


class DealForm(FlaskForm):
    customer_name = StringField(
        _l("End customer (company)"), validators=[DataRequired(), Length(max=200)]
    )
    customer_domain = StringField(
        _l("Customer's web domain"),
        validators=[DataRequired(), Length(max=253)],
        description=_l("For example acme.com"),
    )
    contact_name = StringField(_l("Contact at the customer"), validators=[Length(max=200)])
    contact_email = EmailField(_l("Contact's email"), validators=[Optional(), Length(max=254)])
    products = TextAreaField(
        _l("Products of interest, one per line"), validators=[DataRequired(), Length(max=2000)]
    )
    value = DecimalField(_l("Estimated value"), places=2, validators=[InputRequired(), ABOVE_ZERO])
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES))
    expected_close = DateField(_l("Expected close"), validators=[DataRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])
    snapshot = HiddenField()  # optimistic locking (portal.concurrency)

    def fields_dict(self) -> dict:
        return {
            "customer_name": self.customer_name.data,
            "customer_domain": self.customer_domain.data,
            "contact_name": self.contact_name.data,
            "contact_email": self.contact_email.data,
            "products": (self.products.data or "").splitlines(),
            "value": self.value.data,
            "currency": self.currency.data,
            "expected_close": self.expected_close.data,
            "notes": self.notes.data,
        }


class ApproveForm(FlaskForm):
    protection_days = IntegerField(
        _l("Protect for days (empty: the partner's tier)"),
        validators=[Optional(), NumberRange(min=1, max=730)],
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the partner sees it)"), validators=[DataRequired(), Length(max=2000)]
    )


class RequestInfoForm(FlaskForm):
    message = TextAreaField(
        _l("What information is needed"), validators=[DataRequired(), Length(max=2000)]
    )


class ExtendForm(FlaskForm):
    days = IntegerField(
        _l("Extend by days"), validators=[DataRequired(), NumberRange(min=1, max=365)]
    )


class ExtensionRequestForm(FlaskForm):
    days = IntegerField(
        _l("More days of protection"), validators=[DataRequired(), NumberRange(min=1, max=365)]
    )
    reason = TextAreaField(
        _l("Why the deal needs longer"), validators=[DataRequired(), Length(max=2000)]
    )


class DeclineExtensionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the partner sees it)"), validators=[DataRequired(), Length(max=2000)]
    )


class SettleForm(FlaskForm):
    """One conflict settled: which side keeps the customer (the first in by default)."""

    conflict_id = IntegerField(validators=[DataRequired()])
    winner = RadioField(
        _l("Who keeps the customer"),
        choices=choices([("registration", "registration"), ("other", "other")]),
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Why the later claim wins (needed when it is not the first in)"),
        validators=[Length(max=2000)],
    )


class ProgrammeForm(FlaskForm):
    distributor_first_approval = BooleanField(
        _l("Resellers attached to a distributor submit their registrations to it first")
    )


class CloseForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=choices([("won", _l("Won")), ("lost", _l("Lost"))]),
        validators=[DataRequired()],
    )


class DirectDealForm(FlaskForm):
    customer_name = StringField(
        _l("Customer (company)"), validators=[DataRequired(), Length(max=200)]
    )
    customer_domain = StringField(
        _l("Customer's web domain"), validators=[DataRequired(), Length(max=253)]
    )
    value = DecimalField(_l("Value"), places=2, validators=[InputRequired(), ABOVE_ZERO])
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES))
