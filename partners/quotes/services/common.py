"""What every quote use case shares: limits, the flush that turns a race into a Conflict (and
``raced`` that does the same around a transition), and the small checks. The states of a version
and the moves between them are ``Quote.workflow``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from partners.quotes.models import Quote, QuoteStatus
from portal import access
from portal.clock import utcnow
from portal.concurrency import check_unchanged, flush_or_conflict
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.tenancy import Principal

# How far each vendor role may discount a line on its own, in percent; more needs a vendor
# admin's approval (recorded on the line). A vendor admin's own discount is approved as given.
DISCOUNT_LIMITS = {
    access.VENDOR_ADMIN: Decimal("100"),
    access.CHANNEL_MANAGER: Decimal("20"),
    access.SALES_REP: Decimal("10"),
}
EDITABLE_FIELDS = ["title", "valid_until", "terms", "cover_letter", "scope", "timeline"]
# What a page's snapshot of a draft shows (portal.concurrency): the quote's version moves with
# every change to it or to its lines, so a send, line or approval from a stale page is refused.
SNAPSHOT_FIELDS = ["status", "total", "valid_until", "title"]
MAX_QUANTITY = 1_000_000
# The largest amount a line or a quote holds: its money columns are Numeric(14, 2). A quantity
# of up to a million at a list price of up to a billion goes far past it.
MAX_AMOUNT = Decimal("999999999999.99")

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


@contextmanager
def raced() -> Iterator[None]:
    """Around a ``portal.workflow.transition`` of a quote, which flushes: the version column
    catching another person's change to the same quote meanwhile is a Conflict, as in
    ``flush``."""
    try:
        yield
    except StaleDataError:
        raise Conflict(str(RACED)) from None


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
    if quote.status != QuoteStatus.draft:
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
