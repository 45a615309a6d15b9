"""Building a draft: create it (optionally from a partner's request), edit its terms and
sections, add and remove lines (priced by ``reprice``), approve discounts above a role's limit,
and its DRAFT preview."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from partners.catalogue.models import Product
from partners.catalogue.services import decimal_in, rule_products
from partners.deals.models import DealRegistration, DealStatus
from partners.program.services import tier_discount_percent
from partners.quotes import documents, pricing
from partners.quotes.models import Quote, QuoteLine, QuoteRequest, QuoteRequestStatus, QuoteStatus
from partners.quotes.services.common import (
    DISCOUNT_LIMITS,
    EDITABLE_FIELDS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    check_draft,
    check_manager,
    check_seen,
    clean_fields,
    flush,
    lines_changed,
)
from portal import access, audit
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.tenancy import Principal
from portal.workflow import transition


def create_quote(
    recipient: Organization,
    fields: dict,
    *,
    currency: str,
    actor: Principal,
    deal: DealRegistration | None = None,
    request: QuoteRequest | None = None,
    through_distributor: bool = False,
) -> Quote:
    """Start a draft quote for a partner or customer organisation, optionally on one of a
    partner's approved deal registrations (then addressed to that partner). A quote to a
    reseller attached to a distributor may go ``through_distributor``: the quote names it, and
    it is told when the quote is sent (it reads its resellers' quotes in any case)."""
    from partners.catalogue.services import CURRENCIES

    check_manager(actor)
    if recipient.kind == access.VENDOR or not recipient.active:
        raise InvalidInput(_("Choose a partner or customer organisation."), field="recipient")
    if currency not in CURRENCIES:
        raise InvalidInput(_("Choose a currency from the list."), field="currency")
    if request is not None:
        if request.status != QuoteRequestStatus.open:
            raise InvalidTransition(
                _("This quote request is %(state)s already.", state=_(request.status))
            )
        if deal is not None and deal.id != request.deal_id:
            raise InvalidInput(
                _("The request is for another registration than this one."), field="deal_number"
            )
        deal = deal or db.session.get(DealRegistration, request.deal_id)
    if deal is not None:
        if deal.status != DealStatus.approved:
            raise InvalidInput(_("Quotes hang off approved registrations only."), field="deal")
        if deal.org_id != recipient.id:
            raise InvalidInput(
                _("A quote on a registration goes to the partner that registered it."),
                field="recipient",
            )
    via = _distributor_of(recipient) if through_distributor else None
    tier, discount = tier_discount_percent(recipient)
    quote = Quote(
        org_id=recipient.id,
        number="pending",
        revision=1,
        status=QuoteStatus.draft,
        currency=currency,
        tier_code=tier,
        tier_discount_percent=discount,
        deal_id=deal.id if deal is not None else None,
        owner_id=actor.user_id,
        via_org_id=via.id if via is not None else None,
        **clean_fields(fields),
    )
    db.session.add(quote)
    flush()
    quote.number = f"Q-{quote.created_at.year}-{quote.id:05d}"  # from the id: never reused
    audit.record(
        "quote.created",
        quote,
        actor=actor,
        after={"number": quote.number, "recipient": recipient.name, "currency": currency},
    )
    if request is not None:
        transition(
            request,
            QuoteRequestStatus.quoted,
            actor=actor,
            event="quote.request_quoted",
            changes={"quote_id": quote.id},
            data={"quote": quote.number},
        )
    return quote


def _distributor_of(recipient: Organization) -> Organization:
    distributor = recipient.managed_by if recipient.kind == "reseller" else None
    if distributor is None or distributor.kind not in access.DISTRIBUTOR_KINDS:
        raise InvalidInput(
            _("%(name)s is attached to no distributor.", name=recipient.name),
            field="through_distributor",
        )
    return distributor


def update_quote(quote: Quote, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """Edit a draft's validity, terms and proposal sections (optimistic locking)."""
    check_manager(actor)
    check_draft(quote)
    check_unchanged(quote, seen)
    before = audit.snapshot(quote, EDITABLE_FIELDS)
    for key, value in clean_fields(fields).items():
        setattr(quote, key, value)
    flush()
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
    check_manager(actor)
    check_draft(quote)
    check_seen(quote, seen)
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
    lines_changed(quote)
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
    check_manager(actor)
    check_draft(quote)
    check_seen(quote, seen)
    line = next((ln for ln in quote.lines if ln.id == line_id), None)
    if line is None:
        raise InvalidInput(_("This line is not on the quote (any more)."))
    quote.lines.remove(line)
    for position, other in enumerate(quote.lines, start=1):
        other.position = position
    lines_changed(quote)
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
    check_amounts(quote)
    flush()


def check_amounts(quote: Quote) -> None:
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
    check_draft(quote)
    check_seen(quote, seen)
    pending = [ln for ln in quote.lines if ln.needs_approval]
    if pending:
        lines_changed(quote)
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
    flush()
    return len(pending)


def preview_pdf(quote: Quote) -> bytes:
    """A draft's PDF, marked DRAFT, rendered on each request and never stored."""
    return documents.quote_pdf(quote, draft=True)
