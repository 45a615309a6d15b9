"""Organisations in the API: the list (with the admin page's filters) and one organisation
(``organizations:read``, whoever may see them: vendor staff all, a partner its own, the vendor and
the customers it manages, a customer its own and the vendor), and the vendor admin's changes
(``organizations:write``, ``orgs.manage``) through the same services as the admin pages."""

from __future__ import annotations

from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from sqlalchemy import select

from portal import access
from portal.api import api
from portal.api.auth import require_scope
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, REQUIRED_TEXT, WRITE_ERRORS, OrganizationOut
from portal.db import db
from portal.errors import InvalidInput
from portal.identity import services
from portal.identity.models import SUPPLIER_RELATIONSHIPS, Organization
from portal.routes import Routes

routes = Routes()


class OrganizationQuery(PageQuery):
    kind: Literal[access.ORG_KINDS] | None = Field(None, description="Only this kind.")
    relationship: Literal[SUPPLIER_RELATIONSHIPS] | None = Field(
        None, description="Only suppliers in this relationship with the vendor."
    )
    q: str | None = Field(None, max_length=100, description="Part of the name.")


class OrganizationRecord(OrganizationOut):
    supplier_relationship: Literal[SUPPLIER_RELATIONSHIPS] | None = Field(
        description="A supplier's relationship with the vendor (None for other kinds)."
    )
    account_manager_id: int | None = Field(
        description="The vendor user who looks after the organisation."
    )


class OrganizationRecordPage(BaseModel):
    items: list[OrganizationRecord]
    next_cursor: str | None


class OrganizationPatch(BaseModel):
    """The fields the admin page edits; those left out keep their value."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=REQUIRED_TEXT)
    tier: str | None = Field(None, max_length=20, description="A partner's tier code, or null.")
    managed_by_id: int | None = Field(
        None,
        ge=1,
        le=2147483647,
        description="A customer's partner, or a reseller's distributor; null for none.",
    )
    supplier_relationship: Literal[SUPPLIER_RELATIONSHIPS] | None = None
    account_manager_id: int | None = Field(
        None, ge=1, le=2147483647, description="A vendor sales user; null for nobody."
    )
    active: bool | None = Field(
        None, description="false signs all its users out and keeps them out."
    )


def _record(org: Organization) -> dict:
    return OrganizationRecord.model_validate(org, from_attributes=True).model_dump()


@routes.get("/organizations")
@api.validate(
    query=OrganizationQuery,
    resp=Response(HTTP_200=OrganizationRecordPage, HTTP_422=Problem, **ERRORS),
    tags=["organizations"],
)
def list_organizations(query: OrganizationQuery):
    """The organisations the caller may see: its own and the vendor; a partner also sees the
    customers it manages; vendor staff see all. Filters as on the admin page: ``kind``,
    ``relationship`` (suppliers'), ``q`` (part of the name)."""
    require_scope("organizations:read")
    stmt = select(Organization)
    if query.kind:
        stmt = stmt.where(Organization.kind == query.kind)
    if query.relationship:
        stmt = stmt.where(Organization.supplier_relationship == query.relationship)
    if query.q and query.q.strip():
        stmt = stmt.where(Organization.name.ilike(f"%{query.q.strip()}%"))
    rows, cursor = page_of(stmt, Organization, query)
    return OrganizationRecordPage(items=[_record(o) for o in rows], next_cursor=cursor)


@routes.get(f"/organizations/<{ID}:org_id>")
@api.validate(
    resp=Response(HTTP_200=OrganizationRecord, HTTP_404=Problem, **ERRORS),
    tags=["organizations"],
)
def get_organization(org_id: int):
    """One organisation the caller may see (404 for any other, as for one that does not exist)."""
    require_scope("organizations:read")
    org = db.session.scalars(select(Organization).where(Organization.id == org_id)).one_or_none()
    if org is None:
        raise ApiError(404, "Not Found", f"No organization {org_id} here.")
    return OrganizationRecord(**_record(org))


@routes.patch(f"/organizations/<{ID}:org_id>")
@guarded(Organization, "org_id", "orgs.manage")
@api.validate(
    json=OrganizationPatch,
    resp=Response(HTTP_200=OrganizationRecord, **WRITE_ERRORS, **ERRORS),
    tags=["organizations"],
)
def update_organization(org_id: int, json: OrganizationPatch):
    """Change an organisation as the vendor admin's pages do: name, tier, managing partner,
    supplier relationship, account manager, active. The vendor's own organisation is not
    changed here (403); a value the pages would refuse is 422 naming the field. Send an
    ``Idempotency-Key`` header to retry safely."""
    org = g.api_record
    given = json.model_fields_set

    def change() -> dict:
        try:
            _apply(org, json, given)
        except InvalidInput as error:
            loc = ["body", error.field] if error.field else ["body"]
            raise ApiError(
                422,
                "Unprocessable Content",
                error.message,
                errors=[{"loc": loc, "msg": error.message}],
            ) from None
        db.session.flush()
        return _record(org)

    return write_once(change)


def _apply(org: Organization, json: OrganizationPatch, given: set[str]) -> None:
    """The services, one per kind of change, each checking and auditing its own."""
    actor = g.principal
    fields = {"name", "tier", "managed_by_id", "supplier_relationship"}
    if given & fields:
        if "name" in given and json.name is None:
            raise InvalidInput("An organisation's name cannot be null.", field="name")
        services.update_organization(
            org,
            name=json.name if "name" in given else org.name,
            tier=json.tier if "tier" in given else org.tier,
            managed_by_id=json.managed_by_id if "managed_by_id" in given else org.managed_by_id,
            supplier_relationship=(
                json.supplier_relationship
                if "supplier_relationship" in given
                else org.supplier_relationship
            ),
            actor=actor,
        )
    if "account_manager_id" in given:
        services.assign_account_manager(org, json.account_manager_id, actor=actor)
    if "active" in given:
        if json.active is None:
            raise InvalidInput("active is true or false.", field="active")
        services.set_organization_active(org, json.active, actor=actor)
