"""Small helpers every HTML view uses: domain errors onto forms, safe redirects, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import flash, request
from sqlalchemy import Select, func, select
from wtforms.fields.choices import SelectChoice

from portal import access
from portal.concurrency import EditConflict
from portal.db import db
from portal.errors import DomainError, Forbidden


class attempt:  # noqa: N801 - used as a statement: ``with attempt(form) as done:``
    """Run one use case of a request: commit once if it succeeds; if it raises a DomainError,
    roll back (nothing half-written) and show the message on ``form`` (or flash it). The
    context value is true afterwards only if the use case succeeded."""

    def __init__(self, form=None) -> None:
        self.form = form
        self.succeeded = False
        self.error: DomainError | None = None  # what stopped it, for pages that show more

    def __bool__(self) -> bool:
        return self.succeeded

    def __enter__(self) -> attempt:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            db.session.commit()
            self.succeeded = True
            return False
        if not isinstance(error, DomainError) or isinstance(error, Forbidden):
            return False  # a bug or a refusal: let the error handlers answer
        db.session.rollback()
        self.error = error
        if isinstance(error, EditConflict):
            pass  # the page shows what changed (templates/_macros/conflict.html)
        elif self.form is not None:
            show_domain_error(self.form, error)
        else:
            flash(error.message, "danger")
        return True


def show_domain_error(form, error: DomainError) -> None:
    """Attach a service's error to the field it names, or to the form as a whole."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def choices(pairs) -> list[SelectChoice]:
    """Options of a select field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def role_choices(org_kind: str, blank: bool = False) -> list[SelectChoice]:
    """The roles a user of an organisation of this kind may hold, as select options."""
    pairs = [(r.name, r.label) for r in access.roles_for(org_kind)]
    return choices([("", "—")] * blank + pairs)


def form_status(form) -> int:
    """422 for a form sent back with errors, so clients and tests can tell it from a first view."""
    return 422 if form.errors or form.form_errors else 200


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect after sign-in is a phishing tool."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(stmt: Select, per_page: int = 25) -> Page:
    """One page of ``stmt`` (already ordered), by the ``page`` query argument."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, page, per_page, total)
