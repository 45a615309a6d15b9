"""Languages: which one a page, an email or a document is in, the catalogue, and the switch.

The portal speaks English (the source strings) and German (``translations/de``). A page's
language is the signed-in person's choice (``users.locale``), else the one a visitor chose with
the switch (a cookie), else the browser's ``Accept-Language``, else ``DEFAULT_LOCALE``. Emails
and quote PDFs are in their recipient's language, whoever causes them (``force_locale``).

The catalogue's source is the ``.po`` file; the ``.mo`` flask-babel reads is compiled from it
when the app starts, whenever it is missing or older than the ``.po`` (a fresh clone, a
translation just edited), so no build step can be forgotten and no stale binary committed.
``make translations`` extracts the marked strings again and updates the ``.po`` files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import config as portal_config
from portal.db import db, read_across
from portal.errors import InvalidInput
from portal.web import safe_next_url

log = logging.getLogger(__name__)

TRANSLATIONS = portal_config.PROJECT_ROOT / "translations"
DOMAIN = "messages"
# The languages offered, each named in itself (the switch shows the name a reader of that
# language recognises, whatever the page's language).
LANGUAGES = {"en": "English", "de": "Deutsch"}
COOKIE = "portal_locale"
COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    """Point flask-babel at the catalogue (compiled first if needed) and add the switch. Called
    before ``babel.init_app``, which reads ``BABEL_TRANSLATION_DIRECTORIES``."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    for directory in app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"):
        compile_catalogues(Path(directory))
    app.register_blueprint(bp)
    app.context_processor(_template_globals)
    app.before_request(_choose_language_now)
    app.after_request(_vary_on_language)


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``<lang>/LC_MESSAGES/messages.po`` under ``directory`` whose ``.mo`` is
    missing or older; returns the ``.mo`` files written. Fuzzy entries are left out, as
    ``pybabel compile`` does. Written to a temporary file and renamed, so workers starting at
    once never read half a file; a read-only install keeps the ``.mo`` it has (logged)."""
    written = []
    for po_path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            handle, tmp_name = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
            with os.fdopen(handle, "wb") as tmp:
                write_mo(tmp, catalog, use_fuzzy=False)
            os.chmod(tmp_name, 0o644)  # readable by the app's user, as a .po checked out is
            os.replace(tmp_name, mo_path)
        except OSError as exc:
            log.warning("could not compile %s (%s): serving the .mo there is, if any", po_path, exc)
            continue
        written.append(mo_path)
    return written


def supported(locale: str | None) -> str | None:
    """``locale`` if the portal speaks it (``de``, ``de_AT`` → ``de``), else None."""
    language = (locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else None


def select_locale() -> str | None:
    """flask-babel's locale selector: the person's choice, the visitor's cookie, the browser's
    ``Accept-Language``; None (``DEFAULT_LOCALE``) outside a request and when none matches."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        chosen = supported(getattr(current_user, "locale", None))
        if chosen:
            return chosen
    chosen = supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES))


def current_language() -> str:
    """The language texts are being written in now (the reader's, or the one forced)."""
    locale = get_locale()
    return str(locale) if locale is not None else default_locale()


def default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"


def locale_of(user) -> str:
    """The language to write to ``user`` in (their choice, else the default)."""
    return supported(getattr(user, "locale", None)) or default_locale()


def locales_of(user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's language, for mail written to people in any organisation: one read past the
    wall (``read_across``) of the recipients' own setting, plain values back."""
    from portal.identity.models import User

    ids = sorted(set(user_ids))
    if not ids:
        return {}
    with read_across() as reader:
        rows = reader.execute(select(User.id, User.locale).where(User.id.in_(ids))).all()
    chosen = {user_id: supported(locale) for user_id, locale in rows}
    return {user_id: chosen.get(user_id) or default_locale() for user_id in ids}


@contextmanager
def writing_to(user=None) -> Iterator[str]:
    """Text translated inside is in ``user``'s language (a ``User``, or a ``portal.people.Person``
    whose setting is read), whoever's request or job writes it: an email built eagerly with
    ``_()``. Without ``user`` (an invitation to an address with no account yet) the page's
    language: the inviter presumably writes to the invitee in the language they share. Yields
    the language."""
    if user is None:
        page = get_locale()
        language = supported(str(page)) if page is not None else None
        language = language or default_locale()
    elif hasattr(user, "locale"):
        language = locale_of(user)
    else:
        language = locales_of([user.id])[user.id]
    with force_locale(language):
        yield language


def set_locale(user, locale: str) -> None:
    """Store ``user``'s language (one of ``LANGUAGES``); the caller commits.

    One column written by its own UPDATE, outside the row's optimistic locking: a preference
    of the person alone, which conflicts with nothing else written to the row (the browser's
    time zone, sent at the same moment by the first page after sign-in, would otherwise make
    one of the two fail as a stale write)."""
    from portal.identity.models import User

    chosen = supported(locale)
    if chosen is None or chosen != locale:
        raise InvalidInput(_("Unknown language."), field="locale")
    db.session.execute(
        update(User).where(User.id == user.id).values(locale=chosen),
        execution_options={"synchronize_session": False},
    )
    set_committed_value(user, "locale", chosen)  # the loaded person, without a second write


@bp.post("/language")
def choose():
    """The language switch in the account menu: stored on the signed-in person, in a cookie for
    a visitor (and for the person too, so the sign-in page after signing out stays in it). Back
    to the page it was chosen on."""
    locale = request.form.get("locale", "")
    back = safe_next_url(request.form.get("next")) or "/"
    if supported(locale) != locale:
        return redirect(back)
    if current_user.is_authenticated:
        set_locale(current_user, locale)
        db.session.commit()
    response = redirect(back)
    response.set_cookie(
        COOKIE,
        locale,
        max_age=COOKIE_MAX_AGE,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response


def _choose_language_now() -> None:
    """Settle the request's language at its start (flask-babel keeps it for the request): the
    first ``_()`` may come after a failed flush (a conflict's message), when reading the
    person's setting from the database would fail with the session awaiting its rollback."""
    get_locale()


def _vary_on_language(response):
    """A page's language follows these request headers: no cache may serve one reader's to
    another."""
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


class Texts:
    """A template's constant texts (lazy strings by name), translated once per language and
    kept: the layout would otherwise ask flask-babel for each of them on every page (some 90
    Python calls a text). Calling it gives ``{name: text}`` in the current language."""

    def __init__(self, **texts) -> None:
        self._texts = texts
        self._by_language: dict[str, dict[str, str]] = {}

    def __call__(self) -> dict[str, str]:
        language = current_language()
        found = self._by_language.get(language)
        if found is None:
            found = self._by_language[language] = {k: str(v) for k, v in self._texts.items()}
        return found


def _template_globals() -> dict:
    locale = get_locale()
    return {
        "page_language": locale.language if locale else default_locale(),
        "languages": LANGUAGES,
    }
