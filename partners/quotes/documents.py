"""The quote as a document: sanitised markdown of the proposal sections, and the PDF.

The PDF is rendered by WeasyPrint from ``templates/partners/quotes/pdf.html`` with the fonts
shipped in ``partners/quotes/fonts`` (DejaVu, Bitstream Vera licence). Nothing is fetched from
the network: the URL fetcher serves only files under that folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import render_template

from portal.formatting import markdown

FONTS = Path(__file__).parent / "fonts"


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
    from partners.quotes import queries

    return render_template(
        "partners/quotes/pdf.html",
        quote=quote,
        lines=quote.lines,
        vendor=queries.vendor(),
        draft=draft,
        fonts=FONTS.as_uri(),
        markdown=markdown,
    )


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=FONTS.as_uri() + "/", url_fetcher=_fonts_only()).write_pdf()


def quote_pdf(quote, *, draft: bool) -> bytes:
    """Render the quote (a DRAFT preview when ``draft``)."""
    return render_pdf(html_of(quote, draft=draft))
