"""Use cases of quotes. Writers only flush; the caller commits once.

States of one version: draft -> sent -> viewed -> accepted | declined | expired. Revising makes a
new draft version of the same number; the version it revises stays live for the recipient until
the revision is *sent*, which supersedes it (a draft revision may be discarded, changing nothing
else). Expiry runs on the periodic tick; acceptance of a version past its validity is refused
even before the tick has marked it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from partners.catalogue.models import Product
from partners.catalogue.services import decimal_in, rule_products
from partners.deals import services as deals
from partners.deals.models import DealRegistration
from partners.program.services import tier_discount_percent
from partners.quotes import documents, pricing, queries
from partners.quotes.models import OPEN_STATUSES, Quote, QuoteLine, QuoteRequest
from portal import access, audit, jobs
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.notify import services as notify
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


def _flush() -> None:
    """Write now: a change that raced another person's on the same quote (its version column
    caught it, or two revisions took the same number and version) is a clear conflict, not a
    server error, and nothing of it is kept."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(str(RACED)) from None
    except IntegrityError as error:
        if not _is_same_revision(error):
            raise
        raise Conflict(str(RACED)) from None


def _is_same_revision(error: IntegrityError) -> bool:
    """Whether the unique (number, revision) of quotes refused the write: PostgreSQL names the
    constraint, SQLite its columns."""
    text = str(error.orig)
    return "uq_quotes_number_revision" in text or "quotes.number, quotes.revision" in text


def _move(quote: Quote, to: str) -> None:
    if to not in TRANSITIONS.get(quote.status, set()):
        raise InvalidTransition(
            _(
                "A quote that is %(state)s cannot become %(to)s.",
                state=_(quote.status),
                to=_(to),
            )
        )
    quote.status = to


def _check_manager(actor: Principal) -> None:
    if not actor.can("quotes.manage"):
        raise Forbidden(_("Only vendor sales staff build and send quotes."))


def _check_seen(quote: Quote, seen: str | None) -> None:
    """A page's action on a draft carries the snapshot the page showed (``seen``); if a
    colleague changed the quote since, ``EditConflict`` ("changed by someone else"). ``None``
    is for callers that show no page (the demo seed, the CLI)."""
    if seen is not None:
        check_unchanged(quote, seen)


def _lines_changed(quote: Quote) -> None:
    """Lines are the quote's content: their change moves the quote's version too, so a page
    showing the old lines is stale (an UPDATE even if the totals came out the same)."""
    flag_modified(quote, "total")


def _check_draft(quote: Quote) -> None:
    if quote.status != "draft":
        raise InvalidTransition(
            _("Version %(n)d was sent: revise it to change it.", n=quote.revision)
        )


def _clean(fields: dict) -> dict:
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


def create_quote(
    recipient: Organization,
    fields: dict,
    *,
    currency: str,
    actor: Principal,
    deal: DealRegistration | None = None,
    request: QuoteRequest | None = None,
) -> Quote:
    """Start a draft quote for a partner or customer organisation, optionally on one of a
    partner's approved deal registrations (then addressed to that partner)."""
    from partners.catalogue.services import CURRENCIES

    _check_manager(actor)
    if recipient.kind == access.VENDOR or not recipient.active:
        raise InvalidInput(_("Choose a partner or customer organisation."), field="recipient")
    if currency not in CURRENCIES:
        raise InvalidInput(_("Choose a currency from the list."), field="currency")
    if request is not None:
        if request.status != "open":
            raise InvalidTransition(
                _("This quote request is %(state)s already.", state=_(request.status))
            )
        if deal is not None and deal.id != request.deal_id:
            raise InvalidInput(
                _("The request is for another registration than this one."), field="deal_number"
            )
        deal = deal or db.session.get(DealRegistration, request.deal_id)
    if deal is not None:
        if deal.status != "approved":
            raise InvalidInput(_("Quotes hang off approved registrations only."), field="deal")
        if deal.org_id != recipient.id:
            raise InvalidInput(
                _("A quote on a registration goes to the partner that registered it."),
                field="recipient",
            )
    tier, discount = tier_discount_percent(recipient)
    quote = Quote(
        org_id=recipient.id,
        number="pending",
        revision=1,
        status="draft",
        currency=currency,
        tier_code=tier,
        tier_discount_percent=discount,
        deal_id=deal.id if deal is not None else None,
        owner_id=actor.user_id,
        **_clean(fields),
    )
    db.session.add(quote)
    _flush()
    quote.number = f"Q-{quote.created_at.year}-{quote.id:05d}"  # from the id: never reused
    if request is not None:
        request.status, request.quote_id = "quoted", quote.id
    audit.record(
        "quote.created",
        quote,
        actor=actor,
        after={"number": quote.number, "recipient": recipient.name, "currency": currency},
    )
    return quote


