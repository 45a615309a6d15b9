"""The portal-wide search in the isolation matrix: the words the matrix searches with
(test_matrix.LIST_QUERIES) do find the foreign organisations' records for vendor staff, who see
every organisation, so the matrix's check that partners and customers never see them means
something; and the search answers each role without writing."""

from __future__ import annotations

import pytest

from portal import access
from tests.isolation.test_matrix import LIST_QUERIES
from tests.isolation.world import World, build_world


@pytest.fixture
def world(db) -> World:
    return build_world(db)


def test_the_matrix_search_words_find_foreign_records_for_vendor_staff(client_as, world):
    client = client_as(world.users[access.VENDOR_ADMIN])
    shown = set()
    for query in LIST_QUERIES["search.index"]:
        body = client.get("/search", query_string=query).get_data(as_text=True)
        shown |= {marker for marker in world.markers if marker in body}
    kinds = {"ZZQX", "ZZQY", "ZZQL", "ZZQU", "secret-person@"}  # orgs, leads, people
    assert all(any(kind in marker for marker in shown) for kind in kinds), sorted(shown)


@pytest.mark.parametrize(
    "role_name", [r.name for r in access.ROLES.values() if r.audience != "vendor"]
)
def test_partners_and_customers_find_only_their_own(client_as, world, role_name):
    client = client_as(world.users[role_name])
    for query in LIST_QUERIES["search.index"]:
        body = client.get("/search", query_string=query).get_data(as_text=True)
        leaked = [marker for marker in world.markers + world.private_markers if marker in body]
        assert not leaked, f"{role_name} /search?q={query['q']} shows {leaked}"
