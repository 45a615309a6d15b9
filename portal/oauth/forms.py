from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal import access
from portal.web import choices


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApiClientForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    confidential = BooleanField(_l("Confidential (a server that can keep a secret)"), default=True)
    service_role = SelectField(
        _l("Acts as the organisation with role (client credentials)"), validators=[Optional()]
    )
    redirect_uris = TextAreaField(
        _l("Redirect URIs, one per line (to act for users, with their consent)"),
        validators=[Optional(), Length(max=2000)],
    )
    scopes = MultiCheckboxField(_l("Scopes"), choices=choices((s, s) for s in access.SCOPES))

    def redirect_uri_list(self) -> list[str]:
        return [
            line.strip() for line in (self.redirect_uris.data or "").splitlines() if line.strip()
        ]
