from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal import access, formatting
from portal.identity.models import tier_options
from portal.identity.queries import SUPPLIER_RELATIONSHIP_LABELS
from portal.web import choices


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    # Optional: people of an organisation with its own identity provider leave it empty.
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(max=500)],
        description=_l("Leave it empty if your organisation signs in with its own provider."),
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=500)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    timezone = SelectField(
        _l("Time zone"),
        validators=[DataRequired()],
        description=_l(
            "Dates and times are shown in this zone. Your browser's zone is used until you "
            "choose one."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zones = formatting.zone_choices()
        if self.timezone.data and self.timezone.data not in zones:
            zones = (self.timezone.data, *zones)  # an alias a browser reported stays selectable
        self.timezone.choices = choices((zone, zone.replace("_", " ")) for zone in zones)
        if not self.timezone.data:
            self.timezone.data = "UTC"  # what pages show while no zone is known


class BrowserTimezoneForm(FlaskForm):
    """The zone ``portal/static/timezone.js`` reports, once (``Intl.DateTimeFormat``)."""

    timezone = StringField(validators=[DataRequired(), Length(max=64)])


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A POST with nothing but its CSRF token (deactivate, revoke, sign out)."""


def tier_choices():
    return choices([("", _l("No tier")), *tier_options()])


def supplier_relationship_choices():
    return choices([("", _l("None")), *SUPPLIER_RELATIONSHIP_LABELS.items()])


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    tier = SelectField(_l("Partner tier"), choices=tier_choices, validators=[Optional()])
    managed_by_id = SelectField(
        _l("Managed by partner"), coerce=lambda v: int(v) if v else None, validators=[Optional()]
    )
    supplier_relationship = SelectField(
        _l("Supplier relationship"),
        choices=supplier_relationship_choices,
        validators=[Optional()],
        description=_l("Suppliers only: how closely the vendor works with this supplier."),
    )


class AccountManagerForm(FlaskForm):
    account_manager_id = SelectField(
        _l("Account manager"), coerce=lambda v: int(v) if v else None, validators=[Optional()]
    )


class NewOrganizationForm(OrganizationForm):
    kind = SelectField(
        _l("Kind"),
        choices=choices(
            (kind, label) for kind, label in access.ORG_KIND_LABELS.items() if kind != access.VENDOR
        ),
    )
    admin_name = StringField(_l("First admin's name"), validators=[DataRequired(), Length(max=200)])
    admin_email = EmailField(
        _l("First admin's email"), validators=[DataRequired(), Email(), Length(max=254)]
    )
