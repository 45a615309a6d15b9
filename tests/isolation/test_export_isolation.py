"""CSV exports in the isolation matrix: for every role and every export, the file (streamed, or
prepared by a job past the threshold) holds no row of an organisation the role may not see, and
a job's export is its requester's alone.

The matrix (test_matrix.py) asks every export by its key as a list page too; this module reads
the files themselves, also through the job path, and checks that the words the matrix searches
with do find foreign rows for vendor staff, so that the check means something."""

from __future__ import annotations

import re

import pytest

from portal import access, export
from portal.export_jobs import Export
from portal.tenancy import Principal
from tests.isolation.test_matrix import LIST_QUERIES
from tests.isolation.world import World, build_world

BOM = "\ufeff"
QUERIES = ({}, *LIST_QUERIES["export.csv_file"])


@pytest.fixture
def world(db) -> World:
    return build_world(db)


def forbidden_markers(world: World, role: access.Role) -> list[str]:
    markers = list(world.private_markers)
    if role.audience != "vendor":  # vendor staff see every organisation's records by design
        markers += world.markers
    return markers


def assert_clean(body: str, world: World, role: access.Role, what: str) -> None:
    leaked = [m for m in forbidden_markers(world, role) if m in body]
    assert not leaked, f"{role.name} {what} holds foreign rows: {leaked}"


def allowed_keys(db, world: World, role_name: str) -> list[str]:
    principal = Principal.for_user(world.users[role_name])
    return [k for k in export.keys() if export.source(k).allows(principal)]  # noqa: SIM118


@pytest.mark.parametrize("role_name", list(access.ROLES))
def test_no_streamed_export_holds_a_foreign_row(db, client_as, world, role_name):
    role = access.ROLES[role_name]
    client = client_as(world.users[role_name])
    allowed = allowed_keys(db, world, role_name)
    assert export.keys(), "no export registered"
    for key in export.keys():  # noqa: SIM118 - a function, not a dict
        for query in QUERIES:
            response = client.get(f"/export/{key}.csv", query_string=query)
            what = f"/export/{key}.csv?{query}"
            body = response.get_data(as_text=True)
            if key in allowed and response.status_code != 422:  # 422: it needs an argument
                assert response.status_code == 200, what
                assert body.startswith(BOM), what
            elif key not in allowed:
                assert response.status_code in (403, 404), f"{role_name} {what}"
            assert_clean(body, world, role, what)


def test_the_matrix_words_find_foreign_rows_for_vendor_staff(client_as, world):
    """Vendor staff see every organisation: the same requests that must show partners and
    customers nothing foreign do show foreign rows to them."""
    client = client_as(world.users[access.VENDOR_ADMIN])
    shown = set()
    for key in export.keys():  # noqa: SIM118 - a function, not a dict
        for query in QUERIES:
            body = client.get(f"/export/{key}.csv", query_string=query).get_data(as_text=True)
            shown |= {marker for marker in world.markers if marker in body}
    for kind in ("ZZQX", "ZZQY", "ZZQS", "ZZQL"):  # organisations, cases, leads
        assert any(kind in marker for marker in shown), (kind, sorted(shown))


@pytest.mark.parametrize("role_name", list(access.ROLES))
def test_no_export_job_holds_a_foreign_row(app, db, client_as, world, role_name, monkeypatch):
    """Past the threshold (0 here: every list with a row) the file is written by a job as the
    requesting user: it holds what the list shows that user, and nobody else may open it."""
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 0)
    role = access.ROLES[role_name]
    me = world.users[role_name]
    client = client_as(me)
    colleague = client_as(world.colleague[role.audience])
    jobs = 0
    for key in allowed_keys(db, world, role_name):
        page = client.get(f"/export/{key}.csv")
        if page.status_code == 422:  # an export that needs an argument (a segment's id)
            continue
        assert page.status_code == 200, key
        if page.mimetype == "text/csv":  # an empty list is streamed at once
            assert_clean(page.get_data(as_text=True), world, role, key)
            continue
        started = client.post(f"/export/{key}/job")
        assert started.status_code == 302, key
        location = started.headers["Location"]
        export_id = int(re.search(r"/export/jobs/(\d+)$", location).group(1))
        assert db.get(Export, export_id).status == "ready", key
        progress = client.get(location)
        assert progress.status_code == 200
        assert_clean(progress.get_data(as_text=True), world, role, location)
        file = client.get(f"{location}/file")
        assert file.status_code == 200, key
        body = file.get_data(as_text=True)
        assert body.startswith(BOM)
        assert_clean(body, world, role, f"the job's file of {key}")
        # Only the requester: a colleague (an admin too) gets what a missing export gets.
        assert colleague.get(location).status_code == 404
        assert colleague.get(f"{location}/file").status_code == 404
        assert colleague.get("/export/jobs/987654321").status_code == 404
        jobs += 1
    assert jobs > 0, f"{role_name}: no export went through the job"
