"""The main navigation, as data: each package's ``init_app`` adds its entries.

An entry names the action its page requires (``access.require`` on the route), so the navigation
offers a principal only the pages its role may open. Entries are grouped by *area* (Channel,
Sales, Support, Feedback, Administration), each a drop-down; an area with one entry for this
principal shows as a plain link, and an entry with no area (Home) is always one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

# The areas, in the order the navigation shows them.
AREAS: dict[str, object] = {
    "channel": _l("Channel"),
    "sales": _l("Sales"),
    "support": _l("Support"),
    "feedback": _l("Feedback"),
    "admin": _l("Administration"),
}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    action: str
    audiences: tuple[str, ...] = ("vendor", "partner", "customer")
    order: int = 50
    area: str | None = None  # a key of AREAS; None: a plain link of its own (Home)

    def __post_init__(self) -> None:
        if self.area is not None and self.area not in AREAS:
            raise KeyError(f"unknown navigation area {self.area!r}: add it to AREAS")


@dataclass(frozen=True)
class NavGroup:
    """What the navigation shows in one place: a drop-down (the area's ``label`` over several
    ``items``), or a plain link (one item; ``label`` is then the item's own)."""

    key: str
    label: object
    items: tuple[NavItem, ...]

    @property
    def is_menu(self) -> bool:
        return len(self.items) > 1

    @property
    def endpoints(self) -> frozenset[str]:
        return frozenset(i.endpoint for i in self.items)


NAVIGATION: list[NavItem] = [
    NavItem("dashboard.home", _l("Home"), "home.view", order=0),
    NavItem("identity.organizations", _l("Organisations"), "orgs.view", ("vendor",), 80, "admin"),
    NavItem(
        "identity.my_organization",
        _l("My organisation"),
        "home.view",
        ("partner", "customer"),
        89,
        "admin",
    ),
    NavItem("identity.users", _l("Team"), "users.view", order=90, area="admin"),
    NavItem("identity.audit_log", _l("Audit log"), "audit.view", ("vendor",), 95, "admin"),
    NavItem("api_clients.index", _l("API clients"), "api_clients.manage", order=96, area="admin"),
    NavItem("sso.configure", _l("Sign-in"), "sso.manage", order=97, area="admin"),
]


def add(*items: NavItem) -> None:
    """Add entries (an entry for an endpoint already listed replaces it)."""
    for item in items:
        NAVIGATION[:] = [i for i in NAVIGATION if i.endpoint != item.endpoint]
        NAVIGATION.append(item)
    _GROUPS.clear()
    _MENUS.clear()
    _HTML.clear()


@dataclass(frozen=True)
class MenuLink:
    endpoint: str
    href: str
    label: str


@dataclass(frozen=True)
class Menu:
    """A ``NavGroup`` as the page shows it: labels in one language, addresses built."""

    label: str
    items: tuple[MenuLink, ...]
    endpoints: frozenset[str]

    @property
    def is_menu(self) -> bool:
        return len(self.items) > 1


# The navigation depends on the principal's kind of organisation, role and token scopes only
# (``Principal.can``), and its labels are lazy strings (translated when written out): built once
# per such key and reused by every request; as shown (``menus_for``), once per such key, language
# and mount point.
_GROUPS: dict[tuple, list[NavGroup]] = {}
_MENUS: dict[tuple, tuple[Menu, ...]] = {}
# The entries as HTML, per such key and current page as well: the pages people open are few.
_HTML: dict[tuple, Markup] = {}
_HTML_KEPT = 512


def items_for(principal) -> list[NavItem]:
    """The entries ``principal`` may open, in order (none for nobody)."""
    if principal is None:
        return []
    return sorted(
        (i for i in NAVIGATION if principal.audience in i.audiences and principal.can(i.action)),
        key=lambda i: i.order,
    )


def groups_for(principal) -> list[NavGroup]:
    """The navigation of ``principal``: the plain entries (Home) first, then each area that has
    an entry this principal may open, in the order of AREAS; entries in order within an area."""
    if principal is None:
        return []
    key = _key(principal)
    found = _GROUPS.get(key)
    if found is None:
        found = _GROUPS[key] = _build_groups(principal)
    return list(found)


def menus_for(principal) -> tuple[Menu, ...]:
    """``groups_for`` as the page shows it, in the request's language (in a request only)."""
    if principal is None:
        return ()
    key = (_key(principal), str(get_locale()), request.script_root)
    found = _MENUS.get(key)
    if found is None:
        found = _MENUS[key] = tuple(
            Menu(
                str(group.label),
                tuple(MenuLink(i.endpoint, url_for(i.endpoint), str(i.label)) for i in group.items),
                group.endpoints,
            )
            for group in groups_for(principal)
        )
    return found


def navigation_html(principal, endpoint: str | None) -> Markup:
    """The navigation's entries as the layout shows them on the page of ``endpoint`` (which
    entry is current), from ``templates/_navigation.html``: rendered once per kind of principal,
    language, mount point and page."""
    if principal is None:
        return Markup("")
    key = (_key(principal), str(get_locale()), request.script_root, endpoint)
    found = _HTML.get(key)
    if found is None:
        if len(_HTML) >= _HTML_KEPT:
            _HTML.clear()
        template = current_app.jinja_env.get_template("_navigation.html")
        html = template.render(navigation=menus_for(principal), endpoint=endpoint)
        found = _HTML[key] = Markup(html)  # noqa: S704 - an autoescaped template's output
    return found


def _key(principal) -> tuple:
    return (principal.org_kind, principal.role, principal.scopes, len(NAVIGATION))


def _build_groups(principal) -> list[NavGroup]:
    items = items_for(principal)
    plain = [NavGroup(i.endpoint, i.label, (i,)) for i in items if i.area is None]
    groups = []
    for key, label in AREAS.items():
        entries = tuple(i for i in items if i.area == key)
        if entries:
            groups.append(NavGroup(key, label if len(entries) > 1 else entries[0].label, entries))
    return plain + groups
