"""Products with rules and quotes in several states for the demo world, one with two versions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from partners.catalogue.models import PriceBreak, Product, ProductRule
from partners.deals.models import DealRegistration, DealStatus
from partners.quotes import services
from partners.quotes.models import Quote, QuoteRequest, QuoteRequestStatus, QuoteStatus
from portal import access
from portal.clock import utcnow
from portal.identity.models import User
from portal.tenancy import Principal
from portal.workflow import transition

# sku, name, unit, list price, tax %, line, min, max
PRODUCTS = [
    ("NW-CORE-48", "Core switch, 48 ports", "unit", "4200.00", "20", "networking", None, None),
    ("NW-PSU-R", "Redundant power supply", "unit", "380.00", "20", "networking", None, None),
    ("NW-AP7", "Wi-Fi 7 access point", "unit", "540.00", "20", "networking", None, 500),
    ("SEC-FW-200", "Firewall appliance 200", "unit", "6900.00", "20", "security", None, None),
    (
        "SEC-LIC-STD",
        "Threat protection, standard (1 year)",
        "licence",
        "900.00",
        "0",
        "security",
        None,
        None,
    ),
    (
        "SEC-LIC-ADV",
        "Threat protection, advanced (1 year)",
        "licence",
        "1500.00",
        "0",
        "security",
        None,
        None,
    ),
    ("SVC-ENG-DAY", "Engineer day on site", "day", "1100.00", "20", "services", 2, 60),
]
RULES = [
    ("NW-CORE-48", "requires", "NW-PSU-R"),
    ("SEC-FW-200", "requires", "SEC-LIC-STD"),
    ("SEC-LIC-STD", "excludes", "SEC-LIC-ADV"),
]
BREAKS = [("NW-AP7", 20, "495.00"), ("NW-AP7", 100, "450.00"), ("NW-CORE-48", 10, "3900.00")]


def _user(session, org, role, ip_address: str | None = None) -> Principal:
    return Principal.for_user(
        session.scalar(select(User).where(User.org_id == org.id, User.role == role)),
        ip_address=ip_address,
    )


def _catalogue(session) -> int:
    if session.scalar(select(func.count()).select_from(Product)):
        return 0
    products = {}
    for sku, name, unit, price, tax, line, low, high in PRODUCTS:
        products[sku] = Product(
            sku=sku,
            name=name,
            unit=unit,
            list_price=Decimal(price),
            currency="EUR",
            tax_rate_percent=Decimal(tax),
            product_line=line,
            min_quantity=low,
            max_quantity=high,
        )
        session.add(products[sku])
    session.flush()
    for sku, kind, other in RULES:
        session.add(
            ProductRule(product_id=products[sku].id, kind=kind, other_product_id=products[other].id)
        )
    for sku, quantity, price in BREAKS:
        session.add(
            PriceBreak(
                product_id=products[sku].id, min_quantity=quantity, unit_price=Decimal(price)
            )
        )
    session.flush()
    return len(PRODUCTS) + len(RULES) + len(BREAKS)


def _quote(org, seller, lines, *, title, deal=None, request=None, days=30) -> Quote:
    quote = services.create_quote(
        org,
        {
            "title": title,
            "valid_until": (utcnow() + timedelta(days=days)).date(),
            "terms": "Prices exclude shipping. Payment **30 days** net from invoice.",
            "cover_letter": f"Dear {org.name} team,\n\nthank you for your interest. "
            "This proposal covers:\n\n- the equipment below\n- installation by our engineers",
            "scope": "Delivery, installation and configuration at the sites listed.",
            "timeline": "1. Order confirmation\n2. Delivery within 3 weeks\n3. Go-live",
        },
        currency="EUR",
        deal=deal,
        request=request,
        actor=seller,
    )
    for sku, quantity, discount in lines:
        services.add_line(
            quote, sku=sku, quantity=quantity, discount_percent=discount, actor=seller
        )
    return quote


def seed_quotes(session, orgs: dict) -> int:
    added = _catalogue(session)
    if session.scalar(select(func.count()).select_from(Quote)):
        return added
    vendor = orgs["Northwind Systems"]
    seller = _user(session, vendor, access.SALES_REP)
    manager = _user(session, vendor, access.CHANNEL_MANAGER)
    # Alpine asked for a quote on its approved registration; v1 was revised into v2 (sent).
    alpine = orgs["Alpine IT Solutions"]
    deal = session.scalar(
        select(DealRegistration).where(
            DealRegistration.org_id == alpine.id,
            DealRegistration.status == DealStatus.approved,
        )
    )
    if deal is not None:
        request = QuoteRequest(
            org_id=alpine.id,
            deal_id=deal.id,
            message="Core and Wi-Fi for 12 stores, please.",
            status=QuoteRequestStatus.open,
            requested_by_id=_user(session, alpine, access.PARTNER_ADMIN).user_id,
        )
        session.add(request)
        session.flush()
        first = _quote(
            alpine,
            manager,
            [("NW-CORE-48", 12, 0), ("NW-PSU-R", 12, 0), ("NW-AP7", 120, 5)],
            title="Hawthorne stores refresh",
            deal=deal,
            request=request,
        )
        services.send_quote(first, actor=manager)
        second = services.revise_quote(first, actor=manager)
        services.add_line(second, sku="SVC-ENG-DAY", quantity=12, actor=manager)
        services.send_quote(second, actor=manager)
        added += 2
    # A customer's quote waiting for an answer, one accepted, one declined, a draft, an expired.
    granite = _quote(
        orgs["Granite Bank"],
        seller,
        [("SEC-FW-200", 2, 0), ("SEC-LIC-STD", 2, 10)],
        title="Branch firewalls",
    )
    services.send_quote(granite, actor=seller)
    juniper = _quote(
        orgs["Juniper Retail"],
        seller,
        [("NW-AP7", 40, 0), ("SVC-ENG-DAY", 3, 0)],
        title="Store Wi-Fi",
    )
    services.send_quote(juniper, actor=seller)
    buyer = _user(session, orgs["Juniper Retail"], access.CUSTOMER_ADMIN, "192.0.2.10")
    services.mark_viewed(juniper, actor=buyer)
    services.accept_quote(
        juniper,
        full_name="Jordan Juniper",
        consent=True,
        pdf_sha256=juniper.pdf_sha256,
        user_agent="Demo seed",
        actor=buyer,
    )
    cobalt = _quote(
        orgs["Cobalt Networks"],
        manager,
        [("SEC-FW-200", 1, 0), ("SEC-LIC-STD", 1, 0)],
        title="Lab firewall",
    )
    services.send_quote(cobalt, actor=manager)
    services.decline_quote(
        cobalt,
        reason="The customer postponed the project to next year.",
        user_agent="Demo seed",
        actor=_user(session, orgs["Cobalt Networks"], access.PARTNER_ADMIN, "192.0.2.20"),
    )
    _quote(orgs["Harbor Logistics"], seller, [("NW-CORE-48", 2, 0)], title="Warehouse core")
    kestrel = _quote(
        orgs["Kestrel Manufacturing"], seller, [("NW-AP7", 10, 0)], title="Factory floor Wi-Fi"
    )
    services.send_quote(kestrel, actor=seller)
    transition(
        kestrel,
        QuoteStatus.expired,
        actor=None,
        changes={"valid_until": (utcnow() - timedelta(days=3)).date()},
    )
    return added + 5


def seed_two_tier_quote(session, orgs: dict) -> int:
    """A quote to Skagen IT Partners through its distributor, Fjord (sent, waiting for Skagen's
    answer), once the two-tier demo (partners/leads/seed_two_tier.py) attached Skagen."""
    reseller = orgs.get("Skagen IT Partners")
    if reseller is None or reseller.managed_by_id is None:
        return 0
    if session.scalar(select(Quote.id).where(Quote.via_org_id.is_not(None)).limit(1)):
        return 0
    seller = _user(session, orgs["Northwind Systems"], access.SALES_REP)
    quote = services.create_quote(
        reseller,
        {
            "title": "Harbour storage cluster",
            "valid_until": (utcnow() + timedelta(days=30)).date(),
            "terms": "Delivered through Fjord Distribution. Payment **30 days** net.",
        },
        currency="EUR",
        through_distributor=True,
        actor=seller,
    )
    for sku in ("NW-CORE-48", "NW-PSU-R"):  # the core switch needs its power supply
        services.add_line(quote, sku=sku, quantity=2, discount_percent=0, actor=seller)
    services.send_quote(quote, actor=seller)
    return 1
