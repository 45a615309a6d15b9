"""Cases in the portal-wide search (``portal.search``): the cases the principal may see (its
own, its organisation's where shared, a managing partner's customers', every case for support
staff), newest first, by subject or number."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from portal import search
from selfservice.cases.models import CASE_INDEX, Case


def cases(query: str, principal=None) -> Select | None:
    found = search.matches(CASE_INDEX, query)
    if found is None:
        return None
    return select(Case).where(found).order_by(Case.id.desc())


def _found(case: Case) -> search.Found:
    return search.Found(
        f"{case.number} · {case.subject}",
        url_for("cases.detail", case_id=case.id),
        case.org.name,
    )


SOURCE = search.Source(
    "cases",
    _l("Cases"),
    "cases.view",
    cases,
    _found,
    see_all=lambda q: url_for("cases.index", q=q),
    order=60,
)
