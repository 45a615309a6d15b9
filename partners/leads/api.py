"""Leads and shared leads in the API (``leads:read``, ``leads:write``): thin routes over the same
services and queries as the pages, so the same rules hold. Routes with a record id are
``guarded``: action, then visibility, then the body (portal.api.guard).
"""

from __future__ import annotations

from typing import Literal

from flask import g
from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field
from spectree import Response
from sqlalchemy import select

from partners.leads import queries, services
from partners.leads.models import LEAD_STATUSES, SHARED_LEAD_STATUSES, Lead, LeadOffer
from portal.api import api, auth
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, REQUIRED_TEXT, WRITE_ERRORS, action
from portal.db import db
from portal.errors import Conflict
from portal.identity.models import Organization
from portal.product_lines import PRODUCT_LINES
from portal.routes import Routes

Country = Literal[tuple(code for code, _ in services.country_choices())]  # ISO 3166 alpha-2
ProductLine = Literal[tuple(PRODUCT_LINES)]
TAGS = ["leads"]

routes = Routes()


class OfferOut(BaseModel):
    id: int
    partner_id: int
    status: str
    offered_at: str
    respond_by: str
    responded_at: str | None
    decline_reason: str
    passed_down_from_id: int | None = Field(
        None, description="Two tiers: the distributor's offer this one was passed down from."
    )


class LeadOut(BaseModel):
    id: int
    company: str
    contact_name: str
    contact_email: str
    phone: str
    country: str
    product_line: str
    source: str
    status: str
    notes: str
    created_at: str
    credited_to_org_id: int | None
    offer: OfferOut | None = Field(
        None, description="The open offer (for a partner: its own, with its deadline)."
    )


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None


class LeadQuery(PageQuery):
    status: Literal[LEAD_STATUSES] | None = None
    country: Country | None = None
    product_line: ProductLine | None = None
    q: str | None = Field(None, max_length=100, description="Text search.")


class LeadIn(BaseModel):
    company: str = Field(min_length=1, max_length=200, pattern=REQUIRED_TEXT)
    contact_name: str = Field("", max_length=200)
    contact_email: EmailStr | None = None
    phone: str = Field("", max_length=50)
    country: Country
    product_line: ProductLine
    notes: str = Field("", max_length=5000)
    offer_by_rule: bool = Field(False, description="Offer it to a partner by rule at once.")


class OfferIn(BaseModel):
    partner_id: int | None = Field(
        None, ge=1, le=2147483647, description="The partner; leave it out to offer by rule."
    )
    note: str = Field("", max_length=services.MAX_REASON)


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=services.MAX_REASON, pattern=REQUIRED_TEXT)


class PassDownIn(BaseModel):
    reseller_id: int = Field(ge=1, le=2147483647, description="One of the distributor's resellers.")
    respond_by: AwareDatetime = Field(
        description="When the reseller must answer by, with its offset: within 30 days."
    )


class NoteIn(BaseModel):
    note: str = Field("", max_length=services.MAX_REASON)


class SharedLeadIn(BaseModel):
    company: str = Field(min_length=1, max_length=200, pattern=REQUIRED_TEXT)
    contact_name: str = Field("", max_length=200)
    contact_email: EmailStr | None = None
    country: Country
    product_line: ProductLine
    notes: str = Field("", max_length=5000)


class SharedLeadOut(BaseModel):
    id: int
    partner_id: int
    company: str
    contact_name: str
    contact_email: str
    country: str
    product_line: str
    notes: str
    status: str
    submitted_at: str
    decided_at: str | None
    decision_reason: str
    lead_id: int | None


class SharedLeadPage(BaseModel):
    items: list[SharedLeadOut]
    next_cursor: str | None


class SharedQuery(PageQuery):
    status: Literal[SHARED_LEAD_STATUSES] | None = None


def iso_time(value) -> str | None:
    """A stored time as the API writes it (ISO 8601), or None."""
    return value.isoformat() if value is not None else None


