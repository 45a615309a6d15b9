from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal.web import choices

RATINGS = [
    (1, _l("1 · Very dissatisfied")),
    (2, _l("2 · Dissatisfied")),
    (3, _l("3 · Neutral")),
    (4, _l("4 · Satisfied")),
    (5, _l("5 · Very satisfied")),
]


class CsatAnswerForm(FlaskForm):
    score = RadioField(
        _l("How satisfied are you with the help you received?"),
        choices=choices(RATINGS),
        coerce=int,
        validators=[InputRequired(message=_l("Choose a rating from 1 to 5."))],
    )
    comment = TextAreaField(
        _l("Anything you would like to add? (optional)"), validators=[Length(max=2000)]
    )
