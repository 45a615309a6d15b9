"""The main navigation, as data: each package's ``init_app`` adds its entries."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    action: str
    audiences: tuple[str, ...] = ("vendor", "partner", "customer")
    order: int = 50


NAVIGATION: list[NavItem] = [
    NavItem("dashboard.home", _l("Home"), "home.view", order=0),
    NavItem("identity.organizations", _l("Organisations"), "orgs.view", ("vendor",), order=80),
    NavItem("identity.users", _l("Team"), "users.view", order=90),
    NavItem("identity.audit_log", _l("Audit log"), "audit.view", ("vendor",), order=95),
    NavItem("api_clients.index", _l("API clients"), "api_clients.manage", order=96),
    NavItem("sso.configure", _l("Sign-in"), "sso.manage", order=97),
]


def add(*items: NavItem) -> None:
    """Add entries (an entry for an endpoint already listed replaces it)."""
    for item in items:
        NAVIGATION[:] = [i for i in NAVIGATION if i.endpoint != item.endpoint]
        NAVIGATION.append(item)


def items_for(principal) -> list[NavItem]:
    if principal is None:
        return []
    return sorted(
        (i for i in NAVIGATION if principal.audience in i.audiences and principal.can(i.action)),
        key=lambda i: i.order,
    )
