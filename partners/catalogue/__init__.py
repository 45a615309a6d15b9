"""The catalogue: products, quantity breaks and configuration rules."""


def init_app(app) -> None:
    from partners.catalogue import views

    app.register_blueprint(views.bp)
