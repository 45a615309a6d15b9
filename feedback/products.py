"""The product lines feedback is tagged with (NPS campaigns, ideas), for the analytics page."""

from flask_babel import lazy_gettext as _l

PRODUCTS = {
    "networking": _l("Networking"),
    "security": _l("Security"),
    "cloud": _l("Cloud"),
    "collaboration": _l("Collaboration"),
    "storage": _l("Storage"),
    "services": _l("Services"),
}
