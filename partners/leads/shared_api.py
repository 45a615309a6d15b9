"""JSON API of the leads partners share with the vendor, under /api/v1/shared-leads: list, read,
share, approve and reject. A route table that the package's ``init_app`` adds to the API
blueprint, like ``partners.leads.api``'s, whose request and response schemas these endpoints use
(spectree names a schema after the module that defines it, so they stay there and the OpenAPI
document keeps its names)."""

from __future__ import annotations

from flask import g
from spectree import Response
from sqlalchemy import select

from partners.leads import services
from partners.leads.api import (
    TAGS,
    NoteIn,
    ReasonIn,
    SharedLeadIn,
    SharedLeadOut,
    SharedLeadPage,
    SharedQuery,
    iso_time,
    lead_values,
)
from partners.leads.models import SharedLead
from portal.api import api, auth
from portal.api.errors import Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import page_of
from portal.api.resources import ERRORS, ID, WRITE_ERRORS, action
from portal.routes import Routes

routes = Routes()


def _shared(shared: SharedLead) -> dict:
    return SharedLeadOut(
        id=shared.id,
        partner_id=shared.org_id,
        company=shared.company,
        contact_name=shared.contact_name,
        contact_email=shared.email,
        country=shared.country,
        product_line=shared.product_line,
        notes=shared.notes,
        status=shared.status,
        submitted_at=iso_time(shared.submitted_at),
        decided_at=iso_time(shared.decided_at),
        decision_reason=shared.decision_reason,
        lead_id=shared.lead_id,
    ).model_dump()


@routes.get("/shared-leads")
@action("leads.view")
@api.validate(
    query=SharedQuery,
    resp=Response(HTTP_200=SharedLeadPage, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def list_shared_leads(query: SharedQuery):
    """Leads partners shared: a partner's own submissions; vendor staff all of them."""
    auth.require_action("leads.view")
    stmt = select(SharedLead)
    if query.status:
        stmt = stmt.where(SharedLead.status == query.status)
    rows, cursor = page_of(stmt, SharedLead, query)
    return SharedLeadPage(items=[_shared(s) for s in rows], next_cursor=cursor)


@routes.get(f"/shared-leads/<{ID}:shared_id>")
@guarded(SharedLead, "shared_id", "leads.view")
@api.validate(resp=Response(HTTP_200=SharedLeadOut, HTTP_404=Problem, **ERRORS), tags=TAGS)
def get_shared_lead(shared_id: int):
    """One shared lead the caller may see, with the vendor's decision and reason."""
    return SharedLeadOut(**_shared(g.api_record))


@routes.post("/shared-leads")
@action("leads.share")
@api.validate(
    json=SharedLeadIn,
    resp=Response(HTTP_201=SharedLeadOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def share_lead(json: SharedLeadIn):
    """A partner shares a lead it found with the vendor, for review. Send an
    ``Idempotency-Key`` header to retry safely."""
    auth.require_action("leads.share")
    return write_once(
        lambda: _shared(services.submit_shared_lead(lead_values(json), actor=g.principal)), 201
    )


@routes.post(f"/shared-leads/<{ID}:shared_id>/approve")
@guarded(SharedLead, "shared_id", "leads.review")
@api.validate(
    json=NoteIn, resp=Response(HTTP_200=SharedLeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def approve_shared_lead(shared_id: int, json: NoteIn):
    """Vendor staff take a shared lead into the pipeline, credited to the partner."""
    shared = g.api_record

    def approve():
        services.approve_shared_lead(shared, actor=g.principal, note=json.note)
        return _shared(shared)

    return write_once(approve)


@routes.post(f"/shared-leads/<{ID}:shared_id>/reject")
@guarded(SharedLead, "shared_id", "leads.review")
@api.validate(
    json=ReasonIn, resp=Response(HTTP_200=SharedLeadOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def reject_shared_lead(shared_id: int, json: ReasonIn):
    """Vendor staff reject a shared lead, saying why (the partner reads the reason)."""
    shared = g.api_record

    def reject():
        services.reject_shared_lead(shared, json.reason, actor=g.principal)
        return _shared(shared)

    return write_once(reject)
