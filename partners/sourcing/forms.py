"""Forms of sourcing: a request for quotation, a supplier's offer, a decision on an offer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

# Empty rows the offer form shows: enough for most offers; a longer one comes as a PDF.
OFFER_FORM_LINES = 8


class RfqForm(FlaskForm):
    title = StringField(_l("What is needed"), validators=[DataRequired(), Length(max=200)])
    needs = TextAreaField(
        _l("Details"),
        validators=[Optional(), Length(max=10000)],
        description=_l("Quantities, specifications, delivery: what the suppliers price."),
    )
    respond_by = DateField(_l("Respond by"), validators=[DataRequired()])
    supplier_ids = SelectMultipleField(
        _l("Suppliers asked"),
        coerce=int,
        validators=[DataRequired(message=_l("Choose one or more suppliers."))],
        description=_l("Hold Ctrl (or ⌘) to choose several."),
    )


class OfferLineForm(Form):
    """One row of the offer's lines (no CSRF of its own: it is part of ``OfferForm``)."""

    # Not "description": a FormField has an attribute of that name (its label's help text).
    item = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    quantity = StringField(_l("Quantity"), validators=[Optional(), Length(max=12)])
    unit_price = StringField(_l("Unit price"), validators=[Optional(), Length(max=20)])


class OfferForm(FlaskForm):
    currency = StringField(
        _l("Currency"), default="EUR", validators=[DataRequired(), Length(min=3, max=3)]
    )
    lines = FieldList(FormField(OfferLineForm), min_entries=OFFER_FORM_LINES, max_entries=50)
    pdf = FileField(
        _l("Or upload your offer as a PDF (up to 10 MB)"),
        description=_l("Lines, a PDF, or both."),
    )
    note = TextAreaField(_l("Note to the vendor"), validators=[Optional(), Length(max=5000)])


class DecisionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (told to the supplier; needed to decline)"),
        validators=[Optional(), Length(max=5000)],
    )
