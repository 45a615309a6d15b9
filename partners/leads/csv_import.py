"""Import leads from a CSV file: read it, check every row, show a preview, then insert every row
in one transaction, or none.

The flow is stateless, so any app host can serve either step: the upload is checked and the
preview page carries the file itself, compressed and signed (``seal`` / ``unseal``), in hidden
fields of a multipart form (each under the per-field form limit). Confirming checks the file again
(a duplicate may have arrived meanwhile) and inserts all rows with one statement per thousand,
plus one audit event per lead, in the request's single transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import insert, select

from partners.leads import services
from partners.leads.models import Lead, LeadStatus
from portal import csv_upload
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidInput
from portal.tenancy import Principal

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_SHOWN_ERRORS = 500
INSERT_BATCH = 1000
SEAL_MAX_AGE = 4 * 3600  # seconds a preview stays importable
SEAL_CHUNK = 256 * 1024  # characters per hidden field (Flask parses at most 500 kB per field)

# Column headers people use, normalised (lower case, "_" and "-" as spaces) -> field.
HEADERS = {
    "company": "company",
    "company name": "company",
    "organisation": "company",
    "organization": "company",
    "account": "company",
    "contact": "contact_name",
    "contact name": "contact_name",
    "name": "contact_name",
    "email": "email",
    "e mail": "email",
    "email address": "email",
    "phone": "phone",
    "telephone": "phone",
    "phone number": "phone",
    "country": "country",
    "country code": "country",
    "product line": "product_line",
    "product": "product_line",
    "notes": "notes",
    "note": "notes",
    "comments": "notes",
}
FIELDS = tuple(services.LEAD_FIELDS)


@dataclass
class RowError:
    line: int
    field: str
    message: str


@dataclass
class ImportCheck:
    """What a file holds: the rows ready to import (cleaned), and what is wrong, per row."""

    filename: str
    rows: list[dict] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    total: int = 0  # data rows read (blank lines not counted)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    @property
    def valid(self) -> int:
        return self.total - len(self.bad_lines)

    @property
    def percent_valid(self) -> float:
        return 100.0 * self.valid / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.errors and self.total > 0

    @property
    def shown_errors(self) -> list[RowError]:
        return self.errors[:MAX_SHOWN_ERRORS]


def _header_key(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def check_csv(text: str, filename: str = "leads.csv") -> ImportCheck:
    """Read and check every row of a CSV text (header row first). Nothing is written."""
    check = ImportCheck(filename=filename)
    if len(text) > MAX_BYTES:
        check.file_errors.append(_("The file is larger than %(n)d MB.", n=MAX_BYTES // 2**20))
        return check
    reader = csv.reader(io.StringIO(text, newline=""), csv_upload.dialect_of(text))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            check.file_errors.append(_("The file is empty: it needs a header row and leads."))
            return check
        columns: list[str | None] = []
        for cell in header:
            name = HEADERS.get(_header_key(cell))
            if name is None or name in columns:
                if cell.strip():
                    check.ignored_columns.append(cell.strip())
                name = None
            columns.append(name)
        missing = [f for f in services.REQUIRED_FIELDS if f not in columns]
        if missing:
            check.file_errors.append(
                _(
                    "The header row has no column for: %(missing)s. Columns it may have: "
                    "company, contact_name, email, phone, country, product_line, notes.",
                    missing=", ".join(missing),
                )
            )
            return check
        _check_rows(reader, columns, check)
    except csv.Error as exc:
        check.file_errors.append(
            _("Line %(line)d cannot be read: %(error)s", line=reader.line_num, error=str(exc))
        )
        return check
    if check.total == 0 and not check.file_errors:
        check.file_errors.append(_("The file has a header row but no leads."))
    _check_duplicates(check)
    return check


def _check_rows(reader, columns: list[str | None], check: ImportCheck) -> None:
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        check.total += 1
        if check.total > MAX_ROWS:
            check.file_errors.append(_("The file has more than %(n)d leads: split it.", n=MAX_ROWS))
            return
        extra = [c for c in cells[len(columns) :] if c.strip()]
        values = {name: cells[i] for i, name in enumerate(columns) if name and i < len(cells)}
        cleaned, errors = services.clean_lead_values(values)
        if extra:
            errors["file"] = _("This row has more cells than the header has columns.")
        for name, message in errors.items():
            check.errors.append(RowError(line, name, message))
        if not errors:
            check.rows.append(cleaned)
            check.row_lines.append(line)


def _check_duplicates(check: ImportCheck) -> None:
    """An email address twice in the file, or already on a lead, is an error on that row."""
    first_line: dict[str, int] = {}
    keep_rows, keep_lines = [], []
    for row, line in zip(check.rows, check.row_lines, strict=True):
        email = row.get("email", "").lower()
        if email and email in first_line:
            check.errors.append(
                RowError(
                    line,
                    "email",
                    _("%(email)s is also on line %(other)d.", email=email, other=first_line[email]),
                )
            )
            continue
        if email:
            first_line[email] = line
        keep_rows.append(row)
        keep_lines.append(line)
    emails = list(first_line)
    existing: dict[str, int] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for email, lead_id in db.session.execute(
            select(Lead.email, Lead.id).where(Lead.email.in_(chunk))
        ):
            existing.setdefault(email.lower(), lead_id)
    check.rows, check.row_lines = [], []
    for row, line in zip(keep_rows, keep_lines, strict=True):
        email = row.get("email", "").lower()
        if email in existing:
            check.errors.append(
                RowError(
                    line,
                    "email",
                    _("A lead with %(email)s exists (#%(id)d).", email=email, id=existing[email]),
                )
            )
            continue
        check.rows.append(row)
        check.row_lines.append(line)
    check.errors.sort(key=lambda e: e.line)


def import_leads(check: ImportCheck, *, actor: Principal, source: str = "import") -> list[int]:
    """Insert every row of a file that passed its check, and an audit event per lead; the ids of
    the new leads. Refuses (InvalidInput) a file with any error: nothing is half-imported."""
    services.require_vendor(actor, "leads.manage")
    if not check.ok:
        raise InvalidInput(_("Fix the errors in the file first: nothing was imported."))
    source = services.clean_text(source)[:60] or "import"
    now = utcnow()
    values = [
        {
            **{name: row.get(name, "") for name in FIELDS},
            "org_id": actor.org_id,
            "source": source,
            "status": LeadStatus.new.value,
            "created_at": now,
            "version": 1,
        }
        for row in check.rows
    ]
    session = db.session
    session.flush()
    ids: list[int] = []
    # Bulk INSERTs (the ORM's insertmanyvalues): the org is set explicitly above, because bulk
    # statements do not pass through the flush that stamps new rows. Vendor staff only.
    for start in range(0, len(values), INSERT_BATCH):
        ids += session.scalars(
            insert(Lead).returning(Lead.id, sort_by_parameter_order=True),
            values[start : start + INSERT_BATCH],
        ).all()
    events = [
        {
            "org_id": actor.org_id,
            "created_at": now,
            "actor_user_id": actor.user_id,
            "actor_org_id": actor.org_id,
            "action": "lead.imported",
            "object_type": "Lead",
            "object_id": lead_id,
            "before": None,
            "after": {"source": source, "file": check.filename[:200], "line": line},
            "ip_address": actor.ip_address,
        }
        for lead_id, line in zip(ids, check.row_lines, strict=True)
    ]
    for start in range(0, len(events), INSERT_BATCH):
        session.execute(insert(AuditEvent), events[start : start + INSERT_BATCH])
    return ids


# The file between preview and confirmation.


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lead-import")


def seal(text: str, filename: str, source: str) -> list[str]:
    """The file as signed, compressed pieces for hidden form fields."""
    token = _serializer().dumps({"csv": text, "name": filename, "source": source})
    return [token[i : i + SEAL_CHUNK] for i in range(0, len(token), SEAL_CHUNK)] or [""]


def unseal(pieces: list[str]) -> tuple[str, str, str]:
    """(text, filename, source) of sealed pieces; InvalidInput if tampered with or too old."""
    try:
        data = _serializer().loads("".join(pieces), max_age=SEAL_MAX_AGE)
    except SignatureExpired:
        raise InvalidInput(_("This preview is too old. Upload the file again.")) from None
    except BadSignature:
        raise InvalidInput(_("This preview cannot be read. Upload the file again.")) from None
    return data["csv"], data["name"], data["source"]
