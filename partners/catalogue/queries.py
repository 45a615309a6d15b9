"""Read side of the catalogue, through the tenant wall. Lists are ordered statements: the view
pages them with ``portal.web.paginate``."""

from __future__ import annotations

from sqlalchemy import Select, select

from partners.catalogue.models import Product


def products_by_sku() -> Select:
    """The products, by SKU."""
    return select(Product).order_by(Product.sku)
