"""Formatting every page may use, registered as template filters by ``create_app``: money in a
currency's minor unit, and markdown as safe HTML.

Money is ``Decimal`` throughout; rounding is half up to the currency's minor unit (ISO 4217).
Markdown is CommonMark (with tables) and raw HTML off: tags a writer types are shown as text,
never interpreted; markdown-it's link validation refuses javascript:, vbscript:, file: and data:
URLs; and nh3 (Ammonia) then keeps only harmless tags and http, https and mailto links.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# ISO 4217 minor units where they are not 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
MARKDOWN_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for EUR, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency.upper(), 2))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def money(amount, currency: str) -> str:
    """An amount with thousands separators and the currency's minor unit (1,234.50; ¥ 1,235)."""
    if amount is None:
        return ""
    value = round_money(Decimal(amount), currency)
    places = max(0, -value.as_tuple().exponent)
    return f"{value:,.{places}f}"


def markdown(text: str | None) -> Markup:
    """Markdown people write (proposal sections, case descriptions, replies, articles) as safe
    HTML: no scripts, no event handlers, no images, no javascript: links."""
    clean = nh3.clean(
        _markdown.render(text or ""),
        tags=MARKDOWN_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - html off, then sanitised by nh3


FILTERS = {"money": money, "markdown": markdown}
