"""The request path's constant work done once (issue 18): the tenant wall's criteria built once
per principal and added only for what a statement touches (with the same SQL as the whole set),
the navigation once per kind of principal, GET filter forms checked without walking every
option, their options built once per locale."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import event, exists, func, select, update
from sqlalchemy.orm import aliased, joinedload

from partners.deals.models import DealRegistration
from partners.leads.models import Lead, LeadOffer
from portal import db as walls
from portal import navigation
from portal.identity.models import Organization, User
from portal.tenancy import Principal
from selfservice.cases.models import Case, CaseComment, CaseWatcher


def _principals(vendor_id: int, partner_id: int, customer_id: int) -> list[Principal | None]:
    return [
        None,
        Principal(vendor_id, "vendor", "vendor_admin", 1),
        Principal(partner_id, "reseller", "partner_user", 2),
        Principal(partner_id, "distributor", "partner_admin", 3),
        Principal(customer_id, "customer", "customer_user", 4),
        Principal(customer_id, "customer", "customer_admin", 5, scopes=frozenset({"cases:read"})),
    ]


def _statements():
    offer = aliased(LeadOffer)
    return [
        select(Lead).order_by(Lead.id.desc()).limit(25),
        select(Lead).join(Lead.offers).where(LeadOffer.status == "offered"),
        select(Lead).join(Lead.offers.of_type(offer)).where(offer.status == "offered"),
        select(Lead).where(exists(select(LeadOffer.id).where(LeadOffer.lead_id == Lead.id))),
        select(Lead).where(Lead.offers.any(LeadOffer.status == "offered")),
        select(Lead).options(joinedload(Lead.offers)),
        select(Lead.id, select(func.count(LeadOffer.id)).scalar_subquery()),
        select(Case).join(CaseWatcher, CaseWatcher.case_id == Case.id),
        select(func.count()).select_from(CaseComment),
        select(User).where(User.id == 1),  # its organisation joined eagerly
        select(Organization).where(Organization.id == 1),
        select(DealRegistration).limit(25),
        update(Case).where(Case.id == 1).values(subject="x"),
    ]


def test_the_wall_adds_for_a_statement_what_the_whole_set_would(app, db, vendor, org_factory):
    partner, customer = org_factory("reseller"), org_factory("customer")
    dialect = db.get_bind().dialect
    everything = set(walls._scoped_by_mapper())
    for principal in _principals(vendor.id, partner.id, customer.id):
        wall = walls._wall_for(principal)
        for statement in _statements():
            narrowed = wall.options_for(walls._touched_mappers(statement))
            whole = wall.options_for(everything)
            assert len(narrowed) < len(whole)
            got = statement.options(*narrowed) if narrowed else statement
            assert str(got.compile(dialect=dialect)) == str(
                statement.options(*whole).compile(dialect=dialect)
            ), (principal, statement)


def test_the_wall_is_built_once_per_principal_whatever_its_address(app, db):
    one = Principal(7, "reseller", "partner_user", 3, ip_address="192.0.2.1")
    same = Principal(7, "reseller", "partner_user", 3, ip_address="192.0.2.99")
    other = Principal(7, "reseller", "partner_admin", 3)
    assert walls._wall_for(one) is walls._wall_for(same)
    assert walls._wall_for(one) is not walls._wall_for(other)
    wall = walls._wall_for(one)
    first = wall.options_for(walls._touched_mappers(select(Lead)))
    again = wall.options_for(walls._touched_mappers(select(Lead)))
    assert [id(o) for o in first] == [id(o) for o in again]  # reused, not rebuilt


def test_the_navigation_is_built_once_per_kind_of_principal(app):
    with app.test_request_context():
        first = navigation.groups_for(Principal(1, "reseller", "partner_admin", 1))
        again = navigation.groups_for(Principal(2, "reseller", "partner_admin", 9))
        assert first == again and first is not again  # a copy of the kept list
        assert navigation.groups_for(Principal(1, "customer", "customer_user", 1)) != first
        assert navigation.groups_for(None) == []


def test_the_navigation_is_shown_in_each_language_from_one_build(app):
    partner = Principal(1, "reseller", "partner_admin", 1)
    with app.test_request_context():
        shown = navigation.menus_for(partner)
        assert navigation.menus_for(Principal(2, "reseller", "partner_admin", 9)) is shown
        assert shown[0].items[0].href == "/home" and shown[0].items[0].label == "Home"
        with force_locale("de"):
            german = navigation.menus_for(partner)
        assert german is not shown and german[0].items[0].label == "Startseite"
        assert navigation.menus_for(None) == ()


def test_the_unread_count_comes_with_the_session_not_a_statement_of_its_own(
    app, client_as, db, vendor, user_factory
):
    from portal.notify.models import Notification

    manager = user_factory(vendor, "channel_manager")
    client = client_as(manager)
    for n in range(3):
        db.add(Notification(org_id=vendor.id, user_id=manager.id, kind="test", title=f"n{n}"))
    db.commit()
    statements: list[str] = []
    engine = app.extensions["db"].engine
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        page = client.get("/leads/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert 'aria-label="3 unread">3</span>' in page
    counting = [s for s in statements if "notifications" in s]
    assert len(counting) == 1 and "user_sessions" in counting[0], counting


def test_the_lead_filters_refuse_an_option_that_is_not_offered(client_as, db, vendor, user_factory):
    manager = user_factory(vendor, "channel_manager")
    client = client_as(manager)
    assert client.get("/leads/?country=DE&status=new&sort=company").status_code == 200
    refused = client.get("/leads/?country=XX")
    assert refused.status_code == 422
    assert "Not a valid choice" in refused.get_data(as_text=True)
    page = client.get("/leads/?country=AT").get_data(as_text=True)
    assert '<option value="AT" selected>Austria</option>' in page
    assert '<option value="DE">Germany</option>' in page
