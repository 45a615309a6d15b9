"""Who may do what: the one table of role -> permitted actions, and small object rules.

Visibility (which rows a principal can see at all) lives in each model's ``visible_to``; this
module answers the second question, what a principal may *do* with what it can see. A role lacking
an action gets 403; a row it cannot see is 404 before this is ever asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, g
from flask_babel import lazy_gettext as _l

from portal.errors import Forbidden

VENDOR = "vendor"
PARTNER_KINDS = ("reseller", "distributor", "supplier")
CUSTOMER = "customer"
ORG_KINDS = (VENDOR, *PARTNER_KINDS, CUSTOMER)

# The role names, here and nowhere else: other modules ask who may do an action
# (``portal.people``), and the few that must name a role (the demo world) use these.
VENDOR_ADMIN = "vendor_admin"
CHANNEL_MANAGER = "channel_manager"
SALES_REP = "sales_rep"
SUPPORT_AGENT = "support_agent"
PARTNER_ADMIN = "partner_admin"
PARTNER_USER = "partner_user"
CUSTOMER_ADMIN = "customer_admin"
CUSTOMER_USER = "customer_user"

ORG_KIND_LABELS = {
    VENDOR: _l("Vendor"),
    "reseller": _l("Reseller"),
    "distributor": _l("Distributor"),
    "supplier": _l("Supplier"),
    CUSTOMER: _l("Customer"),
}


# OAuth scopes of the API: ``<area>:read`` and ``<area>:write``. A token's rights are its scopes
# intersected with its principal's role (``Principal.can``). Offered (in the authorisation
# server's metadata and to clients) are the scopes some endpoint asks for, no more: the help
# centre (``articles:*``: support staff write articles) and the ideas board (``ideas:*``) are
# read and written, the NPS and CSAT results only read (``feedback:read``, vendor staff)
# (tests/integration/test_oauth_server.py checks both ways against the API's routes).
SCOPE_AREAS = (
    "organizations", "users", "leads", "deals", "quotes", "cases", "funds",
    "articles", "ideas", "feedback", "webhooks",
)  # fmt: skip
READ_ONLY_SCOPE_AREAS = frozenset({"feedback"})
SCOPES = tuple(
    f"{area}:{verb}"
    for area in SCOPE_AREAS
    for verb in ("read", "write")
    if verb == "read" or area not in READ_ONLY_SCOPE_AREAS
)
# Action areas whose scope area is named differently.
_ACTION_AREA_SCOPES = {"orgs": "organizations"}


def scope_for(action: str) -> str | None:
    """The scope a token needs for ``action`` (None: no token may do it, e.g. account pages)."""
    area, _, verb = action.partition(".")
    area = _ACTION_AREA_SCOPES.get(area, area)
    scope = f"{area}:{'read' if verb in {'view', 'read'} else 'write'}"
    return scope if scope in SCOPES else None


def audience_of(org_kind: str) -> str:
    """vendor, partner or customer: the three audiences pages and navigation are built for."""
    if org_kind == VENDOR:
        return "vendor"
    if org_kind in PARTNER_KINDS:
        return "partner"
    return "customer"


@dataclass(frozen=True)
class Role:
    name: str
    label: object
    audience: str
    is_admin: bool
    actions: frozenset[str]


_EVERYONE = {
    "home.view",
    "account.manage",
    "notifications.view",
    "quotes.view",
    "ideas.view",
    "ideas.comment",
    "articles.view",  # the help centre (which articles: their audience, Article.visible_to)
}
# ``orgs.follow``: an organisation's admins are told when its settings change (its partner tier).
_ORG_ADMIN = {"users.view", "users.manage", "api_clients.manage", "sso.manage", "orgs.follow"}
# Personal data: an organisation's admins export and erase its members' data (a vendor admin's,
# anyone's: ``may_handle_personal_data``); each person exports their own from the account page.
_ORG_ADMIN |= {"people.export_data", "people.erase"}
# Webhooks: an organisation's admins subscribe its endpoints to the events it may see.
_ORG_ADMIN |= {"webhooks.view", "webhooks.manage"}
# ``scorecards.view``: a partner scorecard's page, which vendor staff open for every partner and a
# partner for its own (one route for both: the wall decides which partners it finds).
_VENDOR_STAFF = {
    "funds.view",
    "orgs.view",
    "program.view",
    "leads.view",
    "deals.view",
    "catalogue.view",
    "scorecards.view",
}
# Quotes: vendor sales staff build and send them; recipients (partners, customers) answer them.
_QUOTING = {"quotes.manage", "catalogue.manage"}
_RECIPIENT = {"quotes.accept"}
# The channel: vendor staff who run it, and what every partner does in it.
_CHANNEL = {
    "leads.manage",
    "leads.review",
    "deals.review",
    "deals.close",
    "direct_deals.manage",
    "certifications.verify",  # confirm a partner's person holds the certification it records
    "program.review",  # apply or dismiss the tick's proposed promotions and demotions
    "funds.manage",  # market development funds: budgets, decisions on requests and claims
}
# Sourcing: vendor staff ask suppliers for quotations and accept or decline their offers.
_SOURCING = {"sourcing.manage"}
# Analytics: the channel's dashboards (channel, forecast) and the segments over organisations are
# for the vendor's channel and sales staff; the support dashboard for support staff.
_CHANNEL_ANALYSIS = {"reports.channel", "segments.manage"}
_SUPPORT_ANALYSIS = {"reports.support"}
_PARTNER = {
    "leads.view",
    "leads.respond",
    "leads.share",
    "deals.view",
    "deals.register",
    "deals.close",
    "program.own",  # the partner's own programme page: its tier, territories, specialisations
    "scorecards.view",  # its own scorecard (vendor staff: every partner's)
    "quotes.request",
    "certifications.manage",  # its people's certifications and trainings
    "funds.view",  # its market development funds: budget, requests, claims
    "funds.request",
    "leads.pass_down",  # a distributor passes an offered lead to one of its resellers
    "sourcing.respond",  # a supplier answers the vendor's requests for quotation
    *_RECIPIENT,
}
# What only a partner's admins do: follow every registration of the organisation (told of each
# decision, whoever registered it).
# A distributor's admins also give the first approval of its resellers' registrations, where the
# programme asks for it.
_PARTNER_ADMIN = {"deals.follow", "deals.first_review"}
# Feedback: customers and partners propose and vote; vendor staff run surveys and the board.
# ``ideas.edit`` opens the edit page; which idea a person may edit is feedback.ideas.services'
# object rule (the author while under review, vendor staff with ``ideas.manage`` always).
_IDEAS_CONTRIBUTOR = {"ideas.submit", "ideas.vote", "ideas.edit"}
_FEEDBACK_STAFF = {"feedback.view", "feedback.manage", "ideas.manage", "ideas.edit"}

# Self-service: everyone reads the help centre and raises and follows cases (which cases is each
# model's visibility rule); support agents work them and write the articles.
_SELF_SERVICE = {"cases.view", "cases.open"}
_SUPPORT = {"cases.view", "cases.work", "articles.manage"}
_CASE_SETTINGS = {"cases.settings"}  # an organisation's admin: share cases org-wide or not
# A customer's own dashboard: its cases' SLA compliance, open cases, quotes (what the wall shows).
_CUSTOMER_ANALYSIS = {"reports.own"}

ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role(
            VENDOR_ADMIN,
            _l("Vendor admin"),
            "vendor",
            True,
            frozenset(
                _EVERYONE
                | _ORG_ADMIN
                | _VENDOR_STAFF
                | _CHANNEL
                | _QUOTING
                | _SOURCING
                | _FEEDBACK_STAFF
                | _SELF_SERVICE
                | _SUPPORT
                | _CHANNEL_ANALYSIS
                | _SUPPORT_ANALYSIS
                | {
                    "orgs.manage",
                    "audit.view",
                    "program.manage",
                    "quotes.approve_discount",
                    "support.manage",
                    "cases.legal_hold",  # a held case's people cannot be erased
                    # told of a low CSAT rating on a case whose team has no active lead
                    "feedback.low_ratings",
                }
            ),
        ),
        Role(
            CHANNEL_MANAGER,
            _l("Channel manager"),
            "vendor",
            False,
            frozenset(
                _EVERYONE
                | _VENDOR_STAFF
                | _CHANNEL
                | _QUOTING
                | _SOURCING
                | _FEEDBACK_STAFF
                | _CHANNEL_ANALYSIS
            ),
        ),
        Role(
            SALES_REP,
            _l("Sales rep"),
            "vendor",
            False,
            frozenset(
                _EVERYONE
                | _VENDOR_STAFF
                | _CHANNEL_ANALYSIS
                | _SOURCING
                | {
                    "leads.manage",
                    "deals.close",
                    "direct_deals.manage",
                    "quotes.manage",
                    "feedback.view",
                }
            ),
        ),
        Role(
            SUPPORT_AGENT,
            _l("Support agent"),
            "vendor",
            False,
            frozenset(
                _EVERYONE
                | _VENDOR_STAFF
                | _SELF_SERVICE
                | _SUPPORT
                | _FEEDBACK_STAFF
                | _SUPPORT_ANALYSIS
            ),
        ),
        Role(
            PARTNER_ADMIN,
            _l("Partner admin"),
            "partner",
            True,
            frozenset(
                _EVERYONE
                | _ORG_ADMIN
                | _PARTNER
                | _PARTNER_ADMIN
                | _SELF_SERVICE
                | _CASE_SETTINGS
                | _IDEAS_CONTRIBUTOR
            ),
        ),
        Role(
            PARTNER_USER,
            _l("Partner user"),
            "partner",
            False,
            frozenset(_EVERYONE | _PARTNER | _SELF_SERVICE | _IDEAS_CONTRIBUTOR),
        ),
        Role(
            CUSTOMER_ADMIN,
            _l("Customer admin"),
            "customer",
            True,
            frozenset(
                _EVERYONE
                | _ORG_ADMIN
                | _RECIPIENT
                | _SELF_SERVICE
                | _CASE_SETTINGS
                | _IDEAS_CONTRIBUTOR
                | _CUSTOMER_ANALYSIS
            ),
        ),
        Role(
            CUSTOMER_USER,
            _l("Customer user"),
            "customer",
            False,
            frozenset(
                _EVERYONE | _RECIPIENT | _SELF_SERVICE | _IDEAS_CONTRIBUTOR | _CUSTOMER_ANALYSIS
            ),
        ),
    )
}

ALL_ACTIONS = frozenset().union(*(r.actions for r in ROLES.values()))

# What a partner's role allows, some kinds of partner still do not do: suppliers share leads and
# answer quotes but register no deals, so they are neither offered registrations nor follow them.
DEAL_REGISTERING_KINDS = ("reseller", "distributor")
DISTRIBUTOR_KINDS = ("distributor",)
SUPPLIER_KINDS = ("supplier",)
PARTNER_KIND_RULES: dict[str, tuple[tuple[str, ...], object]] = {
    **{
        action: (DEAL_REGISTERING_KINDS, _l("Only resellers and distributors register deals."))
        for action in ("deals.view", "deals.register", "deals.close", "deals.follow")
    },
    **{
        action: (
            DEAL_REGISTERING_KINDS,
            _l("Market development funds are for resellers and distributors."),
        )
        for action in ("funds.view", "funds.request")
    },
    **{
        action: (DISTRIBUTOR_KINDS, _l("Only distributors have resellers."))
        for action in ("leads.pass_down", "deals.first_review")
    },
    "sourcing.respond": (SUPPLIER_KINDS, _l("Only suppliers answer requests for quotation.")),
}


def roles_for(org_kind: str) -> list[Role]:
    """The roles a user of an organisation of this kind may hold."""
    return [r for r in ROLES.values() if r.audience == audience_of(org_kind)]


def admin_role_for(org_kind: str) -> Role:
    return next(r for r in roles_for(org_kind) if r.is_admin)


def role_allows(role: str, action: str) -> bool:
    if action not in ALL_ACTIONS:
        raise KeyError(f"unknown action {action!r}: add it to a role in portal/access.py")
    return role in ROLES and action in ROLES[role].actions


def kind_refusal(org_kind: str, action: str):
    """Why an organisation of this kind may not do ``action`` whatever the role (a message safe
    to show), or None when its kind does not stand in the way."""
    rule = PARTNER_KIND_RULES.get(action)
    if rule is None or org_kind not in PARTNER_KINDS or org_kind in rule[0]:
        return None
    return rule[1]


def allows(role: str, org_kind: str, action: str) -> bool:
    """The role allows ``action`` and the kind of the organisation does not forbid it."""
    return role_allows(role, action) and kind_refusal(org_kind, action) is None


def require(action: str) -> Callable:
    """View decorator: the signed-in principal's role must allow ``action`` (else 403).

    A route that loads a record checks visibility itself (``get_or_404``); this is the coarse check
    that does not depend on any record, so its answer says nothing about which records exist.
    """
    if action not in ALL_ACTIONS:
        raise KeyError(f"unknown action {action!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = g.get("principal")
            if principal is None:
                return current_app.login_manager.unauthorized()
            if not principal.can(action):
                reason = kind_refusal(principal.org_kind, action)
                if reason is not None:
                    raise Forbidden(str(reason))
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_action = action
        return wrapped

    return decorator


# Object rules: pure functions over plain values, unit-testable without HTTP.


def may_manage_user(actor_role: str, actor_user_id: int, target_user_id: int) -> bool:
    """An admin manages the users of the organisations it can see, but never demotes or
    deactivates itself (so an organisation cannot lock out its last admin by accident)."""
    return role_allows(actor_role, "users.manage") and actor_user_id != target_user_id


def may_handle_personal_data(
    actor_role: str,
    actor_org_id: int,
    actor_org_kind: str,
    actor_user_id: int,
    target_org_id: int,
    target_user_id: int,
    action: str,
) -> bool:
    """``people.export_data`` or ``people.erase`` of another person: an organisation's admin for
    its own members, a vendor admin for anyone; never one's own erasure (a person asks their
    admin for it, so an organisation cannot erase its last admin by accident)."""
    if not role_allows(actor_role, action):
        return False
    if action == "people.erase" and actor_user_id == target_user_id:
        return False
    return actor_org_id == target_org_id or actor_org_kind == VENDOR
