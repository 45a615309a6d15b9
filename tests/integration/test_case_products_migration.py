"""0018 on a support desk whose cases name their product in free text, on a scratch database of
its own: the text that matches a catalogue product's SKU or name (trimmed, any case) becomes that
product and its line, a line's code or label becomes the line, anything else stays text only;
the text itself is kept. Neither direction rebuilds ``cases`` on SQLite (the full-text index's
triggers and the rows stay), and the way back leaves every case saying what it is about."""

from __future__ import annotations

from sqlalchemy import inspect, text

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0017_article_promoted"
THIS = "0018_case_products"


def _org(conn) -> int:
    return conn.scalar(
        text(
            "INSERT INTO organizations (name, kind, active, created_at, version) "
            "VALUES ('Customer plc', 'customer', true, CURRENT_TIMESTAMP, 1) RETURNING id"
        )
    )


def _product(conn, sku: str, name: str, line: str) -> int:
    return conn.scalar(
        text(
            "INSERT INTO products (sku, name, description, unit, list_price, currency, "
            "tax_rate_percent, product_line, active, version) VALUES (:sku, :name, '', 'unit', "
            "100, 'EUR', 20, :line, true, 1) RETURNING id"
        ),
        {"sku": sku, "name": name, "line": line},
    )


def _case(conn, org_id: int, subject: str, product: str, **new) -> int:
    columns = "".join(f", {c}" for c in new)
    values = "".join(f", :{c}" for c in new)
    return conn.scalar(
        text(
            "INSERT INTO cases (number, subject, description, product, category, priority, "
            f"status, created_at, updated_at, status_changed_at, org_id{columns}) VALUES "
            "(:number, :subject, '', :product, '', 'normal', 'open', CURRENT_TIMESTAMP, "
            f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :org_id{values}) RETURNING id"
        ),
        {"number": f"CS-{subject[:12]}", "subject": subject, "product": product,
         "org_id": org_id, **new},
    )  # fmt: skip


def _cases(conn) -> dict[int, tuple]:
    return {
        row[0]: tuple(row[1:])
        for row in conn.execute(text("SELECT id, product, product_id, product_line FROM cases"))
    }


def _texts(conn) -> dict[int, str]:
    return dict(conn.execute(text("SELECT id, product FROM cases")).all())


def _found(conn, word: str) -> set[int]:
    """The cases the portal-wide search index finds by ``word`` (0016)."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT id FROM cases WHERE search_vector @@ to_tsquery('english', :q)"
    else:
        sql = "SELECT rowid FROM cases_fts WHERE cases_fts MATCH :q"
    return set(conn.scalars(text(sql), {"q": word}))


PRODUCT_COLUMNS = {"product_line", "product_id"}


def _about_case_products(difference) -> bool:
    """Whether one of ``migrate.differences`` concerns the columns this revision adds (later
    revisions add other indexes to cases, and may be half written while this one is tested)."""
    first = difference[0] if isinstance(difference, list) else difference
    names = set()
    for part in first[1:]:
        names.add(part if isinstance(part, str) else getattr(part, "name", None))
        names.update(getattr(c, "name", None) for c in getattr(part, "columns", ()))
    return bool(names & PRODUCT_COLUMNS)


def test_0018_maps_free_text_to_products_and_lines_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            org = _org(conn)
            firewall = _product(conn, "SEC-FW-200", "Firewall appliance 200", "security")
            switch = _product(conn, "NW-CORE-48", "Core switch, 48 ports", "networking")
            access_point = _product(conn, "NW-AP7", "Wi-Fi 7 access point", "Networking")
            cable = _product(conn, "MISC-1", "Cable kit", "")  # no line of the portal's list
            _product(conn, "LIC-A", "Licence pack", "security")  # two products, one name:
            _product(conn, "LIC-B", "Licence pack", "cloud")  # the name names neither
            cases = {
                "by sku": _case(conn, org, "Firewall drops", "SEC-FW-200"),
                "sku, any case": _case(conn, org, "Firewall slow", "  sec-fw-200 "),
                "by name": _case(conn, org, "Switch ports", "core SWITCH, 48 ports"),
                "labelled line": _case(conn, org, "AP reboots", "NW-AP7"),
                "no line": _case(conn, org, "Cable missing", "misc-1"),
                "line label": _case(conn, org, "Wi-Fi slow", "Networking"),
                "line code": _case(conn, org, "Threats", "security"),
                "ambiguous": _case(conn, org, "Licences", "Licence pack"),
                "unknown": _case(conn, org, "Invoice wrong", "Billing"),
                "old sku": _case(conn, org, "VPN drops", "NW-FW200"),
                "empty": _case(conn, org, "Printer jams", ""),
            }
        with engine.begin() as conn:
            migrate.upgrade(conn, THIS)
            assert _cases(conn) == {
                cases["by sku"]: ("SEC-FW-200", firewall, "security"),
                cases["sku, any case"]: ("  sec-fw-200 ", firewall, "security"),
                cases["by name"]: ("core SWITCH, 48 ports", switch, "networking"),
                cases["labelled line"]: ("NW-AP7", access_point, "networking"),
                cases["no line"]: ("misc-1", cable, None),
                cases["line label"]: ("Networking", None, "networking"),
                cases["line code"]: ("security", None, "security"),
                cases["ambiguous"]: ("Licence pack", None, None),
                cases["unknown"]: ("Billing", None, None),
                cases["old sku"]: ("NW-FW200", None, None),
                cases["empty"]: ("", None, None),
            }
            columns = {c["name"]: c for c in inspect(conn).get_columns("cases")}
            assert columns["product_line"]["nullable"] and columns["product_id"]["nullable"]
            assert [d for d in migrate.differences(conn) if _about_case_products(d)] == []
            # A case chosen after the upgrade: a product (text empty), a line alone.
            chosen = _case(conn, org, "Chosen product", "", product_id=switch,
                           product_line="networking")  # fmt: skip
            line_only = _case(conn, org, "Chosen line", "", product_line="cloud")
            # The key is enforced: the product's row going leaves the line.
            conn.execute(text("DELETE FROM products WHERE id = :id"), {"id": cable})
            assert _cases(conn)[cases["no line"]] == ("misc-1", None, None)
            # No rebuild: the search index follows edits of the cases already there.
            conn.execute(
                text("UPDATE cases SET subject = 'Toner smudges' WHERE id = :id"),
                {"id": cases["empty"]},
            )
            assert _found(conn, "toner") == {cases["empty"]}
        with engine.begin() as conn:
            before = _texts(conn)
            migrate.downgrade(conn, BEFORE)
            names = {c["name"] for c in inspect(conn).get_columns("cases")}
            assert not {"product_line", "product_id"} & names
            # Every text stays; the cases chosen after the upgrade say what they were about.
            assert _texts(conn) == {**before, chosen: "NW-CORE-48", line_only: "cloud"}
            later = _case(conn, org, "Scanner offline", "")
            assert _found(conn, "scanner") == {later}
            assert _found(conn, "toner") == {cases["empty"]}
        with engine.begin() as conn:
            migrate.upgrade(conn, THIS)
            after = _cases(conn)
            assert after[chosen] == ("NW-CORE-48", switch, "networking")
            assert after[line_only] == ("cloud", None, "cloud")
            assert after[cases["by sku"]] == ("SEC-FW-200", firewall, "security")
            assert [d for d in migrate.differences(conn) if _about_case_products(d)] == []
    finally:
        engine.dispose()
