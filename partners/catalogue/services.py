"""Use cases of the catalogue: products, their quantity breaks and configuration rules. Writers
only flush; the caller commits once."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from partners.catalogue.models import RULE_KINDS, PriceBreak, Product, ProductRule
from partners.quotes.pricing import RuleProduct
from portal import audit, csv_upload
from portal.concurrency import check_unchanged
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.tenancy import Principal

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "CAD", "AUD", "JPY")
PRODUCT_FIELDS = [
    "sku",
    "name",
    "description",
    "unit",
    "list_price",
    "currency",
    "tax_rate_percent",
    "product_line",
    "active",
    "min_quantity",
    "max_quantity",
]


def _check(actor: Principal) -> None:
    if not actor.can("catalogue.manage"):
        raise Forbidden(_("Only vendor staff who manage the catalogue change it."))


def decimal_in(value, field: str, *, low: Decimal, high: Decimal, message: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(message, field=field) from None
    if not number.is_finite() or not low <= number <= high:
        raise InvalidInput(message, field=field)
    return number


def _clean(fields: dict) -> dict:
    sku = (fields.get("sku") or "").strip().upper()
    if not sku or len(sku) > 40:
        raise InvalidInput(_("Give the SKU (up to 40 characters)."), field="sku")
    name = (fields.get("name") or "").strip()
    if not name:
        raise InvalidInput(_("Give the product's name."), field="name")
    currency = (fields.get("currency") or "").upper()
    if currency not in CURRENCIES:
        raise InvalidInput(_("Choose a currency from the list."), field="currency")
    price = decimal_in(
        fields.get("list_price"),
        "list_price",
        low=Decimal("0"),
        high=Decimal("1e9"),
        message=_("The list price is a number from 0."),
    )
    tax = decimal_in(
        fields.get("tax_rate_percent") or 0,
        "tax_rate_percent",
        low=Decimal("0"),
        high=Decimal("100"),
        message=_("The tax rate is a percentage from 0 to 100."),
    )
    low, high = fields.get("min_quantity"), fields.get("max_quantity")
    for value, field in ((low, "min_quantity"), (high, "max_quantity")):
        if value is not None and not 1 <= value <= 1_000_000:
            raise InvalidInput(_("Quantities run from 1 to 1,000,000."), field=field)
    if low is not None and high is not None and low > high:
        raise InvalidInput(_("The minimum quantity is above the maximum."), field="max_quantity")
    return {
        "sku": sku,
        "name": name[:200],
        "description": (fields.get("description") or "")[:5000],
        "unit": (fields.get("unit") or "unit").strip()[:20] or "unit",
        "list_price": price,
        "currency": currency,
        "tax_rate_percent": tax,
        "product_line": (fields.get("product_line") or "").strip()[:60],
        "active": bool(fields.get("active", True)),
        "min_quantity": low,
        "max_quantity": high,
    }


def _unique_sku(sku: str, product_id: int | None = None) -> None:
    other = db.session.scalar(select(Product.id).where(Product.sku == sku))
    if other is not None and other != product_id:
        raise InvalidInput(_("Another product has the SKU %(sku)s.", sku=sku), field="sku")


def create_product(fields: dict, *, actor: Principal) -> Product:
    """Add a product to the catalogue. Raises InvalidInput naming the field."""
    _check(actor)
    cleaned = _clean(fields)
    _unique_sku(cleaned["sku"])
    product = Product(**cleaned)
    db.session.add(product)
    db.session.flush()
    audit.record(
        "product.created",
        product,
        actor=actor,
        org_id=actor.org_id,
        after=audit.snapshot(product, PRODUCT_FIELDS),
    )
    return product


def update_product(product: Product, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """Edit a product (optimistic locking: ``seen`` is the form's snapshot)."""
    _check(actor)
    check_unchanged(product, seen)
    cleaned = _clean(fields)
    _unique_sku(cleaned["sku"], product.id)
    before = audit.snapshot(product, PRODUCT_FIELDS)
    for key, value in cleaned.items():
        setattr(product, key, value)
    db.session.flush()
    audit.record(
        "product.edited",
        product,
        actor=actor,
        org_id=actor.org_id,
        before=before,
        after=audit.snapshot(product, PRODUCT_FIELDS),
    )


def set_price_break(
    product: Product, *, min_quantity: int, unit_price, actor: Principal
) -> PriceBreak:
    """From ``min_quantity`` units on, each unit costs ``unit_price`` (replaces a break at the
    same quantity)."""
    _check(actor)
    if not 2 <= min_quantity <= 1_000_000:
        raise InvalidInput(_("A break starts at 2 units or more."), field="min_quantity")
    price = decimal_in(
        unit_price,
        "unit_price",
        low=Decimal("0"),
        high=Decimal("1e9"),
        message=_("The unit price is a number from 0."),
    )
    existing = next((b for b in product.breaks if b.min_quantity == min_quantity), None)
    if existing is None:
        existing = PriceBreak(min_quantity=min_quantity, unit_price=price)
        product.breaks.append(existing)
    existing.unit_price = price
    db.session.flush()
    audit.record(
        "product.break_set",
        product,
        actor=actor,
        org_id=actor.org_id,
        after={"min_quantity": min_quantity, "unit_price": str(price)},
    )
    return existing


def add_rule(product: Product, *, kind: str, other_sku: str, actor: Principal) -> ProductRule:
    """``product`` requires, or excludes, the product with ``other_sku``."""
    _check(actor)
    if kind not in RULE_KINDS:
        raise InvalidInput(_("Choose requires or excludes."), field="kind")
    other = db.session.scalar(select(Product).where(Product.sku == other_sku.strip().upper()))
    if other is None:
        raise InvalidInput(_("No product has the SKU %(sku)s.", sku=other_sku), field="other_sku")
    if other.id == product.id:
        raise InvalidInput(_("A product cannot have a rule about itself."), field="other_sku")
    if any(r.kind == kind and r.other_product_id == other.id for r in product.rules):
        raise InvalidInput(_("This rule exists already."), field="other_sku")
    rule = ProductRule(kind=kind, other_product_id=other.id)
    product.rules.append(rule)
    db.session.flush()
    audit.record(
        "product.rule_added",
        product,
        actor=actor,
        org_id=actor.org_id,
        after={"kind": kind, "other": other.sku},
    )
    return rule


def remove_rule(product: Product, rule_id: int, *, actor: Principal) -> None:
    _check(actor)
    rule = next((r for r in product.rules if r.id == rule_id), None)
    if rule is None:
        raise InvalidInput(_("This rule does not exist (any more)."))
    product.rules.remove(rule)
    db.session.flush()
    audit.record(
        "product.rule_removed",
        product,
        actor=actor,
        org_id=actor.org_id,
        before={"kind": rule.kind, "other": rule.other_product_id},
    )


def rule_products(product_ids) -> dict[int, RuleProduct]:
    """What the configuration rules need to know of these products (and those they name)."""
    products = db.session.scalars(select(Product).where(Product.id.in_(set(product_ids)))).all()
    found = {}
    for p in products:
        found[p.id] = RuleProduct(
            id=p.id,
            sku=p.sku,
            active=p.active,
            min_quantity=p.min_quantity,
            max_quantity=p.max_quantity,
            requires=tuple(r.other_product_id for r in p.rules if r.kind == "requires"),
            excludes=tuple(r.other_product_id for r in p.rules if r.kind == "excludes"),
        )
    named = {i for p in found.values() for i in p.requires + p.excludes} - set(found)
    for p in db.session.scalars(select(Product).where(Product.id.in_(named))):
        found[p.id] = RuleProduct(id=p.id, sku=p.sku, active=p.active)
    return found


# CSV import.

# A product's own fields, and its rules and breaks (SKUs and ``qty:price`` lists).
CSV_COLUMNS = [*PRODUCT_FIELDS, "requires", "excludes", "breaks"]
MAX_IMPORT_ROWS = 5000


class ImportRefused(InvalidInput):
    """The file has errors: ``errors`` lists (line number, message); nothing was imported."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(_("Nothing was imported: %(n)d lines have errors.", n=len(errors)))
        self.errors = errors


def _int_or_none(value: str, field: str):
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(_("%(field)s is a whole number.", field=field), field=field)
    return int(value)


def _breaks(value: str) -> list[tuple[int, Decimal]]:
    """``10:900; 50:800`` -> [(10, 900), (50, 800)]."""
    found = []
    for part in filter(None, (p.strip() for p in (value or "").split(";"))):
        quantity, _sep, price = part.partition(":")
        if not quantity.strip().isdigit() or int(quantity) < 2:
            raise InvalidInput(_("A break is 'quantity:price' from 2 units, as 10:900."))
        found.append(
            (
                int(quantity),
                decimal_in(
                    price,
                    "breaks",
                    low=Decimal("0"),
                    high=Decimal("1e9"),
                    message=_("A break is 'quantity:price' from 2 units, as 10:900."),
                ),
            )
        )
    return found


def import_products(text: str, *, actor: Principal) -> tuple[int, int]:
    """Create or update products from CSV (header row with the ``CSV_COLUMNS`` it uses; ``sku``,
    ``name``, ``list_price`` and ``currency`` required; ``requires`` and ``excludes`` list SKUs
    separated by ``;``, in the file or the catalogue; ``breaks`` as ``10:900; 50:800``). Every
    line is checked first: with any error, ImportRefused lists them all and nothing is written.
    Returns (created, updated)."""
    import csv
    import io

    _check(actor)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=csv_upload.dialect_of(text))
    headers = [(h or "").strip().lower() for h in reader.fieldnames or []]
    unknown = sorted(set(headers) - set(CSV_COLUMNS))
    missing = sorted({"sku", "name", "list_price", "currency"} - set(headers))
    if unknown or missing:
        raise ImportRefused(
            [(1, _("Unknown columns: %(c)s.", c=", ".join(unknown)))] * bool(unknown)
            + [(1, _("Missing columns: %(c)s.", c=", ".join(missing)))] * bool(missing)
        )
    reader.fieldnames = headers
    errors: list[tuple[int, str]] = []
    rows = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            errors.append((number, _("At most %(n)d products per file.", n=MAX_IMPORT_ROWS)))
            break
        raw = {k: (v or "").strip() for k, v in raw.items() if k}
        try:
            cleaned = _clean(
                {
                    **raw,
                    "active": raw.get("active", "yes").lower() not in ("no", "false", "0", "n"),
                    "min_quantity": _int_or_none(raw.get("min_quantity"), "min_quantity"),
                    "max_quantity": _int_or_none(raw.get("max_quantity"), "max_quantity"),
                }
            )
            breaks = _breaks(raw.get("breaks", ""))
        except InvalidInput as error:
            errors.append((number, error.message))
            continue
        if cleaned["sku"] in seen:
            errors.append(
                (
                    number,
                    _(
                        "SKU %(sku)s is on line %(n)d too.",
                        sku=cleaned["sku"],
                        n=seen[cleaned["sku"]],
                    ),
                )
            )
            continue
        seen[cleaned["sku"]] = number
        rules = [
            (kind, sku.strip().upper())
            for kind in ("requires", "excludes")
            for sku in raw.get(kind, "").split(";")
            if sku.strip()
        ]
        rows.append((number, cleaned, breaks, rules))
    existing = {p.sku: p for p in db.session.scalars(select(Product))}
    known = set(existing) | set(seen)
    for number, cleaned, _b, rules in rows:
        for kind, sku in rules:
            if sku not in known:
                errors.append((number, _("%(kind)s %(sku)s: no such product.", kind=kind, sku=sku)))
            elif sku == cleaned["sku"]:
                errors.append((number, _("A product cannot have a rule about itself.")))
    if errors:
        raise ImportRefused(sorted(errors))
    created = updated = 0
    products: dict[str, Product] = dict(existing)
    for _n, cleaned, breaks, _r in rows:
        product = products.get(cleaned["sku"])
        if product is None:
            product = products[cleaned["sku"]] = Product(**cleaned)
            db.session.add(product)
            created += 1
        else:
            for key, value in cleaned.items():
                setattr(product, key, value)
            updated += 1
        if breaks:  # the file's breaks replace the product's (same quantity: new price)
            wanted = dict(breaks)
            for old in list(product.breaks):
                if old.min_quantity in wanted:
                    old.unit_price = wanted.pop(old.min_quantity)
                else:
                    product.breaks.remove(old)
            product.breaks += [PriceBreak(min_quantity=q, unit_price=p) for q, p in wanted.items()]
    db.session.flush()
    for _n, cleaned, _b, rules in rows:
        product = products[cleaned["sku"]]
        have = {(r.kind, r.other_product_id) for r in product.rules}
        for kind, sku in rules:
            if (kind, products[sku].id) not in have:
                product.rules.append(ProductRule(kind=kind, other_product_id=products[sku].id))
                have.add((kind, products[sku].id))
    db.session.flush()
    for number, cleaned, _b, _r in rows:
        product = products[cleaned["sku"]]
        audit.record(
            "product.imported",
            product,
            actor=actor,
            org_id=actor.org_id,
            after={**audit.snapshot(product, PRODUCT_FIELDS), "line": number},
        )
    return created, updated
