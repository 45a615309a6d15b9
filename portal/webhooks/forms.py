"""Forms of the webhook pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class WebhookForm(FlaskForm):
    url = StringField(
        _l("Endpoint URL"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Where the portal POSTs the events, e.g. https://example.com/hooks/portal"),
    )
    events = TextAreaField(
        _l("Event types"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("One pattern per line or separated by commas: deal.*, case.solved, *"),
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Enabled"), default=True)

    def event_list(self) -> list[str]:
        raw = (self.events.data or "").replace(",", "\n")
        return [line.strip() for line in raw.splitlines() if line.strip()]
