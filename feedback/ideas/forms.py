from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from feedback.ideas.services import STATUS_LABELS
from portal.product_lines import PRODUCT_LINES
from portal.web import choices


class IdeaForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=5, max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    product = SelectField(
        _l("Product"),
        choices=choices([("", "—")] + list(PRODUCT_LINES.items())),
        validators=[DataRequired(message=_l("Choose the product the idea is about."))],
    )

    def fields_dict(self) -> dict:
        return {
            "title": self.title.data,
            "description": self.description.data,
            "product": self.product.data,
        }


class IdeaEditForm(IdeaForm):
    snapshot = HiddenField()  # optimistic locking (portal.concurrency)


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=choices(STATUS_LABELS.items()))
    reason = TextAreaField(
        _l("Reason (required to decline; shown to everyone)"),
        validators=[Length(max=2000)],
    )
    duplicate_of = IntegerField(
        _l("Duplicate of idea number"), validators=[Optional(), NumberRange(min=1)]
    )


class LinkCaseForm(FlaskForm):
    case_number = StringField(_l("Case number"), validators=[DataRequired(), Length(max=20)])


class LinkIdeaForm(FlaskForm):
    idea_id = IntegerField(_l("Idea number"), validators=[DataRequired(), NumberRange(min=1)])
