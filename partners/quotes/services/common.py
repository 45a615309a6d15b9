"""What every quote use case shares: the notification kinds, limits and the state machine of a
version, the one flush that turns a race into a Conflict, and the small checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from partners.quotes.models import Quote
from portal.clock import utcnow
from portal.concurrency import check_unchanged, flush_or_conflict
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.notify import register_kind
from portal.tenancy import Principal

register_kind("quotes.sent", _l("Quotes sent to my organisation"))
register_kind("quotes.answered", _l("Answers to the quotes I own"))
register_kind("quotes.requested", _l("Quote requests from partners"))
register_kind("quotes.request_closed", _l("Quote requests of mine the vendor declined"))

# How far each vendor role may discount a line on its own, in percent; more needs a vendor
# admin's approval (recorded on the line). A vendor admin's own discount is approved as given.
DISCOUNT_LIMITS = {
    "vendor_admin": Decimal("100"),
    "channel_manager": Decimal("20"),
    "sales_rep": Decimal("10"),
}
EDITABLE_FIELDS = ["title", "valid_until", "terms", "cover_letter", "scope", "timeline"]
AUDIT_FIELDS = ["status", "total", "valid_until"]
# What a page's snapshot of a draft shows (portal.concurrency): the quote's version moves with
# every change to it or to its lines, so a send, line or approval from a stale page is refused.
SNAPSHOT_FIELDS = ["status", "total", "valid_until", "title"]
MAX_QUANTITY = 1_000_000
# The largest amount a line or a quote holds: its money columns are Numeric(14, 2). A quantity
# of up to a million at a list price of up to a billion goes far past it.
MAX_AMOUNT = Decimal("999999999999.99")

TRANSITIONS = {
    "draft": {"sent"},
    "sent": {"viewed", "accepted", "declined", "expired", "superseded"},
    "viewed": {"accepted", "declined", "expired", "superseded"},
    "declined": {"superseded"},
    "expired": {"superseded"},
}


RACED = _l("Someone else changed this quote meanwhile: reload it and try again.")


def flush() -> None:
    """Write now: a change that raced another person's on the same quote (its version column
    caught it, or two revisions took the same number and version) is a clear conflict, not a
    server error, and nothing of it is kept."""
    flush_or_conflict(lambda: Conflict(str(RACED)), lost_race=is_same_revision)


def is_same_revision(error: IntegrityError) -> bool:
    """Whether the unique (number, revision) of quotes refused the write: PostgreSQL names the
    constraint, SQLite its columns."""
    text = str(error.orig)
    return "uq_quotes_number_revision" in text or "quotes.number, quotes.revision" in text


def move(quote: Quote, to: str) -> None:
    if to not in TRANSITIONS.get(quote.status, set()):
        raise InvalidTransition(
            _(
                "A quote that is %(state)s cannot become %(to)s.",
                state=_(quote.status),
                to=_(to),
            )
        )
    quote.status = to


def check_manager(actor: Principal) -> None:
    if not actor.can("quotes.manage"):
        raise Forbidden(_("Only vendor sales staff build and send quotes."))


def check_seen(quote: Quote, seen: str | None) -> None:
    """A page's action on a draft carries the snapshot the page showed (``seen``); if a
    colleague changed the quote since, ``EditConflict`` ("changed by someone else"). ``None``
    is for callers that show no page (the demo seed, the CLI)."""
    if seen is not None:
        check_unchanged(quote, seen)


def lines_changed(quote: Quote) -> None:
    """Lines are the quote's content: their change moves the quote's version too, so a page
    showing the old lines is stale (an UPDATE even if the totals came out the same)."""
    flag_modified(quote, "total")


def check_draft(quote: Quote) -> None:
    if quote.status != "draft":
        raise InvalidTransition(
            _("Version %(n)d was sent: revise it to change it.", n=quote.revision)
        )


def clean_fields(fields: dict) -> dict:
    valid_until = fields.get("valid_until")
    if not isinstance(valid_until, date) or valid_until < utcnow().date():
        raise InvalidInput(_("The quote must be valid until today or later."), field="valid_until")
    return {
        "title": (fields.get("title") or "").strip()[:200],
        "valid_until": valid_until,
        "terms": (fields.get("terms") or "")[:10000],
        "cover_letter": (fields.get("cover_letter") or "")[:20000],
        "scope": (fields.get("scope") or "")[:20000],
        "timeline": (fields.get("timeline") or "")[:20000],
    }
