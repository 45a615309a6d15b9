from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from partners.catalogue.services import CURRENCIES
from portal.web import choices

MARKDOWN_HINT = _l("Markdown: **bold**, *italic*, lists, links. HTML is shown as text.")


class QuoteFieldsForm(FlaskForm):
    title = StringField(_l("Subject"), validators=[Length(max=200)])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired()])
    cover_letter = TextAreaField(
        _l("Cover letter"), validators=[Length(max=20000)], description=MARKDOWN_HINT
    )
    scope = TextAreaField(_l("Scope"), validators=[Length(max=20000)])
    timeline = TextAreaField(_l("Timeline"), validators=[Length(max=20000)])
    terms = TextAreaField(_l("Terms"), validators=[Length(max=10000)])
    snapshot = HiddenField()  # optimistic locking (portal.concurrency)

    def fields_dict(self) -> dict:
        return {
            "title": self.title.data,
            "valid_until": self.valid_until.data,
            "cover_letter": self.cover_letter.data,
            "scope": self.scope.data,
            "timeline": self.timeline.data,
            "terms": self.terms.data,
        }


class NewQuoteForm(QuoteFieldsForm):
    recipient = SelectField(_l("Recipient organisation"), coerce=int)
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES))
    deal_number = StringField(
        _l("On deal registration (optional)"),
        validators=[Length(max=20)],
        description=_l("For example DR-2026-00012: the quote goes to that partner."),
    )
    request_id = HiddenField()
    through_distributor = BooleanField(
        _l("Through the reseller's distributor"),
        description=_l("Two tiers: the quote names the distributor, told when it is sent."),
    )


class LineForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(), Length(max=40)])
    quantity = IntegerField(
        _l("Quantity"), validators=[InputRequired(), NumberRange(min=1, max=1_000_000)]
    )
    discount_percent = DecimalField(
        _l("Line discount %"), places=2, validators=[Optional(), NumberRange(min=0, max=100)]
    )
    tax_rate_percent = DecimalField(
        _l("Tax rate % (empty: the product's)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    snapshot = HiddenField()  # the draft as the page showed it (portal.concurrency)


class RemoveLineForm(FlaskForm):
    line_id = IntegerField(validators=[InputRequired()])
    snapshot = HiddenField()


class DraftActionForm(FlaskForm):
    """Send, approve discounts: a button that acts on the draft as the page showed it."""

    snapshot = HiddenField()


class AcceptForm(FlaskForm):
    full_name = StringField(
        _l("Your full name"), validators=[DataRequired(), Length(min=2, max=200)]
    )
    consent = BooleanField(
        _l("I accept this quote, as shown in the document above, on behalf of my organisation."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you accept."))],
    )
    pdf_sha256 = HiddenField()


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why do you decline?"), validators=[DataRequired(), Length(max=5000)])


class CloseRequestForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the request declined?"), validators=[DataRequired(), Length(max=5000)]
    )


class RequestForm(FlaskForm):
    message = TextAreaField(_l("What should the quote contain?"), validators=[Length(max=5000)])
