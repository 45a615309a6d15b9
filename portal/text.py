"""Values people type, as stored and as sent: one place for every feature.

``clean_text`` keeps text as typed (line breaks too) without what databases refuse;
``one_line`` makes a line of it (a subject, a title, an email header): every run of whitespace,
line breaks and Unicode line separators included, becomes one space, and it is capped.
"""

from __future__ import annotations

ELLIPSIS = "…"


def clean_text(value, limit: int | None = None) -> str:
    """Text as stored: no NUL characters (PostgreSQL refuses them), no surrounding blanks, at
    most ``limit`` characters."""
    text = ("" if value is None else str(value)).replace("\x00", "").strip()
    return text if limit is None else text[:limit]


def one_line(value, limit: int | None = None) -> str:
    """``value`` on one line (an email subject cannot carry a line break: the mail library
    refuses the header), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(("" if value is None else str(value)).replace("\x00", "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return text
