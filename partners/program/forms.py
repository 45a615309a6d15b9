"""Forms of the partner programme. They check what a browser can get wrong; the services check
everything again (the API will call them without a form)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from partners.program import queries
from partners.program.certifications import NAME_MAX, REASON_MAX
from partners.program.models import REQUIREMENT_CURRENCY, CertificationKind
from partners.program.services import (
    CERTIFIED_PEOPLE_MAX,
    DISCOUNT_MAX,
    TIER_LIMITS,
    TIER_NAME_MAX,
    WON_VALUE_MAX,
)
from partners.program.standing import NOTE_MAX
from portal.product_lines import PRODUCT_LINES
from portal.web import choices


def product_line_choices():
    return choices(PRODUCT_LINES.items())


def _a_number(form, field) -> None:
    """Stop at a value that is no finite number, with one message (not a second one about the
    range), and before the range check, which cannot compare a signalling NaN."""
    if field.data is None:
        raise StopValidation()  # the field's own "Not a valid ... value." says why
    if isinstance(field.data, Decimal) and not field.data.is_finite():
        raise StopValidation(_l("Give a number."))


def _whole_number(field: str, label, description="") -> IntegerField:
    low, high = TIER_LIMITS[field]
    return IntegerField(
        label,
        validators=[InputRequired(), _a_number, NumberRange(min=low, max=high)],
        description=description,
    )


class TierForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=TIER_NAME_MAX)])
    discount_percent = DecimalField(
        _l("Discount on quotes (%)"),
        places=2,
        validators=[InputRequired(), _a_number, NumberRange(min=0, max=DISCOUNT_MAX)],
    )
    protection_days = _whole_number("protection_days", _l("Deal protection (days)"))
    distribution_weight = _whole_number(
        "distribution_weight",
        _l("Lead-distribution weight"),
        _l("Relative chance of being picked when a lead is offered by rule; 0 means never."),
    )
    max_open_leads = _whole_number(
        "max_open_leads",
        _l("Maximum open leads"),
        _l("A partner with this many leads offered or accepted gets no more by rule."),
    )
    # What partners of the tier should reach (the partner scorecard); empty: no requirement.
    required_won_value_12m = DecimalField(
        _l("Required won value, last 12 months (%(currency)s)", currency=REQUIREMENT_CURRENCY),
        places=2,
        validators=[Optional(), _a_number, NumberRange(min=0, max=WON_VALUE_MAX)],
        description=_l(
            "Value of the registrations a partner won in the last 12 months, in %(currency)s. "
            "Leave empty for no requirement.",
            currency=REQUIREMENT_CURRENCY,
        ),
    )
    required_acceptance_percent = DecimalField(
        _l("Required offer acceptance rate (%)"),
        places=2,
        validators=[Optional(), _a_number, NumberRange(min=0, max=100)],
        description=_l(
            "Share of the offered leads a partner accepts, of those it answers. Leave empty for "
            "no requirement."
        ),
    )
    required_certified_people = IntegerField(
        _l("Required certified people"),
        validators=[Optional(), NumberRange(min=0, max=CERTIFIED_PEOPLE_MAX)],
        description=_l(
            "People of the partner with a verified certification valid today. Leave empty for "
            "no requirement."
        ),
    )
    # The tier as the form showed it (portal.concurrency), to detect someone else's save.
    snapshot = HiddenField()


class NewTierForm(TierForm):
    """A new tier: the same terms; it starts above the highest, and is then moved into place."""


class MoveTierForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired()])  # "up" or "down"


CERTIFICATION_KINDS = {
    CertificationKind.certification.value: _l("Certification"),
    CertificationKind.training.value: _l("Training"),
}


class CertificationForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=lambda v: int(v) if v else None)  # people_of
    kind = SelectField(
        _l("Kind"),
        choices=lambda: choices(CERTIFICATION_KINDS.items()),
        description=_l("Only certifications count towards a tier's certified people."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    issuer = StringField(_l("Issued by"), validators=[DataRequired(), Length(max=NAME_MAX)])
    issued_on = DateField(_l("Obtained on"), validators=[InputRequired()])
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("Leave empty if it does not expire."),
    )
    evidence = FileField(
        _l("Evidence"),
        description=_l("The certificate or a record of the training: PDF or image, up to 10 MB."),
    )


class RejectCertificationForm(FlaskForm):
    reason = TextAreaField(
        _l("Why it cannot be verified"), validators=[DataRequired(), Length(max=REASON_MAX)]
    )


class DecideForm(FlaskForm):
    """Verify a certification, or apply a proposal: a POST with its CSRF token."""


class DismissProposalForm(FlaskForm):
    note = TextAreaField(_l("Why (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class PartnerTierForm(FlaskForm):
    tier = SelectField(_l("Tier"), validators=[Optional()])  # choices: tier_choices()
    seen_tier = HiddenField()  # the tier the page showed


def tier_choices(tiers) -> list:
    return choices([("", _l("No tier"))] + [(t.code, t.name) for t in tiers])


_SEPARATORS = re.compile(r"[,;\n]+")


class CoverageForm(FlaskForm):
    countries = StringField(
        _l("Territories"),
        validators=[Length(max=2000)],
        description=_l(
            "Countries by ISO code or English name, separated by commas: CH, DE, Austria."
        ),
    )
    product_lines = SelectMultipleField(_l("Specialisations"), choices=product_line_choices)
    # The coverage as the form showed it, to detect someone else's save.
    seen_countries = HiddenField()
    seen_product_lines = HiddenField()

    def country_list(self) -> list[str]:
        """What was typed, one entry per country. "CH DE AT" is read as three codes, since
        that is what someone means by it."""
        entries = []
        for part in _SEPARATORS.split(self.countries.data or ""):
            words = part.split()
            if (
                len(words) > 1
                and queries.country_code(part) is None
                and all(len(w) == 2 and queries.country_code(w) for w in words)
            ):
                entries += words
            else:
                entries.append(part.strip())
        return [e for e in entries if e]

    @staticmethod
    def joined(values) -> str:
        return ",".join(values)

    @staticmethod
    def split(value: str | None) -> list[str]:
        return [v for v in (value or "").split(",") if v]
