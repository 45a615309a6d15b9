"""A quote's versions: sending a draft (which supersedes the version it revises), the stored
PDF, the recipient's first opening, revising a sent version into a draft n+1, and discarding
such a draft."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.quotes import documents, queries
from partners.quotes.models import Quote, QuoteLine, QuoteStatus
from partners.quotes.services.common import (
    EDITABLE_FIELDS,
    check_draft,
    check_manager,
    check_seen,
    flush,
    raced,
)
from partners.quotes.services.drafts import reprice, rule_violations
from portal import audit, formatting
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def send_quote(quote: Quote, *, seen: str | None = None, actor: Principal) -> None:
    """Send a draft: the rules hold, every discount is within limits or approved, it is valid;
    its PDF is rendered once and stored with its SHA-256; the recipient's people are told.
    ``seen``: the snapshot of the page the sender looked at (``EditConflict`` if a colleague
    changed the quote since: what is sent is what the sender saw)."""
    check_manager(actor)
    check_draft(quote)
    check_seen(quote, seen)
    if not quote.lines:
        raise InvalidInput(_("Add at least one line before sending."))
    violations = rule_violations(quote)
    if violations:
        raise InvalidInput(
            " ".join(
                _(
                    "Line %(lines)s: %(message)s",
                    lines=", ".join(map(str, v.positions)),
                    message=v.message,
                )
                for v in violations
            )
        )
    pending = [str(ln.position) for ln in quote.lines if ln.needs_approval]
    if pending:
        raise InvalidInput(
            _(
                "Line %(lines)s: the discount is above the limit and waits for a vendor "
                "admin's approval.",
                lines=", ".join(pending),
            )
        )
    if quote.valid_until < utcnow().date():
        raise InvalidInput(_("The validity date has passed: change it first."))
    previous = revised_version(quote)
    if previous is not None and not Quote.workflow.allows(previous.status, QuoteStatus.superseded):
        raise InvalidTransition(
            _(
                "Version %(n)d was %(state)s meanwhile: this revision cannot replace it. "
                "Discard the revision.",
                n=previous.revision,
                state=_(previous.status),
            )
        )
    reprice(quote)
    # The PDF shows when it was sent: the move's moment, rendered before the move records it.
    now = utcnow()
    quote.sent_at = now
    pdf = documents.quote_pdf(quote, draft=False)
    pdf_sha256 = documents.sha256(pdf)
    with raced():
        transition(
            quote,
            QuoteStatus.sent,
            actor=actor,
            at=now,
            changes={"pdf": pdf, "pdf_sha256": pdf_sha256},
            data={"pdf_sha256": pdf_sha256},
        )
    if previous is not None:  # only now does the recipient lose the version it had
        with raced():
            transition(
                previous,
                QuoteStatus.superseded,
                actor=actor,
                changes={"superseded_by_id": quote.id},
                data={"by_version": quote.revision},
            )
    # The people of the recipient organisation (all of them may see its quotes).
    notify.tell(
        "quotes.view",
        quote.org_id,
        "quotes.sent",
        _l(
            "Quote %(label)s: %(total)s %(currency)s",
            label=quote.label,
            total=quote.total,
            currency=quote.currency,
        ),
        body=_l(
            "Valid until %(date)s. Open it to read, download or accept it.",
            date=notify.lazy(formatting.date, quote.valid_until),
        ),
        link=notify.link("quotes.detail", quote_id=quote.id),
    )
    if quote.via_org_id is not None:  # two tiers: the distributor it goes through
        notify.tell(
            "quotes.view",
            quote.via_org_id,
            "quotes.sent",
            _l(
                "Quote %(label)s to %(reseller)s, through you",
                label=quote.label,
                reseller=quote.recipient.name,
            ),
            body=_l(
                "%(total)s %(currency)s, valid until %(date)s. Your reseller answers it.",
                total=quote.total,
                currency=quote.currency,
                date=notify.lazy(formatting.date, quote.valid_until),
            ),
            link=notify.link("quotes.detail", quote_id=quote.id),
        )


def stored_pdf(quote: Quote) -> bytes:
    """The PDF of a sent version, from storage (rendered now only if it was never stored)."""
    if quote.pdf is None:  # sent versions always have one; this is a repair, not a path
        quote.pdf = documents.quote_pdf(quote, draft=False)
        quote.pdf_sha256 = documents.sha256(quote.pdf)
        flush()
    return quote.pdf


def mark_viewed(quote: Quote, *, actor: Principal) -> bool:
    """The recipient opened the quote for the first time. Returns whether it changed.

    Two first openings at once (the page and its PDF, two colleagues) are normal: the change is
    one conditional UPDATE, so only one of them marks it and the other just shows the quote."""
    if actor.org_id != quote.org_id or quote.status != QuoteStatus.sent:
        return False
    # The claim moves the version on: a page that showed the quote before is stale.
    changed = transition(quote, QuoteStatus.viewed, actor=actor, claim=True)
    db.session.refresh(quote)  # as it is now, whoever marked it
    return changed


def revised_version(quote: Quote) -> Quote | None:
    """The version a revision (n+1) revises (n), or None for a first version."""
    if quote.revision <= 1:
        return None
    return db.session.scalar(
        select(Quote).where(Quote.number == quote.number, Quote.revision == quote.revision - 1)
    )


def revise_quote(quote: Quote, *, actor: Principal) -> Quote:
    """Make version n+1 of a sent version, as a draft copied from it. Version n stays live for
    the recipient until n+1 is sent (``send_quote`` supersedes it then); an unwanted revision is
    discarded (``discard_revision``)."""
    check_manager(actor)
    if quote.status not in (
        QuoteStatus.sent,
        QuoteStatus.viewed,
        QuoteStatus.declined,
        QuoteStatus.expired,
    ):
        raise InvalidTransition(
            _("Only a sent, viewed, declined or expired version can be revised.")
        )
    latest = queries.latest_revision(quote.number)
    if latest != quote.revision:
        raise InvalidTransition(
            _("Version %(n)d exists already: revise the newest version.", n=latest)
        )
    new = Quote(
        org_id=quote.org_id,
        number=quote.number,
        revision=quote.revision + 1,
        status=QuoteStatus.draft,
        currency=quote.currency,
        deal_id=quote.deal_id,
        owner_id=actor.user_id,
        via_org_id=quote.via_org_id,
        **{f: getattr(quote, f) for f in EDITABLE_FIELDS},
    )
    if new.valid_until < utcnow().date():
        new.valid_until = utcnow().date()
    for line in quote.lines:
        new.lines.append(
            QuoteLine(
                org_id=quote.org_id,
                **{
                    c: getattr(line, c)
                    for c in (
                        "position",
                        "product_id",
                        "sku",
                        "name",
                        "unit",
                        "quantity",
                        "list_price",
                        "unit_price",
                        "discount_percent",
                        "discount_limit_percent",
                        "discount_approved_by_id",
                        "discount_approved_at",
                        "tax_rate_percent",
                    )
                },
            )
        )
    new.recipient = quote.recipient  # loaded before ``new`` is in the session (no autoflush)
    db.session.add(new)
    flush()  # here, not in reprice's autoflush: a revision racing this one is a Conflict
    reprice(new)
    audit.record("quote.revised", new, actor=actor, after={"version": new.revision})
    return new


def discard_revision(quote: Quote, *, actor: Principal) -> Quote:
    """Delete a draft revision (version n+1 that was never sent); version n, still live, is left
    as it is. Returns version n. A first version is not a revision: it stays."""
    check_manager(actor)
    if quote.status != QuoteStatus.draft or quote.revision <= 1:
        raise InvalidTransition(_("Only a revision that is still a draft can be discarded."))
    previous = revised_version(quote)
    audit.record(
        "quote.revision_discarded",
        previous if previous is not None else quote,
        actor=actor,
        before={"version": quote.revision, "total": str(quote.total)},
    )
    db.session.delete(quote)
    flush()
    return previous
