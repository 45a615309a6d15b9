"""Signed webhooks: an organisation's admins subscribe endpoints to the platform's domain
events; each delivery is built under that organisation's principal, signed per the Standard
Webhooks scheme and delivered by the job workers, in order, with retries for about a day."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages, API resources, navigation, the notification kind, the tick, the subscription to
    every event and the ``webhooks`` section of the OpenAPI document."""
    from portal import api, events, jobs, navigation
    from portal.notify import register_kind
    from portal.webhooks import api as webhooks_api
    from portal.webhooks import delivery, openapi, views

    app.register_blueprint(views.bp)
    api.add_routes(webhooks_api.routes)
    api.add_document_section(openapi.webhooks_section)
    navigation.add(*views.NAVIGATION)
    register_kind("webhooks.disabled", _l("A webhook endpoint of my organisation was disabled"))
    jobs.add_periodic("retry_webhooks", delivery.retry_webhooks)
    events.subscribe("*", delivery.queue_deliveries)
