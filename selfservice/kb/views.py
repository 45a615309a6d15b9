"""The help centre: browse and search articles (visitors who are not signed in see public ones),
read one, vote, say it solved the problem; suggestions while a case's subject is typed; support
staff write articles and read the per-article report."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal import access
from portal.concurrency import EditConflict, snapshot
from portal.db import db, get_or_404
from portal.extensions import limiter
from portal.navigation import NavItem
from portal.web import attempt, form_status, paginate
from selfservice.kb import queries, search, services
from selfservice.kb.forms import (
    AUDIENCE_LABELS,
    ArticleForm,
    CategoryForm,
    ConfirmForm,
    VoteForm,
)
from selfservice.kb.models import Article, ArticleCategory

bp = Blueprint("kb", __name__, url_prefix="/help")
NAVIGATION = [
    NavItem("kb.index", _l("Help centre"), "home.view", order=29, area="support"),
    NavItem("kb.manage", _l("Manage articles"), "articles.manage", ("vendor",), 32, "support"),
]


def voter_key() -> str:
    """Who votes: the signed-in person, or this browser's anonymous visitor id."""
    principal = g.get("principal")
    if principal is not None and principal.user_id:
        return f"user:{principal.user_id}"
    if "kb_visitor" not in session:
        session["kb_visitor"] = secrets.token_urlsafe(16)
    return f"visitor:{session['kb_visitor']}"


@bp.get("/")
def index():
    """Browse by category, the editors' featured articles and the most helpful ones first (the
    front page), or search (of one category)."""
    q = request.args.get("q", "").strip()[:200]
    category_id = request.args.get("category", type=int)
    # Through the wall: a category the reader may not see (an internal one) is not found.
    category = get_or_404(ArticleCategory, category_id) if category_id else None
    hits = search.search(q, limit=25, category_id=category_id) if q else []
    featured = queries.featured() if not (q or category_id) else []
    return render_template(
        "selfservice/kb/index.html",
        q=q,
        hits=hits,
        page=None if q else paginate(queries.articles_by_title(category_id), per_page=30),
        featured=featured,
        helpful=[] if q else queries.most_helpful(5, category_id, besides=featured),
        categories=queries.categories_with_counts(),
        category=category,
        category_id=category_id,
    )


@bp.get("/suggest")
@limiter.limit("120 per minute")
def suggest():
    """An HTML fragment of the best matching articles, for the new-case form's script."""
    q = request.args.get("q", "").strip()[:200]
    hits = search.search(q, limit=5) if len(q) >= 3 else []
    return render_template("selfservice/kb/_suggestions.html", hits=hits, q=q)


@bp.get("/articles/<int:article_id>")
def article(article_id: int):
    art = get_or_404(Article, article_id)
    return render_template(
        "selfservice/kb/article.html",
        article=art,
        vote_form=VoteForm(formdata=None),
        confirm=ConfirmForm(subject=request.args.get("subject", "")[:200]),
        tally=queries.tally(art.id),
        from_case=request.args.get("from") == "case",
        subject=request.args.get("subject", "")[:200],
        comments=services.comments_for_author(art)
        if g.get("principal") and g.principal.is_vendor_staff
        else [],
    )


@bp.post("/articles/<int:article_id>/viewed")
@limiter.limit("60 per minute")
def viewed(article_id: int):
    """A read, counted by the article page's script (GET pages never write)."""
    art = get_or_404(Article, article_id)
    if ConfirmForm().validate_on_submit():
        services.record_event(art.id, "view", voter=voter_key())
        db.session.commit()
    return "", 204


@bp.post("/articles/<int:article_id>/vote")
@limiter.limit("30 per minute")
def vote(article_id: int):
    art = get_or_404(Article, article_id)
    form = VoteForm()
    if form.validate_on_submit():
        principal = g.get("principal")
        services.vote(
            art,
            helpful=form.helpful.data == "yes",
            comment=form.comment.data,
            voter=voter_key(),
            user_id=principal.user_id if principal else None,
        )
        db.session.commit()
        counted = queries.tally(art.id)
        flash(
            _("Thank you for your feedback.")
            + " "
            + ngettext(
                "%(helpful)d of %(num)d reader found this helpful.",
                "%(helpful)d of %(num)d readers found this helpful.",
                counted.votes,
                helpful=counted.helpful,
            ),
            "success",
        )
    else:
        flash(_("Say whether the article helped."), "warning")
    return redirect(url_for("kb.article", article_id=art.id))


@bp.post("/articles/<int:article_id>/solved")
@limiter.limit("30 per minute")  # a visitor who drops the cookie is a new reader each time
def solved(article_id: int):
    """The reader came from a case they were typing and this article solved it: a case avoided."""
    art = get_or_404(Article, article_id)
    if ConfirmForm().validate_on_submit():
        services.record_case_avoided(art.id, voter=voter_key())
        db.session.commit()
        flash(_("Glad it helped. No case needed."), "success")
    return redirect(url_for("kb.article", article_id=art.id))


# Support staff: writing and the report.


def _article_form(obj=None) -> ArticleForm:
    form = ArticleForm(obj=obj)
    form.category_id.choices = [(0, "—")] + [(c.id, c.name) for c in queries.categories()]
    return form


@bp.get("/manage")
@access.require("articles.manage")
def manage():
    return render_template(
        "selfservice/kb/manage.html",
        page=paginate(queries.articles_recently_updated()),
        audiences=AUDIENCE_LABELS,
    )


@bp.route("/manage/new", methods=["GET", "POST"])
@access.require("articles.manage")
def new():
    form = _article_form()
    if form.validate_on_submit():
        with attempt(form) as done:
            art = services.create_article(_fields(form), actor=g.principal)
        if done:
            flash(_("The article is saved."), "success")
            return redirect(url_for("kb.article", article_id=art.id))
    return render_template("selfservice/kb/form.html", form=form, article=None), form_status(form)


def _fields(form: ArticleForm) -> dict:
    return {
        "title": form.title.data,
        "body": form.body.data,
        "audience": form.audience.data,
        "status": form.status.data,
        "category_id": form.category_id.data or None,
        "promoted": form.promoted.data,
    }


@bp.route("/manage/<int:article_id>/edit", methods=["GET", "POST"])
@access.require("articles.manage")
def edit(article_id: int):
    art = get_or_404(Article, article_id)
    form = _article_form(obj=art)
    conflict = None
    if request.method == "GET":
        form.category_id.data = art.category_id or 0
        form.snapshot.data = snapshot(art, services.EDITABLE_FIELDS)
    elif form.validate_on_submit():
        with attempt(form) as done:
            services.update_article(art, _fields(form), seen=form.snapshot.data, actor=g.principal)
        if done:
            flash(_("The article is saved."), "success")
            return redirect(url_for("kb.article", article_id=art.id))
        if isinstance(done.error, EditConflict):
            conflict = done.error
            form.snapshot.data = snapshot(art, services.EDITABLE_FIELDS)
    status = 409 if conflict else form_status(form)
    return render_template(
        "selfservice/kb/form.html", form=form, article=art, conflict=conflict
    ), status


@bp.route("/manage/categories", methods=["GET", "POST"])
@access.require("articles.manage")
def categories():
    form = CategoryForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.create_category(form.name.data, form.description.data, actor=g.principal)
        if done:
            flash(_("The category is added."), "success")
            return redirect(url_for("kb.categories"))
    return render_template(
        "selfservice/kb/categories.html", form=form, categories=queries.categories()
    ), form_status(form)


@bp.get("/report")
@access.require("articles.manage")
def report():
    return render_template("selfservice/kb/report.html", rows=services.report())
