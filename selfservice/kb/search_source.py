"""Help-centre articles in the portal-wide search (``portal.search``): those the principal may
read (its audience's published articles; vendor staff every one), best match first, as the help
centre's own search ranks them."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from portal import search
from selfservice.kb.models import ARTICLE_INDEX, Article


def _found(article: Article) -> search.Found:
    return search.Found(article.title, url_for("kb.article", article_id=article.id))


SOURCE = search.Source(
    "articles",
    _l("Help articles"),
    "home.view",
    lambda q, principal: search.ranked(ARTICLE_INDEX, q),
    _found,
    see_all=lambda q: url_for("kb.index", q=q),
    order=70,
)
