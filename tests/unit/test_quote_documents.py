"""The quote PDF's URL fetcher serves the shipped fonts and nothing else, however a URL spells
its way out of the fonts folder; the stylesheet naming them is parsed once per thread."""

import io
import threading

import pytest

from partners.quotes import documents

FONTS = documents.FONTS.as_uri()


def test_the_fetcher_serves_a_shipped_font():
    response = documents._fonts_only().fetch(f"{FONTS}/DejaVuSans.ttf")
    assert response.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    response.close()


@pytest.mark.parametrize(
    "url",
    [
        f"{FONTS}/%2e%2e/documents.py",
        f"{FONTS}/%2E%2E/%2E%2E/quotes/documents.py",
        f"{FONTS}/../documents.py",
        f"{FONTS}/x%2f..%2f..%2fdocuments.py",
        f"{FONTS}-elsewhere/DejaVuSans.ttf",
        f"{FONTS}/",
        "file:///etc/passwd",
        "file://evil.test" + documents.FONTS.as_posix() + "/DejaVuSans.ttf",
        "https://fonts.example/DejaVuSans.ttf",
    ],
)
def test_the_fetcher_refuses_anything_outside_the_fonts_folder(url):
    with pytest.raises(ValueError, match="fetches nothing"):
        documents._fonts_only().fetch(url)


def _fonts_of(pdf: bytes) -> set[str]:
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return {str(font["/BaseFont"]).split("+")[-1] for font in page["/Resources"]["/Font"].values()}


def test_the_stylesheet_is_parsed_once_per_thread_and_every_render_has_its_fonts():
    html = "<p>Quote <b>total</b></p>"
    first, again = documents.render_pdf(html), documents.render_pdf(html)
    stylesheet = documents._stylesheet()
    assert documents._stylesheet() is stylesheet
    elsewhere = {}

    def render_in_another_thread():
        elsewhere["pdf"] = documents.render_pdf(html)
        elsewhere["stylesheet"] = documents._stylesheet()

    thread = threading.Thread(target=render_in_another_thread)
    thread.start()
    thread.join()
    assert elsewhere["stylesheet"] is not stylesheet
    for pdf in (first, again, elsewhere["pdf"]):
        assert _fonts_of(pdf) == {"Portal-Sans", "Portal-Sans-Bold"}