def update_quote(quote: Quote, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """Edit a draft's validity, terms and proposal sections (optimistic locking)."""
    _check_manager(actor)
    _check_draft(quote)
    check_unchanged(quote, seen)
    before = audit.snapshot(quote, EDITABLE_FIELDS)
    for key, value in _clean(fields).items():
        setattr(quote, key, value)
    _flush()
    audit.record(
        "quote.edited",
        quote,
        actor=actor,
        before=before,
        after=audit.snapshot(quote, EDITABLE_FIELDS),
    )


def add_line(
    quote: Quote,
    *,
    sku: str,
    quantity: int | None,
    discount_percent=None,
    tax_rate_percent=None,
    seen: str | None = None,
    actor: Principal,
) -> QuoteLine:
    """Add a product to a draft. The line discount is within the actor's role limit, or it
    waits for a vendor admin's approval (the quote cannot be sent until then). ``seen``: the
    page's snapshot (``EditConflict`` if the quote changed since)."""
    _check_manager(actor)
    _check_draft(quote)
    _check_seen(quote, seen)
    product = db.session.scalar(select(Product).where(Product.sku == (sku or "").strip().upper()))
    if product is None:
        raise InvalidInput(_("No product has the SKU %(sku)s.", sku=sku), field="sku")
    if not product.active:
        raise InvalidInput(_("%(sku)s is no longer sold.", sku=product.sku), field="sku")
    if product.currency != quote.currency:
        raise InvalidInput(
            _(
                "%(sku)s is priced in %(c)s; this quote is in %(q)s.",
                sku=product.sku,
                c=product.currency,
                q=quote.currency,
            ),
            field="sku",
        )
    if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(_("The quantity runs from 1 to 1,000,000."), field="quantity")
    discount = decimal_in(
        discount_percent or 0,
        "discount_percent",
        low=Decimal("0"),
        high=Decimal("100"),
        message=_("The discount is a percentage from 0 to 100."),
    ).quantize(Decimal("0.01"))
    tax = (
        product.tax_rate_percent
        if tax_rate_percent in (None, "")
        else decimal_in(
            tax_rate_percent,
            "tax_rate_percent",
            low=Decimal("0"),
            high=Decimal("100"),
            message=_("The tax rate is a percentage from 0 to 100."),
        ).quantize(Decimal("0.01"))
    )
    limit = DISCOUNT_LIMITS.get(actor.role, Decimal("0"))
    line = QuoteLine(
        org_id=quote.org_id,
        position=max((ln.position for ln in quote.lines), default=0) + 1,
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        unit=product.unit,
        quantity=quantity,
        list_price=product.list_price,
        unit_price=product.list_price,
        discount_percent=discount,
        discount_limit_percent=limit,
        tax_rate_percent=tax,
    )
    if discount > limit and actor.can("quotes.approve_discount"):
        line.discount_approved_by_id, line.discount_approved_at = actor.user_id, utcnow()
    quote.lines.append(line)
    _lines_changed(quote)
    reprice(quote)
    audit.record(
        "quote.line_added",
        quote,
        actor=actor,
        after={"sku": product.sku, "quantity": quantity, "discount_percent": str(discount)},
    )
    return line


def remove_line(quote: Quote, line_id: int, *, seen: str | None = None, actor: Principal) -> None:
    """Take a line off a draft; the others are renumbered. ``seen`` as for ``add_line``."""
    _check_manager(actor)
    _check_draft(quote)
    _check_seen(quote, seen)
    line = next((ln for ln in quote.lines if ln.id == line_id), None)
    if line is None:
        raise InvalidInput(_("This line is not on the quote (any more)."))
    quote.lines.remove(line)
    for position, other in enumerate(quote.lines, start=1):
        other.position = position
    _lines_changed(quote)
    reprice(quote)
    audit.record(
        "quote.line_removed", quote, actor=actor, before={"sku": line.sku, "qty": line.quantity}
    )


def reprice(quote: Quote) -> None:
    """Resolve every line's price (catalogue breaks, the recipient's tier now) and the totals."""
    # Its reads must not flush half a change: the one flush, at the end, turns a race into a
    # Conflict.
    with db.session.no_autoflush:
        tier, discount = tier_discount_percent(quote.recipient)
        quote.tier_code, quote.tier_discount_percent = tier, discount
        ids = {ln.product_id for ln in quote.lines if ln.product_id}
        products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
        for line in quote.lines:
            product = products.get(line.product_id)
            breaks = [(b.min_quantity, b.unit_price) for b in product.breaks] if product else []
            price = pricing.price_line(
                list_price=line.list_price,
                breaks=breaks,
                quantity=line.quantity,
                tier_discount_percent=discount,
                discount_percent=line.discount_percent,
                tax_rate_percent=line.tax_rate_percent,
                currency=quote.currency,
            )
            line.tier_discount_percent = discount
            line.unit_price = price.unit_price
            line.net_amount, line.tax_amount = price.net_amount, price.tax_amount
        sums = pricing.totals(quote.lines, quote.currency)
        quote.subtotal, quote.tax_total, quote.total = sums.subtotal, sums.tax_total, sums.total
    _check_amounts(quote)
    _flush()


def _check_amounts(quote: Quote) -> None:
    """Every line and the quote's totals fit the money columns (``MAX_AMOUNT``), or a clear
    InvalidInput rather than the database's overflow."""
    largest = f"{MAX_AMOUNT:,} {quote.currency}"
    for line in quote.lines:
        if max(line.net_amount, line.total) > MAX_AMOUNT:
            raise InvalidInput(
                _(
                    "Line %(n)d (%(sku)s) comes to more than %(max)s, the most a quote line "
                    "holds: lower its quantity.",
                    n=line.position,
                    sku=line.sku,
                    max=largest,
                ),
                field="quantity",
            )
    if max(quote.subtotal, quote.total) > MAX_AMOUNT:
        raise InvalidInput(
            _(
                "The quote would come to more than %(max)s, the most a quote holds: split it "
                "into several quotes.",
                max=largest,
            ),
            field="quantity",
        )


def rule_violations(quote: Quote) -> list[pricing.Violation]:
    """The configuration rules the draft's lines break (empty: it may be sent)."""
    lines = [(ln.position, ln.product_id, ln.quantity) for ln in quote.lines if ln.product_id]
    return pricing.check_rules(lines, rule_products(pid for _p, pid, _q in lines))


def approve_discounts(quote: Quote, *, seen: str | None = None, actor: Principal) -> int:
    """A vendor admin approves every line discount above its giver's limit, as the page showed
    them (``seen``: its snapshot; ``EditConflict`` if the quote changed since); recorded."""
    if not actor.can("quotes.approve_discount"):
        raise Forbidden(_("Only a vendor admin approves discounts above the limit."))
    _check_draft(quote)
    _check_seen(quote, seen)
    pending = [ln for ln in quote.lines if ln.needs_approval]
    if pending:
        _lines_changed(quote)
    for line in pending:
        line.discount_approved_by_id, line.discount_approved_at = actor.user_id, utcnow()
        audit.record(
            "quote.discount_approved",
            quote,
            actor=actor,
            after={
                "line": line.position,
                "sku": line.sku,
                "discount_percent": str(line.discount_percent),
                "limit_percent": str(line.discount_limit_percent),
            },
        )
    _flush()
    return len(pending)


def send_quote(quote: Quote, *, seen: str | None = None, actor: Principal) -> None:
    """Send a draft: the rules hold, every discount is within limits or approved, it is valid;
    its PDF is rendered once and stored with its SHA-256; the recipient's people are told.
    ``seen``: the snapshot of the page the sender looked at (``EditConflict`` if a colleague
    changed the quote since: what is sent is what the sender saw)."""
    _check_manager(actor)
    _check_draft(quote)
    _check_seen(quote, seen)
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
    previous = _revised_version(quote)
    if previous is not None and "superseded" not in TRANSITIONS.get(previous.status, set()):
        raise InvalidTransition(
            _(
                "Version %(n)d was %(state)s meanwhile: this revision cannot replace it. "
                "Discard the revision.",
                n=previous.revision,
                state=_(previous.status),
            )
        )
    reprice(quote)
    before = audit.snapshot(quote, AUDIT_FIELDS)
    _move(quote, "sent")
    quote.sent_at = utcnow()
    quote.pdf = documents.quote_pdf(quote, draft=False)
    quote.pdf_sha256 = documents.sha256(quote.pdf)
    _flush()
    audit.record(
        "quote.sent",
        quote,
        actor=actor,
        before=before,
        after={**audit.snapshot(quote, AUDIT_FIELDS), "pdf_sha256": quote.pdf_sha256},
    )
    if previous is not None:  # only now does the recipient lose the version it had
        before = audit.snapshot(previous, AUDIT_FIELDS)
        _move(previous, "superseded")
        previous.superseded_by_id = quote.id
        _flush()
        audit.record(
            "quote.superseded",
            previous,
            actor=actor,
            before=before,
            after={"status": "superseded", "by_version": quote.revision},
        )
    with unscoped():  # the recipient's people, from the vendor's request (reviewed)
        people = db.session.scalars(
            select(User).where(User.org_id == quote.org_id, User.active.is_(True))
        ).all()
        notify.notify(
            people,
            "quotes.sent",
            _(
                "Quote %(label)s: %(total)s %(currency)s",
                label=quote.label,
                total=quote.total,
                currency=quote.currency,
            ),
            body=_(
                "Valid until %(date)s. Open it to read, download or accept it.",
                date=quote.valid_until.isoformat(),
            ),
            link=url_for("quotes.detail", quote_id=quote.id),
        )


def stored_pdf(quote: Quote) -> bytes:
    """The PDF of a sent version, from storage (rendered now only if it was never stored)."""
    if quote.pdf is None:  # sent versions always have one; this is a repair, not a path
        quote.pdf = documents.quote_pdf(quote, draft=False)
        quote.pdf_sha256 = documents.sha256(quote.pdf)
        _flush()
    return quote.pdf


def mark_viewed(quote: Quote, *, actor: Principal) -> bool:
    """The recipient opened the quote for the first time. Returns whether it changed.

    Two first openings at once (the page and its PDF, two colleagues) are normal: the change is
    one conditional UPDATE, so only one of them marks it and the other just shows the quote."""
    if actor.org_id != quote.org_id or quote.status != "sent":
        return False
    changed = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status == "sent")
        .values(status="viewed", viewed_at=utcnow(), version=Quote.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(quote)  # as it is now, whoever marked it
    if changed != 1:
        return False
    audit.record("quote.viewed", quote, actor=actor, after={"status": "viewed"})
    return True


def _check_answerable(quote: Quote, actor: Principal) -> None:
    if actor.org_id != quote.org_id or not actor.can("quotes.accept"):
        raise Forbidden(_("Only the recipient answers a quote."))
    if quote.status == "superseded":
        newer = db.session.get(Quote, quote.superseded_by_id) if quote.superseded_by_id else None
        raise InvalidTransition(
            _(
                "Version %(n)d was superseded by a revised version and can no longer be "
                "accepted. Open the current version%(v)s.",
                n=quote.revision,
                v=_(" (version %(m)d)", m=newer.revision)
                if newer and newer.status != "draft"
                else "",
            )
        )
    if quote.status == "expired" or (
        quote.status in OPEN_STATUSES and quote.valid_until < utcnow().date()
    ):
        raise InvalidTransition(
            _(
                "This quote expired on %(date)s and can no longer be accepted. Ask the vendor "
                "for a new version.",
                date=quote.valid_until.isoformat(),
            )
        )
    if quote.status not in OPEN_STATUSES:
        raise InvalidTransition(
            _("This quote is %(state)s: it cannot be answered again.", state=_(quote.status))
        )


def _record_answer(quote: Quote, *, ip: str | None, user_agent: str, actor: Principal) -> None:
    quote.decided_at, quote.decided_by_id = utcnow(), actor.user_id
    quote.decided_ip = (ip or "")[:45] or None
    quote.decided_user_agent = (user_agent or "")[:500]
    quote.decided_pdf_sha256 = quote.pdf_sha256


def accept_quote(
    quote: Quote,
    *,
    full_name: str,
    consent: bool,
    pdf_sha256: str | None,
    ip: str | None,
    user_agent: str,
    actor: Principal,
) -> None:
    """The recipient accepts the version shown, by typing a full name and giving consent.
    Recorded: user, time, IP address, user agent, and the SHA-256 of the stored PDF, which must
    be the document the page showed (``pdf_sha256``)."""
    _check_answerable(quote, actor)
    name = " ".join((full_name or "").split())
    if len(name) < 2:
        raise InvalidInput(_("Type your full name to accept."), field="full_name")
    if not consent:
        raise InvalidInput(_("Tick the box to confirm that you accept the quote."), field="consent")
    if pdf_sha256 != quote.pdf_sha256:
        raise Conflict(_("The document changed since you opened it: reload the page."))
    before = audit.snapshot(quote, AUDIT_FIELDS)
    _move(quote, "accepted")
    _record_answer(quote, ip=ip, user_agent=user_agent, actor=actor)
    quote.signer_name, quote.consent = name[:200], True
    _flush()
    audit.record(
        "quote.accepted",
        quote,
        actor=actor,
        before=before,
        after={
            "status": "accepted",
            "version": quote.revision,
            "signer_name": quote.signer_name,
            "pdf_sha256": quote.decided_pdf_sha256,
        },
    )
    if quote.deal_id:
        deals.win_deal_by_quote(quote.deal_id, quote_label=quote.label, actor=actor)
    _tell_owner(
        quote,
        _("Quote %(label)s was accepted by %(name)s", label=quote.label, name=quote.signer_name),
    )


def decline_quote(
    quote: Quote, *, reason: str, ip: str | None, user_agent: str, actor: Principal
) -> None:
    """The recipient declines, saying why."""
    _check_answerable(quote, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why you decline the quote."), field="reason")
    before = audit.snapshot(quote, AUDIT_FIELDS)
    _move(quote, "declined")
    _record_answer(quote, ip=ip, user_agent=user_agent, actor=actor)
    quote.decline_reason = reason[:5000]
    _flush()
    audit.record(
        "quote.declined",
        quote,
        actor=actor,
        before=before,
        after={"status": "declined", "reason": quote.decline_reason},
    )
    # The reason (up to 5000 characters, any lines) goes in the body: a title is one short line,
    # and it becomes the email's subject header.
    _tell_owner(
        quote,
        _("Quote %(label)s was declined", label=quote.label),
        body=_("The reason given:\n\n%(reason)s", reason=quote.decline_reason),
    )


def _tell_owner(quote: Quote, title: str, body: str = "") -> None:
    with unscoped():  # the vendor's owner, from the recipient's answer (reviewed)
        owner = db.session.get(User, quote.owner_id) if quote.owner_id else None
        notify.notify(
            [owner] if owner else [],
            "quotes.answered",
            title,
            body=body,
            link=url_for("quotes.detail", quote_id=quote.id),
        )


def _revised_version(quote: Quote) -> Quote | None:
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
    _check_manager(actor)
    if quote.status not in ("sent", "viewed", "declined", "expired"):
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
        status="draft",
        currency=quote.currency,
        deal_id=quote.deal_id,
        owner_id=actor.user_id,
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
    _flush()  # here, not in reprice's autoflush: a revision racing this one is a Conflict
    reprice(new)
    audit.record("quote.revised", new, actor=actor, after={"version": new.revision})
    return new


def discard_revision(quote: Quote, *, actor: Principal) -> Quote:
    """Delete a draft revision (version n+1 that was never sent); version n, still live, is left
    as it is. Returns version n. A first version is not a revision: it stays."""
    _check_manager(actor)
    if quote.status != "draft" or quote.revision <= 1:
        raise InvalidTransition(_("Only a revision that is still a draft can be discarded."))
    previous = _revised_version(quote)
    audit.record(
        "quote.revision_discarded",
        previous if previous is not None else quote,
        actor=actor,
        before={"version": quote.revision, "total": str(quote.total)},
    )
    db.session.delete(quote)
    _flush()
    return previous


def preview_pdf(quote: Quote) -> bytes:
    """A draft's PDF, marked DRAFT, rendered on each request and never stored."""
    return documents.quote_pdf(quote, draft=True)


def request_quote(deal: DealRegistration, *, message: str, actor: Principal) -> QuoteRequest:
    """A partner asks for a quote on its approved registration; vendor sales staff are told."""
    if not actor.can("quotes.request") or deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner asks for a quote on it."))
    if deal.status != "approved":
        raise InvalidTransition(_("Ask for a quote once the registration is approved."))
    open_one = db.session.scalar(
        select(func.count(QuoteRequest.id)).where(
            QuoteRequest.deal_id == deal.id, QuoteRequest.status == "open"
        )
    )
    if open_one:
        raise InvalidTransition(_("A quote is requested for this registration already."))
    request = QuoteRequest(
        org_id=deal.org_id,
        deal_id=deal.id,
        message=(message or "").strip()[:5000],
        requested_by_id=actor.user_id,
    )
    db.session.add(request)
    _flush()
    audit.record("quote.requested", request, actor=actor, after={"deal": deal.number})
    with unscoped():  # vendor sales staff, from a partner's request (reviewed)
        staff = db.session.scalars(
            select(User)
            .join(Organization)
            .where(
                Organization.kind == access.VENDOR,
                User.active.is_(True),
                User.role.in_(["vendor_admin", "channel_manager", "sales_rep"]),
            )
        ).all()
        notify.notify(
            staff,
            "quotes.requested",
            _(
                "%(partner)s asks for a quote on %(deal)s",
                partner=deal.partner.name,
                deal=deal.number,
            ),
            body=request.message,
            link=url_for("quotes.requests"),
        )
    return request


def close_request(request: QuoteRequest, *, reason: str, actor: Principal) -> None:
    """Vendor sales staff decline an open quote request, saying why; the partner's requester
    (or, if gone, its active people) is told, and the partner may ask again."""
    _check_manager(actor)
    if request.status != "open":
        raise InvalidTransition(
            _("This quote request is %(state)s already.", state=_(request.status))
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the request is declined."), field="reason")
    request.status, request.closed_at = "closed", utcnow()
    request.close_reason = reason[:5000]
    _flush()
    audit.record(
        "quote.request_closed",
        request,
        actor=actor,
        before={"status": "open"},
        after={"status": "closed", "reason": request.close_reason},
    )
    with unscoped():  # the partner's people, from the vendor's decision (reviewed)
        deal = db.session.get(DealRegistration, request.deal_id)
        requester = (
            db.session.get(User, request.requested_by_id) if request.requested_by_id else None
        )
        people = (
            [requester]
            if requester is not None and requester.active
            else db.session.scalars(
                select(User).where(User.org_id == request.org_id, User.active.is_(True))
            ).all()
        )
        notify.notify(
            people,
            "quotes.request_closed",
            _("Your quote request on %(deal)s was declined", deal=deal.number if deal else ""),
            body=_("The reason given:\n\n%(reason)s", reason=request.close_reason),
            link=url_for("deals.detail", deal_id=request.deal_id),
        )


@jobs.periodic("expire_quotes")
def expire_quotes(session) -> int:
    """Sent and viewed versions past their validity date expire (safe to run twice)."""
    today = utcnow().date()
    expired = session.scalars(
        select(Quote).where(Quote.status.in_(OPEN_STATUSES), Quote.valid_until < today)
    ).all()
    for quote in expired:
        quote.status = "expired"
        audit.record(
            "quote.expired", quote, actor=None, after={"status": "expired"}, session=session
        )
    return len(expired)
