"""Search of the help centre: articles through the portal's one full-text interface
(``portal.search``), title before body, with highlighted snippets of the body. The reader's
audience rule is added by the tenant wall, as to every query of articles."""

from __future__ import annotations

from portal import search as full_text
from selfservice.kb.models import ARTICLE_INDEX, Article


def search(query: str, *, limit: int = 10, category_id: int | None = None) -> list[full_text.Hit]:
    """The best matching articles the reader may see (of one category, if given), best first."""
    where = [Article.category_id == category_id] if category_id else []
    return full_text.search(ARTICLE_INDEX, query, limit=limit, where=where)
