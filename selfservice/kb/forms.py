from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.web import choices

AUDIENCE_LABELS = {
    "public": _l("Everyone, signed in or not"),
    "customers": _l("Customers"),
    "partners": _l("Partners"),
    "internal": _l("Vendor staff only"),
}


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=200)])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()], choices=[])
    audience = SelectField(_l("Audience"), choices=choices(AUDIENCE_LABELS.items()))
    status = SelectField(
        _l("Status"), choices=choices([("draft", _l("Draft")), ("published", _l("Published"))])
    )
    body = TextAreaField(_l("Article (markdown)"), validators=[DataRequired(), Length(max=100000)])
    promoted = BooleanField(
        _l("Promote on the help centre's front page"),
        description=_l("Listed under “Featured” to the readers who may read it."),
    )
    snapshot = HiddenField()


class VoteForm(FlaskForm):
    helpful = RadioField(
        _l("Was this helpful?"),
        choices=choices([("yes", _l("Yes")), ("no", _l("No"))]),
        validators=[DataRequired()],
    )
    comment = TextAreaField(_l("A word to the author (optional)"), validators=[Length(max=2000)])


class ConfirmForm(FlaskForm):
    subject = HiddenField()


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=120)])
    description = StringField(_l("Description"), validators=[Length(max=300)])
