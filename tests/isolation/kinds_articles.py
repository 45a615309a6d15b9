"""Help-centre articles in the isolation matrix: each audience sees published articles for it
(and public ones); drafts and internal articles are for vendor staff only. Their titles are
markers: never on a page of an audience they are not for."""

from __future__ import annotations

from selfservice.kb.models import Article
from tests.factories import make_article
from tests.isolation.world import World, record_kind

ARTICLES = {  # title -> (audience, status)
    "Public article on printers": ("public", "published"),
    "Customers article ZZQ-CUST": ("customers", "published"),
    "Partners article ZZQ-PART": ("partners", "published"),
    "Internal article ZZQ-INTL": ("internal", "published"),
    "Draft article ZZQ-DRFT": ("public", "draft"),
}


def _seed(db, w: World) -> None:
    for title, (audience, status) in ARTICLES.items():
        make_article(db, title, audience, status)
    # Vendor-only titles are markers for partners and customers (the matrix checks those two);
    # the other audience's own articles are checked in tests/integration/test_kb.py.
    w.markers += ["Internal article ZZQ-INTL", "Draft article ZZQ-DRFT"]


def _visible_titles(role) -> set[str]:
    if role.audience == "vendor":
        return set(ARTICLES)
    mine = "customers" if role.audience == "customer" else "partners"
    return {t for t, (a, s) in ARTICLES.items() if s == "published" and a in ("public", mine)}


def _foreign(db, w: World, role) -> list[int]:
    visible = _visible_titles(role)
    return [
        a.id
        for a in db.query(Article).filter(Article.title.in_(list(ARTICLES)))
        if a.title not in visible
    ]


def _own(db, w: World, role) -> int | None:
    return db.query(Article).filter_by(title="Public article on printers").one().id


record_kind("article_id", foreign=_foreign, own=_own, seed=_seed)
