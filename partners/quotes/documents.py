"""The quote as a document: sanitised markdown of the proposal sections, and the PDF.

The PDF is rendered by WeasyPrint from ``templates/partners/quotes/pdf.html`` and the stylesheet
``partners/quotes/pdf.css``, with the fonts shipped in ``partners/quotes/fonts`` (DejaVu,
Bitstream Vera licence). Nothing is fetched from the network: the URL fetcher serves only files
under that folder.

The stylesheet is the same for every quote, so it is parsed, and the fonts it names are loaded,
once per thread of a process, not per render: the first render of a sent quote was 1.37 times a
bare WeasyPrint render of the same HTML, mostly for that work (tests/perf/bench_quotes.py). Per
thread, because a WeasyPrint font configuration is not meant to be shared by renders running
at the same time.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import render_template
from flask_babel import force_locale

from portal import i18n, people
from portal.formatting import markdown

FONTS = Path(__file__).parent / "fonts"
STYLESHEET = Path(__file__).parent / "pdf.css"
_per_thread = threading.local()
# A font configuration removes its folder of fonts when it is deleted; at the interpreter's exit
# the function it does that with may be gone already, so the main thread's is dropped before.
atexit.register(_per_thread.__dict__.clear)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def font_file(url: str) -> Path:
    """The file under ``FONTS`` that ``url`` names, or ValueError. The path is decoded and
    resolved first (``%2e%2e``, ``..``, symbolic links), so no spelling of a URL reaches out."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise ValueError(f"the quote PDF fetches nothing but its font files: {url}")
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(FONTS.resolve()) or not path.is_file():
        raise ValueError(f"the quote PDF fetches nothing outside its fonts: {url}")
    return path


def _fonts_only():
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            return super().fetch(font_file(url).as_uri(), headers)

    return FontsOnly(allowed_protocols=("file",), allow_redirects=False)


def html_of(quote, *, draft: bool) -> str:
    """The PDF's HTML, in its readers' language (``language_of``), whoever renders it."""
    from partners.quotes import queries

    with force_locale(language_of(quote)):
        return render_template(
            "partners/quotes/pdf.html",
            quote=quote,
            lines=quote.lines,
            vendor=queries.vendor(),
            draft=draft,
            markdown=markdown,
        )


def language_of(quote) -> str:
    """The language of the people who receive the quote (those of the recipient organisation
    who may read quotes) when they all read one, else ``DEFAULT_LOCALE``: one document serves
    them all, and its fingerprint is what an acceptance signs."""
    readers = people.who_may("quotes.view", quote.org_id)
    languages = set(i18n.locales_of(p.id for p in readers).values())
    return languages.pop() if len(languages) == 1 else i18n.default_locale()


def _stylesheet():
    """This thread's parsed stylesheet and the font configuration holding its fonts."""
    if not hasattr(_per_thread, "stylesheet"):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        _per_thread.stylesheet = (
            CSS(
                string=STYLESHEET.read_text(encoding="utf-8"),
                base_url=FONTS.as_uri() + "/",
                url_fetcher=_fonts_only(),
                font_config=fonts,
            ),
            fonts,
        )
    return _per_thread.stylesheet


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    document = HTML(string=html, base_url=FONTS.as_uri() + "/", url_fetcher=_fonts_only())
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def quote_pdf(quote, *, draft: bool) -> bytes:
    """Render the quote (a DRAFT preview when ``draft``)."""
    return render_pdf(html_of(quote, draft=draft))
