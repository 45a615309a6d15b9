from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
        description=_l(
            "The six digits your authenticator app shows, or one of your recovery codes."
        ),
    )


class ConfirmCodeForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class DisableForm(FlaskForm):
    proof = PasswordField(
        _l("A current code from your app, or your password"),
        validators=[DataRequired(), Length(max=500)],
        render_kw={"autocomplete": "current-password"},
    )


class PolicyForm(FlaskForm):
    require_second_factor = BooleanField(
        _l("Members who sign in with a password must use a second factor"),
        description=_l(
            "Members without one are asked to set up an authenticator app at their next page. "
            "People who sign in through your identity provider are exempt: it decides."
        ),
    )


class PasskeyForm(FlaskForm):
    """Add a passkey: its name here; the browser's answer in ``credential`` (static/js)."""

    name = StringField(
        _l("Name of the passkey"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("For example the device or the password manager that keeps it."),
    )
    credential = HiddenField(validators=[DataRequired(), Length(max=20000)])


class PasskeySignInForm(FlaskForm):
    credential = HiddenField(validators=[DataRequired(), Length(max=20000)])


class RemovePasskeyForm(FlaskForm):
    proof = PasswordField(
        _l("Your password, or a current code from your app"),
        validators=[DataRequired(), Length(max=500)],
        render_kw={"autocomplete": "current-password"},
    )
