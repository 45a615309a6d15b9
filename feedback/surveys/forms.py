from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.identity.models import tier_options
from portal.product_lines import PRODUCT_LINES
from portal.web import choices


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    product = SelectField(
        _l("Product"),
        choices=choices([("", _l("The whole portfolio"))] + list(PRODUCT_LINES.items())),
        validators=[Optional()],
    )
    audience_kinds = MultiCheckboxField(
        _l("Ask"),
        choices=choices([("customer", _l("Customers")), ("partner", _l("Partners"))]),
        validators=[Optional()],
    )
    audience_tiers = MultiCheckboxField(
        _l("Partners of these tiers only (none ticked: every tier)"),
        choices=lambda: choices(tier_options()),  # the programme's tiers, as they are now
        validators=[Optional()],
    )
    audience_org_ids = SelectMultipleField(
        _l("Or only these organisations"), coerce=int, validators=[Optional()]
    )
    audience_segment_id = SelectField(
        _l("Or the organisations of a segment"),
        description=_l("Its organisations as they are when the campaign is sent."),
        validators=[Optional()],
    )
    remind_after_days = IntegerField(
        _l("Remind those who have not answered after (days)"),
        default=7,
        validators=[InputRequired(), NumberRange(min=1, max=60)],
    )

    def fields_dict(self) -> dict:
        return {
            "name": self.name.data,
            "product": self.product.data,
            "audience_kinds": self.audience_kinds.data,
            "audience_tiers": self.audience_tiers.data,
            "audience_org_ids": self.audience_org_ids.data,
            "audience_segment_id": self.audience_segment_id.data or None,
            "remind_after_days": self.remind_after_days.data,
        }


class ScheduleForm(FlaskForm):
    send_at = DateTimeLocalField(
        _l("Send at (UTC)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )


class CloseForm(FlaskForm):
    # The confirmation is a ticked box, not a script's dialog: the pages allow no inline script,
    # and a box works without JavaScript and in every client.
    confirm = BooleanField(
        _l("I understand: the links stop working and no reminder goes out; results stay."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you close it."))],
    )


class AnswerForm(FlaskForm):
    score = RadioField(
        _l("How likely are you to recommend us to a friend or colleague?"),
        choices=choices((n, str(n)) for n in range(11)),
        coerce=int,
        validators=[InputRequired(message=_l("Choose a score from 0 to 10."))],
    )
    comment = TextAreaField(
        _l("What is the main reason for your score?"), validators=[Length(max=2000)]
    )