def _offer(offer: LeadOffer | None) -> dict | None:
    if offer is None:
        return None
    return OfferOut(
        id=offer.id,
        partner_id=offer.org_id,
        status=offer.status,
        offered_at=iso_time(offer.offered_at),
        respond_by=iso_time(offer.respond_by),
        responded_at=iso_time(offer.responded_at),
        decline_reason=offer.decline_reason,
        passed_down_from_id=offer.passed_down_from_id,
    ).model_dump()


def _lead(lead: Lead, offer: LeadOffer | None) -> dict:
    return LeadOut(
        id=lead.id,
        company=lead.company,
        contact_name=lead.contact_name,
        contact_email=lead.email,
        phone=lead.phone,
        country=lead.country,
        product_line=lead.product_line,
        source=lead.source,
        status=lead.status,
        notes=lead.notes,
        created_at=iso_time(lead.created_at),
        credited_to_org_id=lead.credited_to_org_id,
        offer=_offer(offer),
    ).model_dump()


def lead_values(body: LeadIn | SharedLeadIn) -> dict:
    """A request body as the lead services take it."""
    values = body.model_dump(exclude={"offer_by_rule", "contact_email"})
    values["email"] = body.contact_email or ""
    return values


def _own_offer(lead: Lead) -> LeadOffer:
    offer = queries.open_offer(lead.id)  # through the wall: a partner's own only
    if offer is None:
        raise ApiError(404, "Not Found", f"No lead {lead.id} offered to you.")
    return offer


# Leads.


@routes.get("/leads")
@action("leads.view")
@api.validate(
    query=LeadQuery, resp=Response(HTTP_200=LeadPage, HTTP_422=Problem, **ERRORS), tags=TAGS
)
def list_leads(query: LeadQuery):
    """Leads the caller may see, by ascending id: vendor staff every lead; a partner the leads
    offered to it or accepted by it (with its offer). Filters: status, country, product line,
    text."""
    auth.require_action("leads.view")
    filters = queries.LeadFilters(
        status=query.status, country=query.country, product_line=query.product_line, q=query.q
    )
    stmt = select(Lead)
    if not g.principal.is_vendor_staff:
        stmt = queries.partner_leads(stmt)
    partner_view = not g.principal.is_vendor_staff
    rows, cursor = page_of(queries.filter_leads(stmt, filters, among_few=partner_view), Lead, query)
    offers = queries.open_offers_of([lead.id for lead in rows])
    return LeadPage(items=[_lead(lead, offers.get(lead.id)) for lead in rows], next_cursor=cursor)


@routes.get(f"/leads/<{ID}:lead_id>")
@guarded(Lead, "lead_id", "leads.view")
@api.validate(resp=Response(HTTP_200=LeadOut, HTTP_404=Problem, **ERRORS), tags=TAGS)
def get_lead(lead_id: int):
    """One lead the caller may see (404 for any other, and for a partner after a recall)."""
    lead = g.api_record
    return LeadOut(**_lead(lead, queries.open_offer(lead.id)))


