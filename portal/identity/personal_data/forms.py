"""Forms of personal data: the typed confirmation of an erasure, a case's legal hold."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class EraseForm(FlaskForm):
    confirmation = StringField(
        _l("Type the person's email address to confirm"),
        validators=[DataRequired(), Length(max=254)],
        description=_l(
            "Their name and address are removed everywhere and cannot be brought back; their "
            "cases, comments and votes stay, shown as “Former user”."
        ),
    )


class LegalHoldForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the legal hold"), validators=[DataRequired(), Length(max=500)]
    )
