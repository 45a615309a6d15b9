"""Static checks of the code's shape, read from the source (nothing is imported or run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "partners", "selfservice", "feedback")
# Translation aliases (``gettext as _``) are imported as ``_`` / ``_l``, not private helpers.
ALIASES = {"_", "_l"}
# Known exceptions, (file, imported name). Each must say why and go when the import does.
ALLOWED: set[tuple[str, str]] = set()


def private_imports_in(source: str, relative: str) -> list[str]:
    """``file:line: import`` for each name with one leading underscore that ``source`` imports
    from another module."""
    found = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            name = alias.name
            private = name.startswith("_") and not name.startswith("__")
            if private and name not in ALIASES and (relative, name) not in ALLOWED:
                module = "." * node.level + (node.module or "")
                found.append(f"{relative}:{node.lineno}: from {module} import {name}")
    return found


def _private_imports() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found += private_imports_in(path.read_text(encoding="utf-8"), relative)
    return found


def test_no_module_imports_another_modules_private_helpers():
    found = _private_imports()
    assert not found, (
        "These imports reach into another module's _private helpers; make the helper public "
        "(no leading underscore) or move it where it belongs:\n" + "\n".join(found)
    )


def test_the_check_sees_a_private_import_and_not_a_translation_alias():
    source = (
        "from flask_babel import gettext as _\n"
        "from flask_babel import lazy_gettext as _l\n"
        "from a.b import __version__, helper, _helper\n"
    )
    assert private_imports_in(source, "x.py") == ["x.py:3: from a.b import _helper"]


def test_every_migration_revision_fits_alembic_version():
    """Alembic records the revision in ``alembic_version.version_num``, a VARCHAR(32): on
    PostgreSQL a longer one fails the upgrade after the migration's work is done (SQLite does
    not check the length). Read from the migrations' source."""
    revisions = [
        (path.name, node.value.value)
        for path in sorted((ROOT / "migrations" / "versions").glob("*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["revision"]
    ]
    assert len(revisions) > 40  # every migration was read
    assert [f"{name}: {rev}" for name, rev in revisions if len(rev) > 32] == []
