"""Sourcing: the vendor's requests for quotation to its suppliers, and the suppliers' offers."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages, navigation, home panels, notification kinds and the demo of sourcing."""
    from partners.sourcing import home, models, seed, views
    from portal import badges, navigation, panels
    from portal import seed as demo
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    badges.add(models.SupplierOffer, views.OFFER_COLOURS, testid="offer-status")
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    register_kind("sourcing.requested", _l("Requests for quotation to my organisation"))
    register_kind("sourcing.decided", _l("The vendor's decisions on my organisation's offers"))
    register_kind("sourcing.offered", _l("Suppliers' offers on requests for quotation"))
    demo.add_seeder(seed.seed_suppliers)
    demo.add_seeder(seed.seed_rfq)
