"""Builders of organisations, users and records for tests. Each takes the arranging session
(which sees every organisation) and flushes, so the rows exist for the requests that follow."""

from __future__ import annotations

import functools
import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from portal import access
from portal.identity.models import Organization, User
from portal.identity.passwords import hash_password

PASSWORD = "correct-horse-battery"


@functools.cache
def _password_hash() -> str:
    """Hashed once per run, on first use: after the suite has chosen argon2's parameters."""
    return hash_password(PASSWORD)


_sequence = itertools.count(1)


def make_org(session: Session, kind: str = "reseller", **fields) -> Organization:
    n = next(_sequence)
    fields.setdefault("name", f"{kind.capitalize()} Org {n}")
    org = Organization(kind=kind, **fields)
    session.add(org)
    session.flush()
    return org


def make_user(session: Session, org: Organization, role: str | None = None, **fields) -> User:
    n = next(_sequence)
    role = role or access.admin_role_for(org.kind).name
    fields.setdefault("email", f"user{n}@{org.kind}{org.id}.test")
    fields.setdefault("name", f"Person {n} of {org.name}")
    fields.setdefault("password_hash", _password_hash())
    user = User(org_id=org.id, role=role, **fields)
    session.add(user)
    session.flush()
    return user


def vendor_org(session: Session) -> Organization:
    """The one vendor organisation (created on first use in a test's transaction)."""
    from sqlalchemy import select

    org = session.scalar(select(Organization).where(Organization.kind == access.VENDOR))
    return org or make_org(session, access.VENDOR, name="Vendor Inc")


# Records. Each builds rows directly with the models (never through the services, which the
# tests exercise), so a world costs a few INSERTs. Positional arguments say what a record belongs
# to; everything else has a default and may be overridden by keyword.

_PDF = b"%PDF-1.4 test placeholder"


def _add(session: Session, record):
    session.add(record)
    session.flush()
    return record


def make_lead(
    session: Session, vendor: Organization | None = None, company: str | None = None,
    status: str = "new", **fields
):  # fmt: skip
    """A lead in the vendor's pipeline (``vendor``: the vendor organisation, found if omitted)."""
    from partners.leads.models import Lead

    fields.setdefault("country", "DE")
    fields.setdefault("product_line", "networking")
    vendor = vendor or vendor_org(session)
    company = company or f"Lead Co {next(_sequence)}"
    return _add(session, Lead(org_id=vendor.id, company=company, status=status, **fields))


def make_offer(session: Session, lead, partner: Organization, status: str = "offered", **fields):
    """``lead`` offered to ``partner``, to answer within two days (answered now, if the status
    says it was)."""
    from partners.leads.models import LeadOffer
    from portal.clock import utcnow

    now = utcnow()
    fields.setdefault("offered_at", now)
    fields.setdefault("respond_by", now + timedelta(days=2))
    if status in ("accepted", "declined"):
        fields.setdefault("responded_at", now)
    return _add(session, LeadOffer(org_id=partner.id, lead_id=lead.id, status=status, **fields))


def make_shared_lead(
    session: Session, partner: Organization, company: str | None = None,
    status: str = "submitted", **fields
):  # fmt: skip
    """A lead ``partner`` found and shares with the vendor (submitted, waiting for a decision)."""
    from partners.leads.models import SharedLead

    fields.setdefault("country", "DE")
    fields.setdefault("product_line", "security")
    company = company or f"Shared Lead Co {next(_sequence)}"
    return _add(session, SharedLead(org_id=partner.id, company=company, status=status, **fields))


def make_deal(
    session: Session, partner: Organization, customer: str | None = None,
    status: str = "submitted", **fields
):  # fmt: skip
    """``partner``'s deal registration for ``customer``: 1,000.00 EUR, closing in 30 days."""
    from partners.deals.models import DealRegistration

    n = next(_sequence)
    customer = customer or f"Customer {n} Ltd"
    fields.setdefault("number", f"DR-T{n:06d}")
    fields.setdefault("customer_name_key", customer.lower())
    fields.setdefault("customer_domain", f"customer{n}.test")
    fields.setdefault("products", ["switches"])
    fields.setdefault("value", Decimal("1000.00"))
    fields.setdefault("currency", "EUR")
    fields.setdefault("expected_close", date.today() + timedelta(days=30))
    return _add(
        session,
        DealRegistration(org_id=partner.id, customer_name=customer, status=status, **fields),
    )


