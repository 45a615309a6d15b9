"""Use cases of sourcing: vendor staff ask chosen suppliers for quotation, a supplier answers
with its offer (line items, a PDF, or both), vendor staff accept or decline it, and close the
request. Every move goes through the workflow (audited); the other side is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.sourcing.models import (
    DECIDABLE,
    OfferStatus,
    Rfq,
    RfqStatus,
    SupplierOffer,
    SupplierOfferLine,
)
from portal import access, audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.uploads import check_files
from portal.workflow import transition

MAX_LINES = 50
MONEY_LIMIT = Decimal("999999999999.99")  # what Numeric(14, 2) holds


@dataclass(frozen=True)
class OfferLine:
    """One line as the supplier typed it (plain values, checked by ``submit_offer``)."""

    description: str
    quantity: str | int
    unit_price: str | Decimal


def _check_manager(actor: Principal) -> None:
    if not actor.can("sourcing.manage"):
        raise Forbidden(_("Only the vendor's sourcing staff ask for and decide offers."))


def create_rfq(
    *, title: str, needs: str, respond_by: date | None, supplier_ids: list[int], actor: Principal
) -> Rfq:
    """Ask the suppliers ``supplier_ids`` (active supplier organisations) for quotation on
    ``title``/``needs`` by ``respond_by`` (today or later). Each supplier's people who answer
    RFQs are told. Raises Forbidden, InvalidInput (``title``, ``respond_by``, ``supplier_ids``)."""
    _check_manager(actor)
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_("Say what the request is for."), field="title")
    if respond_by is None or respond_by < utcnow().date():
        raise InvalidInput(_("Choose a respond-by date from today on."), field="respond_by")
    wanted = sorted(set(supplier_ids or ()))
    suppliers = db.session.scalars(
        select(Organization).where(
            Organization.id.in_(wanted),
            Organization.kind.in_(access.SUPPLIER_KINDS),
            Organization.active.is_(True),
        )
    ).all()
    if not wanted or len(suppliers) != len(wanted):
        raise InvalidInput(_("Choose one or more active suppliers."), field="supplier_ids")
    rfq = Rfq(
        org_id=actor.org_id,
        number="pending",
        title=title[:200],
        needs=(needs or "").strip()[:10000],
        respond_by=respond_by,
        status=RfqStatus.open,
        created_by_id=actor.user_id,
    )
    db.session.add(rfq)
    db.session.flush()
    rfq.number = f"RFQ-{rfq.created_at.year}-{rfq.id:05d}"  # from the id: never reused
    for supplier in suppliers:
        db.session.add(
            SupplierOffer(rfq_id=rfq.id, org_id=supplier.id, status=OfferStatus.requested)
        )
    db.session.flush()
    audit.record(
        "rfq.created",
        rfq,
        actor=actor,
        after={
            "number": rfq.number,
            "title": rfq.title,
            "respond_by": rfq.respond_by.isoformat(),
            "suppliers": [s.name for s in suppliers],
        },
    )
    for offer in rfq.offers:
        notify.tell(
            "sourcing.respond",
            offer.org_id,
            "sourcing.requested",
            _l("%(number)s: a request for quotation", number=rfq.number),
            body=_l(
                "%(title)s. Please send your offer by %(date)s.",
                title=rfq.title,
                date=rfq.respond_by.isoformat(),
            ),
            link=notify.link("sourcing.offer", offer_id=offer.id),
        )
    return rfq


def close_rfq(rfq: Rfq, *, actor: Principal) -> int:
    """Take no more offers on ``rfq``: the offers not yet submitted lapse (their suppliers are
    told). Offers already submitted stay to be decided. Returns how many lapsed."""
    _check_manager(actor)
    if rfq.status != RfqStatus.open:
        raise InvalidTransition(_("This request for quotation is closed already."))
    transition(rfq, RfqStatus.closed, actor=actor)
    lapsed = 0
    for offer in rfq.offers:
        if offer.status == OfferStatus.requested and transition(
            offer, OfferStatus.lapsed, actor=actor, claim=True
        ):
            lapsed += 1
            notify.tell(
                "sourcing.respond",
                offer.org_id,
                "sourcing.decided",
                _l("%(number)s is closed", number=rfq.number),
                body=_l("The vendor takes no more offers on %(title)s.", title=rfq.title),
                link=notify.link("sourcing.offer", offer_id=offer.id),
            )
    return lapsed


def _money(value, field: str, message: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(message, field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MONEY_LIMIT:
        raise InvalidInput(message, field=field)
    return amount.quantize(Decimal("0.01"))


def _checked_lines(lines: list[OfferLine]) -> list[tuple[str, int, Decimal]]:
    checked = []
    for number, line in enumerate(lines, start=1):
        description = (line.description or "").strip()
        if not description and not str(line.quantity or "").strip():
            continue  # an empty row of the form
        message = _("Line %(n)d: give a description, a whole quantity and a unit price.", n=number)
        if not description:
            raise InvalidInput(message, field="lines")
        try:
            quantity = int(str(line.quantity).strip())
        except ValueError:
            raise InvalidInput(message, field="lines") from None
        if not 1 <= quantity <= 1_000_000:
            raise InvalidInput(message, field="lines")
        checked.append((description[:200], quantity, _money(line.unit_price, "lines", message)))
    if len(checked) > MAX_LINES:
        raise InvalidInput(_("Give at most %(n)d lines.", n=MAX_LINES), field="lines")
    return checked


def _checked_pdf(pdf: tuple[str, bytes] | None):
    if pdf is None or not (pdf[0] or pdf[1]):
        return None
    try:
        (checked,) = check_files([pdf])  # the cases' rules: size, safe name, content checked
    except InvalidInput as error:
        raise InvalidInput(error.message, field="pdf") from None
    if checked.content_type != "application/pdf":
        raise InvalidInput(_("Upload the offer as a PDF."), field="pdf")
    return checked


def submit_offer(
    offer: SupplierOffer,
    *,
    currency: str,
    note: str,
    lines: list[OfferLine],
    pdf: tuple[str, bytes] | None,
    actor: Principal,
) -> None:
    """The supplier answers the RFQ with line items, a PDF (``(filename, content)``), or both,
    while the RFQ is open and not past its respond-by date. Vendor sourcing staff are told.
    Raises Forbidden, InvalidInput (``lines``, ``pdf``, ``currency``), InvalidTransition (an
    offer already sent, a closed or overdue RFQ, or a second submission racing this one)."""
    if not actor.can("sourcing.respond") or offer.org_id != actor.org_id:
        raise Forbidden(_("Only the supplier asked answers this request."))
    rfq = offer.rfq
    if offer.status != OfferStatus.requested:
        raise InvalidTransition(_("Your offer is sent already."))
    if rfq.status != RfqStatus.open:
        raise InvalidTransition(_("This request for quotation is closed."))
    if utcnow().date() > rfq.respond_by:
        raise InvalidTransition(_("The respond-by date of this request has passed."))
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(_("Give a three-letter currency code, such as EUR."), field="currency")
    rows = _checked_lines(lines)
    document = _checked_pdf(pdf)
    if not rows and document is None:
        raise InvalidInput(
            _("Give at least one line, or upload your offer as a PDF."), field="lines"
        )
    total = sum((price * quantity for _d, quantity, price in rows), Decimal("0.00"))
    if total > MONEY_LIMIT:
        raise InvalidInput(_("The offer's total is too large."), field="lines")
    changes = {"currency": currency, "total": total, "note": (note or "").strip()[:5000]}
    if document is not None:
        changes |= {
            "pdf": document.content,
            "pdf_name": document.filename,
            "pdf_sha256": document.sha256,
        }
    # A claim: two people of the supplier sending at once end with one offer, not two sets of
    # lines on one row.
    if not transition(
        offer,
        OfferStatus.submitted,
        actor=actor,
        changes=changes,
        data={"lines": len(rows), "pdf": document.filename if document else None},
        claim=True,
    ):
        raise InvalidTransition(_("Your offer is sent already."))
    for position, (description, quantity, price) in enumerate(rows, start=1):
        db.session.add(
            SupplierOfferLine(
                offer_id=offer.id,
                org_id=offer.org_id,
                position=position,
                description=description,
                quantity=quantity,
                unit_price=price,
            )
        )
    db.session.flush()
    notify.tell(
        "sourcing.manage",
        None,
        "sourcing.offered",
        _l(
            "%(supplier)s sent its offer on %(number)s",
            supplier=offer.supplier.name,
            number=rfq.number,
        ),
        link=notify.link("sourcing.detail", rfq_id=rfq.id),
    )


def decide_offer(offer: SupplierOffer, *, accept: bool, reason: str, actor: Principal) -> None:
    """Vendor sourcing staff accept or decline a submitted offer (declining says why); the
    supplier is told. A decision racing another on the same offer loses with a clear message."""
    _check_manager(actor)
    if offer.status not in DECIDABLE:
        raise InvalidTransition(
            _("This offer is %(state)s: it cannot be decided.", state=offer.status_label.lower())
        )
    reason = (reason or "").strip()
    if not accept and not reason:
        raise InvalidInput(_("Say why the offer is declined."), field="reason")
    target = OfferStatus.accepted if accept else OfferStatus.declined
    if not transition(
        offer,
        target,
        actor=actor,
        changes={"decision_reason": reason[:5000]},
        data={"reason": reason[:5000]} if reason else None,
        claim=True,
    ):
        raise InvalidTransition(_("Someone decided this offer a moment ago."))
    number = offer.rfq.number
    notify.tell(
        "sourcing.respond",
        offer.org_id,
        "sourcing.decided",
        _l("Your offer on %(number)s is accepted", number=number)
        if accept
        else _l("Your offer on %(number)s is declined", number=number),
        body=reason,
        link=notify.link("sourcing.offer", offer_id=offer.id),
    )
