"""What the ideas' use cases share: status names, the audited fields, the link to an idea,
and the checks of what people type."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.errors import InvalidInput
from portal.notify import register_kind
from portal.product_lines import PRODUCT_LINES

register_kind("ideas.status", _l("News of ideas I proposed, voted for or follow"))

STATUS_LABELS = {
    "under_review": _l("Under review"),
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "declined": _l("Declined"),
    "duplicate": _l("Duplicate"),
}
AUDIT_FIELDS = ["status", "status_reason", "duplicate_of_id", "vote_count"]


def idea_path(idea_id: int) -> str:
    return f"/ideas/{idea_id}"


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