def make_quote(
    session: Session, recipient: Organization, title: str | None = None, status: str = "sent",
    lines=1, **fields
):  # fmt: skip
    """A quote addressed to ``recipient`` with ``lines``: a count of 100.00 EUR lines (tax free),
    or a list of dicts overriding a line's fields. Totals are the lines' sums; a quote no longer
    a draft carries a (placeholder) PDF, as a sent one does."""
    from partners.quotes.models import Quote, QuoteLine

    n = next(_sequence)
    title = title or f"Quote {n}"
    sent = status != "draft"
    fields.setdefault("number", f"Q-T{n:06d}")
    fields.setdefault("currency", "EUR")
    fields.setdefault("valid_until", date.today() + timedelta(days=30))
    fields.setdefault("pdf", _PDF if sent else None)
    fields.setdefault("pdf_sha256", "0" * 64 if sent else None)
    quote = _add(session, Quote(org_id=recipient.id, title=title, status=status, **fields))
    specs = [{} for _ in range(lines)] if isinstance(lines, int) else list(lines)
    built = []
    for position, spec in enumerate(specs, start=1):
        line = {
            "position": position,
            "sku": "MX-1",
            "name": f"Line of {title}",
            "quantity": 1,
            "list_price": Decimal("100"),
            "unit_price": Decimal("100"),
            "net_amount": Decimal("100.00"),
            "tax_amount": Decimal("0.00"),
            **spec,
        }
        built.append(QuoteLine(org_id=recipient.id, quote_id=quote.id, **line))
    session.add_all(built)
    if built and "total" not in fields:
        quote.subtotal = sum((line.net_amount for line in built), Decimal("0"))
        quote.tax_total = sum((line.tax_amount for line in built), Decimal("0"))
        quote.total = quote.subtotal + quote.tax_total
    session.flush()
    return quote


def make_case(
    session: Session, org: Organization, requester: User | None = None,
    subject: str | None = None, status: str = "open", comments=(), **fields
):  # fmt: skip
    """A case of ``org`` raised by ``requester`` (None: nobody's), with its first status in the
    history and ``comments``: bodies of public replies, or dicts of a comment's fields."""
    from portal.clock import utcnow
    from selfservice.cases.models import Case, CaseStatusChange

    now = utcnow()
    n = next(_sequence)
    subject = subject or f"Case {n}"
    fields.setdefault("number", f"CS-T-{n:07d}")
    fields.setdefault("description", f"About {subject}")
    for moment in ("created_at", "updated_at", "status_changed_at"):
        fields.setdefault(moment, now)
    case = _add(
        session,
        Case(
            org_id=org.id,
            subject=subject,
            requester_id=requester.id if requester else None,
            status=status,
            **fields,
        ),
    )
    session.add(CaseStatusChange(org_id=org.id, case_id=case.id, status=status, at=now))
    for comment in comments:
        spec = {"body": comment} if isinstance(comment, str) else dict(comment)
        make_case_comment(session, case, **spec)
    session.flush()
    return case


def make_case_comment(
    session: Session, case, body: str | None = None, internal: bool = False, author=None,
    **fields
):  # fmt: skip
    """A public reply on ``case`` (``internal``: an agent's note)."""
    from selfservice.cases.models import CaseComment

    fields.setdefault("by_agent", internal)
    return _add(
        session,
        CaseComment(
            org_id=case.org_id,
            case_id=case.id,
            body=body or f"Comment {next(_sequence)}",
            internal=internal,
            author_id=author.id if author else None,
            **fields,
        ),
    )


