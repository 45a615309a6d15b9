"""Pages of the catalogue: the product list, a product's form with its quantity breaks and
configuration rules."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.catalogue import queries, services
from partners.catalogue.forms import (
    BreakForm,
    ImportForm,
    ProductForm,
    RemoveRuleForm,
    RuleForm,
)
from partners.catalogue.models import Product
from portal import access, audit, csv_upload
from portal.concurrency import EditConflict, snapshot
from portal.db import get_or_404
from portal.errors import InvalidInput
from portal.web import attempt, form_status, paginate

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
MAX_IMPORT_BYTES = 2 * 1024 * 1024


@bp.get("/")
@login_required
@access.require("catalogue.view")
def index():
    return render_template(
        "partners/catalogue/index.html",
        page=paginate(queries.products_by_sku(), per_page=50),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("catalogue.manage")
def new():
    form = ProductForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            product = services.create_product(form.fields_dict(), actor=g.principal)
        if done:
            flash(_("%(sku)s is in the catalogue.", sku=product.sku), "success")
            return redirect(url_for("catalogue.edit", product_id=product.id))
    return render_template("partners/catalogue/form.html", form=form, product=None), form_status(
        form
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
@access.require("catalogue.manage")
def import_file():
    """Create or update products from a CSV file: every line checked first, all or nothing."""
    form = ImportForm()
    errors: list[tuple[int, str]] = []
    if form.validate_on_submit():
        try:
            text = csv_upload.read_text(form.file.data, MAX_IMPORT_BYTES)
        except InvalidInput as error:
            form.file.errors = [error.message]
        else:
            with attempt(form) as done:
                created, updated = services.import_products(text, actor=g.principal)
            if done:
                flash(_("%(c)d products added, %(u)d updated.", c=created, u=updated), "success")
                return redirect(url_for("catalogue.index"))
            if isinstance(done.error, services.ImportRefused):
                errors = done.error.errors
    return render_template("partners/catalogue/import.html", form=form, errors=errors), form_status(
        form
    )


def _page(product: Product, form, conflict=None, status: int = 200, **forms):
    return render_template(
        "partners/catalogue/form.html",
        form=form,
        product=product,
        conflict=conflict,
        break_form=forms.get("break_form") or BreakForm(formdata=None),
        rule_form=forms.get("rule_form") or RuleForm(formdata=None),
        remove_form=RemoveRuleForm(formdata=None),
        events=audit.history_for(product),
    ), status


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("catalogue.manage")
def edit(product_id: int):
    product = get_or_404(Product, product_id)
    form = ProductForm(obj=product)
    conflict = None
    if request.method == "GET":
        form.snapshot.data = snapshot(product, services.PRODUCT_FIELDS)
    elif form.validate_on_submit():
        with attempt(form) as done:
            services.update_product(
                product, form.fields_dict(), seen=form.snapshot.data, actor=g.principal
            )
        if done:
            flash(_("%(sku)s is saved.", sku=product.sku), "success")
            return redirect(url_for("catalogue.edit", product_id=product.id))
        if isinstance(done.error, EditConflict):
            conflict = done.error
            form.snapshot.data = snapshot(product, services.PRODUCT_FIELDS)
    return _page(product, form, conflict, 409 if conflict else form_status(form))


@bp.post("/<int:product_id>/breaks")
@login_required
@access.require("catalogue.manage")
def add_break(product_id: int):
    product = get_or_404(Product, product_id)
    form = BreakForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.set_price_break(
                product,
                min_quantity=form.min_quantity.data,
                unit_price=form.unit_price.data,
                actor=g.principal,
            )
        if done:
            return redirect(url_for("catalogue.edit", product_id=product.id))
    return _page(product, ProductForm(obj=product, formdata=None), status=422, break_form=form)


@bp.post("/<int:product_id>/rules")
@login_required
@access.require("catalogue.manage")
def add_rule(product_id: int):
    product = get_or_404(Product, product_id)
    form = RuleForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.add_rule(
                product, kind=form.kind.data, other_sku=form.other_sku.data, actor=g.principal
            )
        if done:
            return redirect(url_for("catalogue.edit", product_id=product.id))
    return _page(product, ProductForm(obj=product, formdata=None), status=422, rule_form=form)


@bp.post("/<int:product_id>/remove-rule")
@login_required
@access.require("catalogue.manage")
def remove_rule(product_id: int):
    product = get_or_404(Product, product_id)
    form = RemoveRuleForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.remove_rule(product, form.rule_id.data, actor=g.principal)
        if done:
            flash(_("The rule is removed."), "success")
    return redirect(url_for("catalogue.edit", product_id=product.id))
