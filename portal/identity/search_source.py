"""Organisations and people in the portal-wide search (``portal.search``): what the principal
may see of them through the tenant wall, by name (and a person's e-mail address). An
organisation links to its page (vendor staff: any; a partner: its own and its customers'; a
customer: its own), a person to the team administration (``users.view``)."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from portal import search
from portal.identity.models import ORGANIZATION_INDEX, USER_INDEX, Organization, User


def organizations(query: str, principal=None) -> Select | None:
    found = search.matches(ORGANIZATION_INDEX, query)
    if found is None:
        return None
    return select(Organization).where(found).order_by(Organization.name, Organization.id)


def people(query: str, principal=None) -> Select | None:
    found = search.matches(USER_INDEX, query)
    if found is None:
        return None
    return select(User).where(found).order_by(User.name, User.id)


def _organization(org: Organization) -> search.Found:
    return search.Found(
        org.name, url_for("identity.organization", org_id=org.id), str(org.kind_label)
    )


def _organization_list(query: str) -> str | None:
    """The organisations list (vendor staff's administration), filtered by the query."""
    if not g.principal.can("orgs.view"):
        return None
    return url_for("identity.organizations", q=query)


def _person(user: User) -> search.Found:
    return search.Found(user.name, url_for("identity.user_detail", user_id=user.id), user.email)


SOURCES = (
    search.Source(
        "organizations",
        _l("Organisations"),
        "home.view",  # each organisation's page: whoever may see the organisation
        organizations,
        _organization,
        see_all=_organization_list,
        order=10,
    ),
    search.Source("people", _l("People"), "users.view", people, _person, order=20),
)
