"""The product lines feedback is tagged with (NPS campaigns, ideas): the portal's one list."""

from portal.product_lines import PRODUCT_LINES as PRODUCTS

__all__ = ["PRODUCTS"]
