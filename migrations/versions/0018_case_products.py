"""cases refer to a product line or a catalogue product

cases.product_line: nullable, a code of portal.product_lines, indexed (CSAT and cases are grouped
by it). cases.product_id: nullable, a foreign key to products (SET NULL when the product row
goes, the line stays), indexed. When a case names a catalogue product, its line is copied beside
it, so grouping by line reads one column.

Existing cases are mapped from their free text (``cases.product``), compared trimmed and without
regard to case: a product's SKU, else the name of exactly one product (names are not unique)
gives ``product_id`` and that product's line; else a line's code or English label gives
``product_line``. Text that names neither ("Billing", "") maps to nothing. ``cases.product``
stays, unchanged: it is the requester's own words (a model, a version), and what these cases
said before; the downgrade therefore loses nothing of it, and writes the product's SKU (or the
line's code) into the text of cases whose text is empty, so a case chosen after the upgrade
still says what it is about.

On SQLite neither direction rebuilds ``cases``: a rebuild drops the FTS5 triggers of 0016 that
keep ``cases_fts`` in step, and its DROP's implicit DELETE would run the ON DELETE actions of
every table that references cases. The columns are added plain and the foreign key is written
into the stored table definition as a table constraint (as 0014 did for organizations); the
downgrade takes it out the same way before dropping the columns.

Row-level security: the cases policies (0006) read org_id, requester_id and the watchers only,
so the new columns change nothing there. The mapping's UPDATE runs with the wall's scope set to
'all' for its statements (cases are under FORCE ROW LEVEL SECURITY: a migrating role that is the
tables' owner but no superuser would otherwise update no row).

Revision ID: 0018_case_products
Revises: 0017_article_promoted
Create Date: 2026-12-03 05:20:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0018_case_products"
down_revision = "0017_article_promoted"
branch_labels = None
depends_on = None

FK = "fk_cases_product_id_products"
INDEXES = {"ix_cases_product_line": "product_line", "ix_cases_product_id": "product_id"}
FOREIGN_KEY = ("cases", "product_id", "products")
# portal.product_lines when this revision was written: code -> English label.
LINES = {
    "networking": "Networking",
    "security": "Security",
    "cloud": "Cloud",
    "collaboration": "Collaboration",
    "storage": "Storage",
    "services": "Services",
}


def _line_code(text: str | None) -> str | None:
    """The line a text names by its code or label (any case), or None."""
    wanted = (text or "").strip().lower()
    for code, label in LINES.items():
        if wanted in (code, label.lower()):
            return code
    return None


def _mapping(bind) -> dict[str, tuple[int | None, str | None]]:
    """Each distinct free text of the cases -> (product id, line code) it names; texts that name
    nothing are left out. Compared in Python on the exact stored values, so the databases'
    different ideas of lower() (SQLite folds ASCII only) cannot make them disagree."""
    by_sku: dict[str, tuple[int, str | None]] = {}
    by_name: dict[str, list[tuple[int, str | None]]] = {}
    for product_id, sku, name, line in bind.execute(
        sa.text("SELECT id, sku, name, product_line FROM products ORDER BY id")
    ):
        found = (product_id, _line_code(line))
        by_sku[(sku or "").strip().lower()] = found
        by_name.setdefault((name or "").strip().lower(), []).append(found)
    mapping = {}
    for (text,) in bind.execute(
        sa.text("SELECT DISTINCT product FROM cases WHERE product IS NOT NULL AND product <> ''")
    ):
        key = text.strip().lower()
        if key in by_sku:
            mapping[text] = by_sku[key]
        elif len(by_name.get(key, ())) == 1:
            mapping[text] = by_name[key][0]
        elif (line := _line_code(key)) is not None:
            mapping[text] = (None, line)
    return mapping


def _as_every_organisation(bind, statements) -> None:
    """Run ``statements(bind)`` past PostgreSQL's row-level security (scope 'all' for this
    transaction), then give the setting back as it was."""
    if bind.dialect.name != "postgresql":
        statements(bind)
        return
    before = bind.scalar(sa.text("SELECT current_setting('app.scope', true)"))
    bind.execute(sa.text("SELECT set_config('app.scope', 'all', true)"))
    try:
        statements(bind)
    finally:
        bind.execute(
            sa.text("SELECT set_config('app.scope', :before, true)"), {"before": before or ""}
        )


def _map_existing(bind) -> None:
    for text, (product_id, line) in _mapping(bind).items():
        bind.execute(
            sa.text("UPDATE cases SET product_id = :product_id, product_line = :line "
                    "WHERE product = :text"),
            {"product_id": product_id, "line": line, "text": text},
        )  # fmt: skip


def _name_in_text(bind) -> None:
    bind.execute(
        sa.text(
            "UPDATE cases SET product = (SELECT sku FROM products WHERE products.id = "
            "cases.product_id) WHERE product = '' AND product_id IS NOT NULL"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE cases SET product = product_line "
            "WHERE product = '' AND product_line IS NOT NULL"
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("cases", sa.Column("product_line", sa.String(length=60)))
    op.add_column("cases", sa.Column("product_id", sa.Integer()))
    add_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    for name, column in INDEXES.items():
        op.create_index(name, "cases", [column])
    _as_every_organisation(bind, _map_existing)


def downgrade() -> None:
    bind = op.get_bind()
    _as_every_organisation(bind, _name_in_text)
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
    drop_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    if bind.dialect.name == "sqlite":  # no rebuild (see add_foreign_key)
        op.execute("ALTER TABLE cases DROP COLUMN product_id")
        op.execute("ALTER TABLE cases DROP COLUMN product_line")
    else:
        op.drop_column("cases", "product_id")
        op.drop_column("cases", "product_line")
