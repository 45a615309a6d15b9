"""A person's personal data: its export (a zip of JSON and the files they uploaded, streamed) and
its erasure (the person anonymised everywhere, their contributions kept as "Former user").

Both read the schema rather than name the feature packages' models (``portal`` imports none of
them): a record is the person's where one of its foreign keys to ``users`` says they acted on it
(``rules``), so a table a feature adds later is exported and erased without a change here:
``export`` and ``erasure`` are the two use cases.

``init_app`` adds the routes (account page "My data", the people page's export and erasure) to
identity's blueprint and the notification kind of an erasure request.
"""

from __future__ import annotations


def init_app(app, bp) -> None:
    from flask_babel import lazy_gettext as _l

    from portal.identity.personal_data import views
    from portal.notify import register_kind

    views.routes.add_to(bp)
    register_kind("admin.erasure_requested", _l("A person asks for their data to be erased"))
