"""Files people upload (a case reply's attachments, a claim's proof of performance, a
certification's evidence, a supplier's offer): size, count and type limits, names made safe,
content checked against its claimed type (a file's first bytes, not its name or the browser's
word). One set of rules for every package that takes files."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass

from flask import Response, current_app, request, send_file
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from portal.errors import InvalidInput

# extension -> (content type, the first bytes it must start with; None: text)
TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "zip": ("application/zip", (b"PK\x03\x04", b"PK\x05\x06")),
    "txt": ("text/plain", None),
    "log": ("text/plain", None),
    "csv": ("text/csv", None),
}
MAX_FILES = 5
# What a person uploaded may run nothing and load nothing, even if a browser opened it in place
# (a view serving a download passes it to Talisman).
DOWNLOAD_POLICY = {"default-src": "'none'", "sandbox": ""}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def max_bytes() -> int:
    return int(current_app.config.get("CASES_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def sent_files(field: str = "files") -> list[tuple[str, bytes]]:
    """The files the request's form sent in ``field`` (one past the most allowed: enough to say
    there are too many), each read up to one byte past the limit (enough to say it is too large
    without holding more)."""
    limit = max_bytes()
    sent = [f for f in request.files.getlist(field) if f and (f.filename or "")]
    return [(f.filename or "", f.stream.read(limit + 1)) for f in sent[: MAX_FILES + 1]]


def sent_file(field: str) -> tuple[str, bytes] | None:
    """The one file the form sent in ``field`` (read as ``sent_files`` reads each), or None."""
    files = sent_files(field)
    return files[0] if files else None


def safe_name(name: str) -> str:
    """A name safe on any disk and in any header: no paths, no control characters, short. The
    extension is taken apart first, so a name in another script (``файл.pdf``, which
    ``secure_filename`` reduces to ``pdf``) keeps it: ``attachment.pdf``."""
    base = os.path.basename((name or "").replace("\\", "/"))
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = secure_filename(ext).replace("_", "")[:10]
    stem = secure_filename(stem)[:100] or "attachment"
    return f"{stem}.{ext}" if ext else stem


def check_files(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    """Raise InvalidInput (field ``files``) naming the first file that breaks a rule."""
    files = [(name, data) for name, data in files if name or data]
    if len(files) > MAX_FILES:
        raise InvalidInput(_("Attach at most %(n)d files.", n=MAX_FILES), field="files")
    limit = max_bytes()
    checked = []
    for name, data in files:
        filename = safe_name(name)
        ext = filename.rpartition(".")[2].lower() if "." in filename else ""
        if ext not in TYPES:
            raise InvalidInput(
                _(
                    "%(name)s: this type of file is not accepted (use %(types)s).",
                    name=filename,
                    types=", ".join(sorted(TYPES)),
                ),
                field="files",
            )
        if not data:
            raise InvalidInput(_("%(name)s is empty.", name=filename), field="files")
        if len(data) > limit:
            raise InvalidInput(
                _(
                    "%(name)s is larger than %(mb).0f MB.",
                    name=filename,
                    mb=limit / 1024 / 1024,
                ),
                field="files",
            )
        content_type, magic = TYPES[ext]
        if magic is None:
            if b"\x00" in data[:8192]:
                raise InvalidInput(_("%(name)s is not a text file.", name=filename), field="files")
        elif not data.startswith(magic):
            raise InvalidInput(
                _("%(name)s is not the kind of file its name says.", name=filename),
                field="files",
            )
        checked.append(CheckedFile(filename, content_type, data))
    return checked


def download(content: bytes, filename: str) -> Response:
    """An uploaded file as a download, never shown inline: the browser must not render what a
    person uploaded."""
    response = send_file(
        io.BytesIO(content),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
