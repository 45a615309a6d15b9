from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from partners.catalogue.services import CURRENCIES
from portal.web import choices


class ProductForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    unit = StringField(_l("Unit"), default="unit", validators=[Length(max=20)])
    list_price = DecimalField(
        _l("List price"), places=4, validators=[InputRequired(), NumberRange(min=0)]
    )
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES))
    tax_rate_percent = DecimalField(
        _l("Tax rate %"), places=2, default=0, validators=[Optional(), NumberRange(0, 100)]
    )
    product_line = StringField(_l("Product line"), validators=[Length(max=60)])
    min_quantity = IntegerField(
        _l("Minimum quantity"), validators=[Optional(), NumberRange(1, 1_000_000)]
    )
    max_quantity = IntegerField(
        _l("Maximum quantity"), validators=[Optional(), NumberRange(1, 1_000_000)]
    )
    active = BooleanField(_l("Sold (active)"), default=True)
    snapshot = HiddenField()  # optimistic locking (portal.concurrency)

    def fields_dict(self) -> dict:
        return {
            f: getattr(self, f).data
            for f in (
                "sku",
                "name",
                "description",
                "unit",
                "list_price",
                "currency",
                "tax_rate_percent",
                "product_line",
                "min_quantity",
                "max_quantity",
                "active",
            )
        }


class BreakForm(FlaskForm):
    min_quantity = IntegerField(
        _l("From quantity"), validators=[InputRequired(), NumberRange(2, 1_000_000)]
    )
    unit_price = DecimalField(
        _l("Unit price"), places=4, validators=[InputRequired(), NumberRange(min=0)]
    )


class RuleForm(FlaskForm):
    kind = SelectField(
        _l("Rule"),
        choices=choices([("requires", _l("requires")), ("excludes", _l("excludes"))]),
    )
    other_sku = StringField(_l("Other product's SKU"), validators=[DataRequired(), Length(max=40)])


class RemoveRuleForm(FlaskForm):
    rule_id = IntegerField(validators=[InputRequired()])


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired()],
        description=_l(
            "Columns: sku, name, list_price, currency (required); description, unit, "
            "tax_rate_percent, product_line, min_quantity, max_quantity, active, requires and "
            "excludes (SKUs separated by ;), breaks (as 10:900; 50:800). An existing SKU is "
            "updated."
        ),
    )
