"""The vendor's product lines, one list for every feature that names them: partners'
specialisations, leads, and the tags of feedback (NPS campaigns, ideas, the analytics page).
Rows store the code; pages show the label."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PRODUCT_LINES = {
    "networking": _l("Networking"),
    "security": _l("Security"),
    "cloud": _l("Cloud"),
    "collaboration": _l("Collaboration"),
    "storage": _l("Storage"),
    "services": _l("Services"),
}


def label(code: str):
    """The line's name (the code itself for one that is no longer in the list)."""
    return PRODUCT_LINES.get(code, code)


def order(code: str) -> int:
    """Where the line comes in the list (unknown codes last), for sorting codes."""
    codes = list(PRODUCT_LINES)
    return codes.index(code) if code in PRODUCT_LINES else len(codes)
