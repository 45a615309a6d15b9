"""The recipient's answer: acceptance (typed name, consent, the hash of the PDF shown) or a
decline with a reason; the vendor's owner is told."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.deals import services as deals
from partners.quotes.models import OPEN_STATUSES, Quote, QuoteStatus
from partners.quotes.services.common import raced
from portal import formatting, people
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def check_answerable(quote: Quote, actor: Principal) -> None:
    if actor.org_id != quote.org_id or not actor.can("quotes.accept"):
        raise Forbidden(_("Only the recipient answers a quote."))
    if quote.status == QuoteStatus.superseded:
        newer = db.session.get(Quote, quote.superseded_by_id) if quote.superseded_by_id else None
        raise InvalidTransition(
            _(
                "Version %(n)d was superseded by a revised version and can no longer be "
                "accepted. Open the current version%(v)s.",
                n=quote.revision,
                v=_(" (version %(m)d)", m=newer.revision)
                if newer and newer.status != QuoteStatus.draft
                else "",
            )
        )
    if quote.status == QuoteStatus.expired or (
        quote.status in OPEN_STATUSES and quote.valid_until < utcnow().date()
    ):
        raise InvalidTransition(
            _(
                "This quote expired on %(date)s and can no longer be accepted. Ask the vendor "
                "for a new version.",
                date=formatting.date(quote.valid_until),
            )
        )
    if quote.status not in OPEN_STATUSES:
        raise InvalidTransition(
            _("This quote is %(state)s: it cannot be answered again.", state=_(quote.status))
        )


def answer_fields(quote: Quote, *, user_agent: str, actor: Principal) -> dict:
    """What an answer records besides who and when (``Quote.workflow`` stamps those): the
    client's address (the actor's), its user agent, and the hash of the PDF answered."""
    return {
        "decided_ip": (actor.ip_address or "")[:45] or None,
        "decided_user_agent": (user_agent or "")[:500],
        "decided_pdf_sha256": quote.pdf_sha256,
    }


def accept_quote(
    quote: Quote,
    *,
    full_name: str,
    consent: bool,
    pdf_sha256: str | None,
    user_agent: str,
    actor: Principal,
) -> None:
    """The recipient accepts the version shown, by typing a full name and giving consent.
    Recorded: user, time, IP address (the actor's), user agent, and the SHA-256 of the stored
    PDF, which must be the document the page showed (``pdf_sha256``)."""
    check_answerable(quote, actor)
    name = " ".join((full_name or "").split())
    if len(name) < 2:
        raise InvalidInput(_("Type your full name to accept."), field="full_name")
    if not consent:
        raise InvalidInput(_("Tick the box to confirm that you accept the quote."), field="consent")
    if pdf_sha256 != quote.pdf_sha256:
        raise Conflict(_("The document changed since you opened it: reload the page."))
    with raced():
        transition(
            quote,
            QuoteStatus.accepted,
            actor=actor,
            changes={
                **answer_fields(quote, user_agent=user_agent, actor=actor),
                "signer_name": name[:200],
                "consent": True,
            },
            data={
                "version": quote.revision,
                "signer_name": name[:200],
                "pdf_sha256": quote.pdf_sha256,
            },
        )
    if quote.deal_id:
        deals.win_deal_by_quote(quote.deal_id, quote_label=quote.label, actor=actor)
    tell_owner(
        quote,
        _l("Quote %(label)s was accepted by %(name)s", label=quote.label, name=quote.signer_name),
    )


def decline_quote(quote: Quote, *, reason: str, user_agent: str, actor: Principal) -> None:
    """The recipient declines, saying why."""
    check_answerable(quote, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why you decline the quote."), field="reason")
    with raced():
        transition(
            quote,
            QuoteStatus.declined,
            actor=actor,
            changes={
                **answer_fields(quote, user_agent=user_agent, actor=actor),
                "decline_reason": reason[:5000],
            },
            data={"reason": reason[:5000]},
        )
    # The reason (up to 5000 characters, any lines) goes in the body: a title is one short line,
    # and it becomes the email's subject header.
    tell_owner(
        quote,
        _l("Quote %(label)s was declined", label=quote.label),
        body=_l("The reason given:\n\n%(reason)s", reason=quote.decline_reason),
    )


def tell_owner(quote: Quote, title: str, body: str = "") -> None:
    """The vendor's owner of the quote (a person of another organisation than the answering
    recipient's: ``portal.people`` reads past the wall)."""
    notify.notify(
        people.people([quote.owner_id]),
        "quotes.answered",
        title,
        body=body,
        link=notify.link("quotes.detail", quote_id=quote.id),
    )
