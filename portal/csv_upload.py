"""CSV files people upload (leads, the catalogue): read within a size limit, decoded as UTF-8 (the
byte-order mark Excel writes is allowed), and read as RFC 4180 (Excel's quoting: a quote inside a
quoted field is doubled) with the delimiter taken from the header line: a comma, a semicolon
(Excel's choice where the comma is the decimal mark) or a tab. Each way a file is refused has one
message, whichever page it was uploaded to."""

from __future__ import annotations

import csv

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from portal.errors import InvalidInput


def read_text(upload: FileStorage, max_bytes: int) -> str:
    """The uploaded file's text, or InvalidInput (field ``file``) saying what to do about it."""
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInput(
            _("The file is larger than %(n)d MB.", n=max(1, max_bytes // 2**20)), field="file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            _(
                "The file is not UTF-8 text (byte %(at)d). Save it as “CSV UTF-8” and try again.",
                at=exc.start,
            ),
            field="file",
        ) from None


DELIMITERS = ",;\t"


# Excel's dialect (RFC 4180: doubled quotes) with each delimiter.
_DIALECTS = {d: type("Excel", (csv.excel,), {"delimiter": d}) for d in DELIMITERS}


def dialect_of(text: str) -> type[csv.Dialect]:
    """The file's CSV dialect: Excel's (RFC 4180) with the delimiter of its header line (a comma
    if unclear). Only the delimiter is sniffed: the sniffer, given one line, also guesses the
    quoting and may turn off doubled quotes, which kept a field's closing doubled quote as two
    quotes and split a quoted field holding a doubled quote and a comma."""
    header = text[:65536].split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    return _DIALECTS.get(delimiter, _DIALECTS[","])
