"""Forms of market development funds: a request, a claim with its proof, the channel team's
decisions, a partner's budget and the tiers' defaults."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

ABOVE_ZERO = NumberRange(min=0.01, message=_l("The amount must be above zero."))
NOT_NEGATIVE = NumberRange(min=0, message=_l("The amount cannot be below zero."))


class RequestForm(FlaskForm):
    activity = StringField(
        _l("Activity"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("For example: a customer event, a webinar, a trade show stand"),
    )
    description = TextAreaField(_l("What you will do, and for whom"), validators=[Length(max=5000)])
    amount = DecimalField(_l("Amount (EUR)"), places=2, validators=[InputRequired(), ABOVE_ZERO])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])


class ClaimForm(FlaskForm):
    amount = DecimalField(
        _l("Amount spent (EUR)"), places=2, validators=[InputRequired(), ABOVE_ZERO]
    )
    description = TextAreaField(_l("What was done"), validators=[Length(max=5000)])
    files = MultipleFileField(
        _l("Proof of performance"),
        description=_l("Invoices, photos, attendee lists: PDF, images, text or zip, up to 5 files"),
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the partner sees it)"), validators=[DataRequired(), Length(max=2000)]
    )


class PayForm(FlaskForm):
    reference = StringField(_l("Payment reference"), validators=[DataRequired(), Length(max=100)])


class BudgetForm(FlaskForm):
    org_id = SelectField(_l("Partner"), coerce=int, validators=[InputRequired()])
    quarter = SelectField(_l("Quarter"), validators=[DataRequired()])
    amount = DecimalField(_l("Budget (EUR)"), places=2, validators=[InputRequired(), NOT_NEGATIVE])


class TierDefaultForm(FlaskForm):
    tier = SelectField(_l("Tier"), validators=[DataRequired()])
    amount = DecimalField(
        _l("Funds per quarter (EUR)"),
        places=2,
        validators=[Optional(), NOT_NEGATIVE],
        description=_l("Empty: partners of the tier get no funds unless given a budget"),
    )
