"""The isolation matrix, grown by one sentence: "a distributor sees what its resellers own,
read-only".

It walks ``app.url_map`` as the matrix does (tests/isolation/test_matrix.py), signed in as each
role of a distributor, for every route that carries a registration, lead or quote: a record of
one of its own resellers reads (GET never fails, never writes) and every write to it is refused
(4xx) and changes nothing, but for the distributor's first approval of its resellers'
registrations (``deals.first_review``, where the programme asks for it); a record of another
distributor's reseller answers exactly as a missing one, 404 (403 only where the role lacks the
route's action). List pages never show the other distributor's resellers' records. HTML and
API alike.
"""

from __future__ import annotations

import pytest

from portal import access
from tests.factories import make_deal, make_lead, make_offer, make_quote, make_user
from tests.isolation.kinds_leads import bearer_for
from tests.isolation.test_matrix import (
    MISSING_ID,
    PUBLIC_API_ENDPOINTS,
    _non_record_values,
    _required_action,
)
from tests.unchanged import unchanged

RESOLD_PARAMS = ("deal_id", "lead_id", "quote_id")
# The one write a distributor makes on its resellers' records, where the programme asks for it:
# the first approval (or rejection) of their registrations, by these routes' last segment (tested
# with it, tests/integration/test_deal_first_review.py).
FIRST_REVIEW = ("/pass-on", "/first-reject")
DISTRIBUTOR_ROLES = [r.name for r in access.roles_for("distributor")]


def _resold(db, vendor, reseller, label: str) -> dict[str, list]:
    """A reseller's records a distributor may read: a registration (submitted, and a draft), a
    lead offered to it, a sent quote; and its draft quote, which nobody but the vendor reads."""
    lead = make_lead(db, vendor, f"{label} lead", "offered")
    make_offer(db, lead, reseller)
    return {
        "deal_id": [
            make_deal(db, reseller, f"{label} customer"),
            make_deal(db, reseller, status="draft"),
        ],
        "lead_id": [lead],
        "quote_id": [make_quote(db, reseller, f"{label} quote", "viewed")],
        "draft": [make_quote(db, reseller, f"{label} draft ZZQ", "draft")],
    }


def _resold_routes(app):
    """Every route and method that carries a registration, lead or quote (the matrix itself,
    tests/isolation/test_matrix.py, checks that every route's parameters are known)."""
    for rule in app.url_map.iter_rules():
        if set(rule.arguments) & set(RESOLD_PARAMS):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


@pytest.fixture
def tiers(db, vendor, org_factory):
    distributor = org_factory("distributor", name="Matrix Distribution")
    other = org_factory("distributor", name="Other Matrix Distribution")
    reseller = org_factory("reseller", name="Matrix Reseller", managed_by_id=distributor.id)
    stranger = org_factory("reseller", name="Stranger Reseller ZZQT", managed_by_id=other.id)
    return {
        "distributor": distributor,
        "ours": _resold(db, vendor, reseller, "Resold"),
        "theirs": _resold(db, vendor, stranger, "Stranger ZZQT"),
    }


@pytest.mark.parametrize("role_name", DISTRIBUTOR_ROLES)
def test_a_distributor_reads_its_resellers_records_and_writes_none(
    app, db, client_as, tiers, role_name
):
    user = make_user(db, tiers["distributor"], role_name)
    client = client_as(user)
    bearer = bearer_for(db, user, " ".join(access.SCOPES))
    adapter = app.url_map.bind("localhost")
    ours, theirs = tiers["ours"], tiers["theirs"]
    checked = 0
    for rule, method in _resold_routes(app):
        is_api = rule.endpoint.startswith("api.") and rule.endpoint not in PUBLIC_API_ENDPOINTS
        headers = bearer if is_api else {}
        params = [p for p in rule.arguments if p in RESOLD_PARAMS]
        if not params:
            continue
        (param,) = params
        (others,) = _non_record_values(rule)
        action = _required_action(app, rule.endpoint)
        lacks = action is not None and not access.allows(role_name, "distributor", action)

        def ask(record_id, method=method, headers=headers, rule=rule, others=others, param=param):
            url = adapter.build(rule.endpoint, {**others, param: record_id})
            return url, client.open(url, method=method, headers=headers).status_code

        missing = ask(MISSING_ID)[1]
        unseen = theirs[param] + (ours["draft"] if param == "quote_id" else [])
        for record in unseen:
            url, status = ask(record.id)
            assert status == missing, f"{role_name} {method} {url}: {status}, missing {missing}"
            assert status == 404 or (status == 403 and lacks), f"{role_name} {method} {url}"
            checked += 1
        for record in ours[param]:
            if rule.rule.endswith(FIRST_REVIEW):
                continue
            if method == "GET":
                url, status = ask(record.id)
                readable = status < 500 and status != 404
                assert readable or lacks, f"{role_name} GET {url}: {status}"
            else:
                with unchanged(db, *(r for key in RESOLD_PARAMS for r in ours[key])):
                    url, status = ask(record.id)
                assert 400 <= status < 500, f"{role_name} {method} {url} answered {status}"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("role_name", DISTRIBUTOR_ROLES)
def test_a_distributors_lists_hold_its_resellers_rows_only(app, db, client_as, tiers, role_name):
    user = make_user(db, tiers["distributor"], role_name)
    client = client_as(user)
    headers = bearer_for(db, user, " ".join(access.SCOPES))
    pages = {"/deals/": "Resold customer", "/leads/": "Resold lead", "/quotes/": "Resold quote"}
    for url, ours in pages.items():
        body = client.get(url).get_data(as_text=True)
        assert ours in body, url
        assert "ZZQ" not in body, url  # neither the stranger's records nor any draft
    for url in ("/api/v1/deals", "/api/v1/leads", "/api/v1/quotes"):
        body = app.test_client().get(url, headers=headers).get_data(as_text=True)
        assert "Resold" in body and "ZZQ" not in body, url
    for url in ("/search?q=zzqt", "/search?q=resold"):
        assert "ZZQT" not in client.get(url).get_data(as_text=True)
