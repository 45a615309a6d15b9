"""What the ideas' use cases share: status names, the link to an idea, and the checks of what
people type."""

from __future__ import annotations

from flask_babel import gettext as _

from feedback.ideas.models import STATUS_LABELS
from portal.errors import InvalidInput
from portal.notify import services as notify
from portal.product_lines import PRODUCT_LINES

__all__ = ["STATUS_LABELS", "clean_fields", "idea_link"]


def idea_link(idea_id: int) -> notify.Link:
    """Where news of an idea points: its page."""
    return notify.link("ideas.detail", idea_id=idea_id)


def clean_fields(fields: dict) -> dict:
    """Title, description and product as proposing and editing accept them."""
    title = " ".join((fields.get("title") or "").split())
    if len(title) < 5:
        raise InvalidInput(_("Give the idea a title of at least 5 characters."), field="title")
    if len(title) > 200:
        raise InvalidInput(_("Keep the title under 200 characters."), field="title")
    description = (fields.get("description") or "").strip()
    if len(description) > 5000:
        raise InvalidInput(_("Keep the description under 5000 characters."), field="description")
    product = fields.get("product") or ""
    if product not in PRODUCT_LINES:
        raise InvalidInput(_("Choose the product the idea is about."), field="product")
    return {"title": title, "description": description, "product": product}