def make_article(
    session: Session, title: str | None = None, audience: str = "public",
    status: str = "published", **fields
):  # fmt: skip
    """A help-centre article for ``audience``, published."""
    from selfservice.kb.models import Article

    title = title or f"Article {next(_sequence)}"
    fields.setdefault("body", f"All about {title}.")
    return _add(session, Article(title=title, audience=audience, status=status, **fields))


def make_idea(
    session: Session, author: User | None = None, title: str | None = None,
    org: Organization | None = None, **fields
):  # fmt: skip
    """An idea on the board, under review, proposed by ``author`` (its organisation's; ``org``
    when there is no author)."""
    from feedback.ideas.models import Idea

    org_id = org.id if org is not None else author.org_id
    fields.setdefault("product", "networking")
    fields.setdefault("description", "")
    title = title or f"Idea {next(_sequence)}"
    return _add(
        session,
        Idea(org_id=org_id, title=title, author_id=author.id if author else None, **fields),
    )


def make_campaign(
    session: Session, vendor: Organization | None = None, name: str | None = None,
    status: str = "draft", **fields
):  # fmt: skip
    """The vendor's NPS campaign, a draft for customers."""
    from feedback.surveys.models import NpsCampaign

    vendor = vendor or vendor_org(session)
    fields.setdefault("audience_kinds", ["customer"])
    name = name or f"NPS campaign {next(_sequence)}"
    return _add(session, NpsCampaign(org_id=vendor.id, name=name, status=status, **fields))


# --- issue 14, item 5 (h5): case products are products ---------------------------------------


def make_product(session: Session, sku: str | None = None, **fields):
    """A product of the vendor's catalogue: 100.00 EUR a unit, in the networking line, active."""
    from partners.catalogue.models import Product

    n = next(_sequence)
    fields.setdefault("name", f"Product {n}")
    fields.setdefault("list_price", Decimal("100"))
    fields.setdefault("currency", "EUR")
    fields.setdefault("product_line", "networking")
    return _add(session, Product(sku=sku or f"P-{n:05d}", **fields))


# Issue 14, item 3 (segments): a segment, an NPS answer and a CSAT answer.


def make_segment(
    session: Session, criteria: dict, name: str | None = None, vendor: Organization | None = None
):
    """The vendor's segment with ``criteria`` as stored (not checked against the registry)."""
    from portal.segments.models import Segment

    vendor = vendor or vendor_org(session)
    name = name or f"Segment {next(_sequence)}"
    return _add(session, Segment(org_id=vendor.id, name=name, criteria=criteria))


def make_nps_answer(session: Session, person: User, score: int, answered_at, campaign=None):
    """``person`` asked by ``campaign`` (a sent one of its own if omitted) and answering
    ``score`` at ``answered_at``."""
    from feedback.surveys.models import SurveyRecipient, SurveyResponse

    campaign = campaign or make_campaign(session, status="sent", sent_at=answered_at)
    org = session.get(Organization, person.org_id)
    recipient = _add(
        session,
        SurveyRecipient(
            org_id=person.org_id,
            campaign_id=campaign.id,
            user_id=person.id,
            email=person.email,
            org_kind=org.kind,
            org_tier=org.tier or "",
            sent_at=answered_at,
        ),
    )
    return _add(
        session,
        SurveyResponse(
            org_id=person.org_id,
            recipient_id=recipient.id,
            campaign_id=campaign.id,
            score=score,
            answered_at=answered_at,
        ),
    )


def make_csat_answer(session: Session, org: Organization, requester: User, score: int):
    """A solved case of ``org`` whose survey ``requester`` answered with ``score``."""
    from feedback.csat.models import CsatResponse, CsatSurvey

    case = make_case(session, org, requester, status="solved")
    survey = _add(
        session,
        CsatSurvey(
            org_id=org.id, case_id=case.id, case_number=case.number, requester_id=requester.id
        ),
    )
    return _add(session, CsatResponse(org_id=org.id, survey_id=survey.id, score=score))
