"""What a case is about: a product of the vendor's catalogue (``partners.catalogue``), whose line
goes with it, or a product line alone (a code of ``portal.product_lines``). One check for opening
and editing, from the pages and the API; the words a requester used for the product are read as
a product or line where they name one exactly (as migration 0018 read the older cases'); and
what the SLA policies' product condition matches."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from partners.catalogue.models import Product
from portal.db import db
from portal.errors import InvalidInput
from portal.product_lines import PRODUCT_LINES
from selfservice.cases.models import Case

# The field the pages show the choice in (the API names product_id and product_line itself).
FIELD = "product"


@dataclass(frozen=True)
class CaseProduct:
    """A checked choice: the catalogue product (or None) and the line code (or None)."""

    product: Product | None
    line: str | None

    @property
    def product_id(self) -> int | None:
        return self.product.id if self.product is not None else None


NONE = CaseProduct(None, None)


def line_code(text: str | None) -> str | None:
    """The product line that ``text`` names by its code or its label (any case), or None."""
    wanted = (text or "").strip().lower()
    if not wanted:
        return None
    for code, label in PRODUCT_LINES.items():
        if wanted in (code, str(label).lower()):
            return code
    return None


def choose_product(
    product_id: int | None, product_line: str | None, *, current: Case | None = None
) -> CaseProduct:
    """The product and line a case is to refer to.

    ``product_id``: an active product of the catalogue (a case already on a product withdrawn
    since may keep it); its line goes with it, and a ``product_line`` given beside it must be
    that line (a product outside the portal's lines takes the line given). ``product_line``
    alone: a code of ``portal.product_lines``. Neither: nothing. Raises InvalidInput with a
    message that says what to choose."""
    line = None
    if product_line:
        line = product_line if product_line in PRODUCT_LINES else None
        if line is None:
            raise InvalidInput(
                _(
                    "Choose a product line from the list (%(codes)s).",
                    codes=", ".join(PRODUCT_LINES),
                ),
                field=FIELD,
            )
    if product_id is None:
        return CaseProduct(None, line)
    product = db.session.get(Product, product_id)  # the catalogue is everyone's to read
    if product is None:
        raise InvalidInput(
            _("Choose a product of the catalogue: none has the id %(id)s.", id=product_id),
            field=FIELD,
        )
    if not product.active and (current is None or current.product_id != product.id):
        raise InvalidInput(
            _(
                "%(name)s is no longer offered: choose an active product, or its product line.",
                name=product.name,
            ),
            field=FIELD,
        )
    own_line = line_code(product.product_line)
    if own_line is not None and line is not None and line != own_line:
        raise InvalidInput(
            _(
                "%(name)s belongs to the product line %(code)s: give that line, or none.",
                name=product.name,
                code=own_line,
            ),
            field=FIELD,
        )
    return CaseProduct(product, own_line or line)


def product_named(words: str | None) -> CaseProduct:
    """The active product whose SKU, or else whose name (if only one product has it), ``words``
    are (trimmed, any case), with its line; else the line they name; else nothing."""
    wanted = (words or "").strip()
    if not wanted:
        return NONE
    active = select(Product).where(Product.active.is_(True))
    product = db.session.scalar(
        active.where(func.lower(Product.sku) == func.lower(wanted)).order_by(Product.id).limit(1)
    )
    if product is None:
        named = db.session.scalars(
            active.where(func.lower(Product.name) == func.lower(wanted)).limit(2)
        ).all()
        product = named[0] if len(named) == 1 else None
    if product is not None:
        return CaseProduct(product, line_code(product.product_line))
    return CaseProduct(None, line_code(wanted))


def apply_product(case: Case, chosen: CaseProduct) -> None:
    """Point ``case`` at the checked choice (the product and its line, together)."""
    case.catalogue_product = chosen.product
    case.product_id = chosen.product_id
    case.product_line = chosen.line


def product_terms(case: Case) -> frozenset[str]:
    """What an SLA policy's product condition may name to match ``case`` (compared without
    regard to case): its product line's code, its catalogue product's SKU or name, or the
    requester's own words (the conditions written before cases named catalogue products). A
    condition naming a line therefore matches every product of that line."""
    terms = {case.product or "", case.product_line or ""}
    product = case.catalogue_product
    if product is None and case.product_id is not None:
        product = db.session.get(Product, case.product_id)
    if product is not None:
        terms |= {product.sku, product.name}
    return frozenset(t.strip().lower() for t in terms if t and t.strip())