@routes.post("/leads")
@action("leads.manage")
@api.validate(
    json=LeadIn,
    resp=Response(HTTP_201=LeadOut, HTTP_409=Problem, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def create_lead(json: LeadIn):
    """Vendor staff add a lead to the pipeline, and may offer it by rule at once. Send an
    ``Idempotency-Key`` header to retry safely."""
    auth.require_action("leads.manage")

    def create():
        lead = services.create_lead(lead_values(json), actor=g.principal, source="api")
        offer = services.offer_by_rule(lead, actor=g.principal) if json.offer_by_rule else None
        return _lead(lead, offer)

    return write_once(create, 201)


@routes.post(f"/leads/<{ID}:lead_id>/offer")
@guarded(Lead, "lead_id", "leads.manage")
@api.validate(json=OfferIn, resp=Response(HTTP_200=LeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def offer_lead(lead_id: int, json: OfferIn):
    """Offer a new lead to a partner (``partner_id``), or by rule (no ``partner_id``): the rule
    picks among partners whose territory and specialisation fit, weighted by tier. 409 if the
    lead is not new, or no partner is eligible."""
    lead = g.api_record

    def offer():
        if json.partner_id is None:
            made = services.offer_by_rule(lead, actor=g.principal)
            if made is None:
                raise Conflict(_("No partner is eligible for this lead now; it stays new."))
        else:
            partner = db.session.get(Organization, json.partner_id)
            if partner is None:
                raise ApiError(404, "Not Found", f"No partner {json.partner_id} here.")
            made = services.offer_lead(lead, partner, actor=g.principal, note=json.note)
        return _lead(lead, made)

    return write_once(offer)


@routes.post(f"/leads/<{ID}:lead_id>/recall")
@guarded(Lead, "lead_id", "leads.manage")
@api.validate(json=Empty, resp=Response(HTTP_200=LeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def recall_lead(lead_id: int, json: Empty):
    """Take a lead back from the partner holding it (it loses access at once)."""
    lead = g.api_record

    def recall():
        services.recall_offer(lead, actor=g.principal)
        return _lead(lead, None)

    return write_once(recall)


@routes.post(f"/leads/<{ID}:lead_id>/accept")
@guarded(Lead, "lead_id", "leads.respond")
@api.validate(json=Empty, resp=Response(HTTP_200=LeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def accept_lead(lead_id: int, json: Empty):
    """The partner accepts the lead offered to it, before its ``respond_by``."""
    lead = g.api_record
    offer = _own_offer(lead)

    def accept():
        services.accept_offer(offer, actor=g.principal)
        return _lead(lead, offer)

    return write_once(accept)


@routes.post(f"/leads/<{ID}:lead_id>/decline")
@guarded(Lead, "lead_id", "leads.respond")
@api.validate(json=ReasonIn, resp=Response(HTTP_200=LeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def decline_lead(lead_id: int, json: ReasonIn):
    """The partner declines the lead offered to it, saying why; it goes to the next partner and
    this one loses access to it."""
    lead = g.api_record
    offer = _own_offer(lead)

    def decline():
        services.decline_offer(offer, json.reason, actor=g.principal)
        return _lead(lead, offer)

    return write_once(decline)


# Two tiers. The coarse check is a partner's (answering offers), so a lead the caller does not
# see answers 404 to every partner alike; the service checks ``leads.pass_down`` (distributors).


@routes.post(f"/leads/<{ID}:lead_id>/pass-down")
@guarded(Lead, "lead_id", "leads.respond")
@api.validate(
    json=PassDownIn, resp=Response(HTTP_201=OfferOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def pass_down_lead(lead_id: int, json: PassDownIn):
    """A distributor passes the lead offered to it down to one of its resellers, to answer by
    ``respond_by`` (an unanswered offer is accepted first). One reseller at a time: 409 while
    another holds it. Answers the reseller's new offer."""
    lead = g.api_record
    offer = _own_offer(lead)

    def pass_down():
        reseller = db.session.get(Organization, json.reseller_id)
        return _offer(services.pass_down(offer, reseller, json.respond_by, actor=g.principal))

    return write_once(pass_down, 201)


@routes.post(f"/leads/<{ID}:lead_id>/recall-pass-down")
@guarded(Lead, "lead_id", "leads.respond")
@api.validate(json=Empty, resp=Response(HTTP_200=OfferOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def recall_pass_down(lead_id: int, json: Empty):
    """The distributor takes the lead back from the reseller it passed it to; the lead stays
    the distributor's. Answers the recalled offer."""
    lead = g.api_record
    offer = _own_offer(lead)

    def recall():
        return _offer(services.recall_pass_down(offer, actor=g.principal))

    return write_once(recall)
