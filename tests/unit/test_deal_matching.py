"""Conflict detection for deal registrations: company names and web domains of the same customer
match, different customers do not.

The fixtures in tests/data are invented names: ``company_names.txt`` holds distinct companies,
many of them deliberately close to another ("Summit Health" / "Summit Wealth", "Müller
Maschinenbau" / "Möller Maschinenbau"); ``company_name_variants.txt`` holds the same company
written two ways, one pair a line, tab-separated.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from partners.deals.matching import (
    NAME_THRESHOLD,
    Candidate,
    find_matches,
    name_key,
    name_score,
    normalise_domain,
)

DATA = Path(__file__).resolve().parent.parent / "data"

# The matcher as it stands cannot tell these apart, or cannot see these as one company; the
# change to partners/deals/matching.py that fixes them (proposed with the fixtures) takes these
# marks off: strict, so that a fix shows up as a failure until they are removed.
NEEDS_DOMAIN_FIX = "partners.deals.matching needs the proposed normalise_domain change"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


COMPANY_NAMES = _lines("company_names.txt")
VARIANTS = [tuple(line.split("\t")) for line in _lines("company_name_variants.txt")]


def _variant_param(pair: tuple[str, ...]):
    return pytest.param(*pair, id=" ~ ".join(pair))


# -- the fixtures themselves -------------------------------------------------------------------


def test_company_names_fixture_is_large_and_distinct():
    assert len(COMPANY_NAMES) >= 220
    assert len(set(COMPANY_NAMES)) == len(COMPANY_NAMES), "a name is listed twice"
    assert all(name == name.strip() and "\t" not in name for name in COMPANY_NAMES)


def test_variants_fixture_is_pairs_of_two_spellings():
    assert len(VARIANTS) >= 40
    assert all(len(pair) == 2 and pair[0] != pair[1] for pair in VARIANTS), VARIANTS


# -- names ---------------------------------------------------------------------------------------


def test_distinct_companies_never_conflict_by_name():
    keys = {name: name_key(name) for name in COMPANY_NAMES}
    scored = sorted(
        ((name_score(keys[a], keys[b]), a, b) for a, b in itertools.combinations(COMPANY_NAMES, 2)),
        reverse=True,
    )
    conflicts = [(score, a, b) for score, a, b in scored if score >= NAME_THRESHOLD]
    score, a, b = scored[0]
    assert not conflicts, (
        f"{len(conflicts)} of {len(scored)} pairs of distinct companies score >= "
        f"{NAME_THRESHOLD}; the highest: {a!r} / {b!r} = {score}; up to 20: {conflicts[:20]}"
    )


@pytest.mark.parametrize(("name_a", "name_b"), [_variant_param(pair) for pair in VARIANTS])
def test_the_same_company_written_differently_matches(name_a, name_b):
    key_a, key_b = name_key(name_a), name_key(name_b)
    score = name_score(key_a, key_b)
    assert score >= NAME_THRESHOLD, f"{key_a!r} / {key_b!r} = {score}"

    # On another domain, so that only the name can find it.
    claimed = Candidate("registration", 7, key_b, "other-customer.example.com")
    matches = find_matches(name_a, "new-customer.example.com", [claimed])
    assert [(m.candidate, m.reason, m.score) for m in matches] == [(claimed, "name", score)]


@pytest.mark.parametrize(
    "suffix",
    [
        "Inc",
        "Inc.",
        ", Inc.",
        "Incorporated",
        "Corp.",
        "Corporation",
        "LLC",
        "L.L.C.",
        "LLP",
        "Ltd",
        "Ltd.",
        "Limited",
        "plc",
        "PLC",
        "GmbH",
        "AG",
        "KG",
        "SA",
        "S.A.",
        "SAS",
        "SARL",
        "S.A.R.L.",
        "S.p.A.",
        "S.r.l.",
        "S.L.",
        "S.A. de C.V.",
        "Ltda.",
        "Lda.",
        "B.V.",
        "BV",
        "N.V.",
        "AB",
        "AS",
        "A/S",
        "ApS",
        "Oy",
        "Oyj",
        "OÜ",
        "SIA",
        "UAB",
        "Sp. z o.o.",
        "s.r.o.",
        "Kft.",
        "Zrt.",
        "d.o.o.",
        "Pty Ltd",
        "Pty. Ltd.",
        "Pte Ltd",
        "Pvt Ltd",
        "Private Limited",
        "KK",
        "K.K.",
        "Sdn Bhd",
        "A.Ş.",
        "GmbH & Co. KG",
        "Co., Ltd.",
        "Kabushiki Kaisha",
        "(Pty) Ltd",
    ],
)
def test_legal_forms_are_taken_off(suffix):
    separator = "" if suffix.startswith(",") else " "
    assert name_key("Kittiwake Marine Electronics") == "kittiwake marine electronics"
    assert name_key(f"Kittiwake Marine Electronics{separator}{suffix}") == (
        "kittiwake marine electronics"
    )


@pytest.mark.parametrize(
    ("name_a", "name_b"),
    [
        ("KITTIWAKE MARINE ELECTRONICS", "kittiwake marine electronics"),
        ("Éditions Lumière", "Editions Lumiere"),
        ("Åkesson Trä", "Akesson Tra"),
        ("Hargreave & Lowe", "Hargreave and Lowe"),
        ("Hargreave&Lowe", "Hargreave and Lowe"),
        ("Hewitt-Clarke Associates", "Hewitt Clarke Associates"),
        ("The Copper Kettle Company", "Copper Kettle"),
        ("Zenith Logistics, LLC", "Zenith Logistics"),
        ("O'Brien Construction", "O\u2019Brien Construction"),
    ],
)
def test_case_accents_punctuation_and_the_are_taken_off(name_a, name_b):
    assert name_key(name_a) == name_key(name_b)


def test_name_key_of_nothing_is_empty():
    assert name_key("") == ""
    assert name_key(None) == ""


# -- domains -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("https://www.Shop.Acme.co.uk/x", "acme.co.uk"),
        ("http://portal.eu.tessaro.com.au:8443/login?next=/", "tessaro.com.au"),
        ("https://www.kittiwake-marine.com/contact#team", "kittiwake-marine.com"),
        ("https://user:secret@kittiwake-marine.com/", "kittiwake-marine.com"),
        ("HTTPS://WWW.KITTIWAKE-MARINE.COM/", "kittiwake-marine.com"),
        ("kittiwake-marine.com", "kittiwake-marine.com"),
        ("  kittiwake-marine.com.  ", "kittiwake-marine.com"),
        ("acme.co.uk", "acme.co.uk"),
        ("shop.tessaro.com.au", "tessaro.com.au"),
        ("sales@acme.co.uk", "acme.co.uk"),
        ("Jane.Doe@Mail.Halvorsen-Energi.NO", "halvorsen-energi.no"),
        ("mailto:info@kittiwake-marine.com", "kittiwake-marine.com"),
        ("https://www.bäckerei-müller.de/kontakt", "bäckerei-müller.de"),
        ("BÄCKEREI-MÜLLER.DE", "bäckerei-müller.de"),
    ],
)
def test_normalise_domain_keeps_the_registrable_domain(text, domain):
    assert normalise_domain(text) == domain


@pytest.mark.parametrize(
    "text",
    [
        "localhost",
        "http://localhost:5000/",
        "user@localhost",
        "acme",
        "",
        None,
        "   ",
        "not a domain",
        "co.uk",
        "192.168.1.10",
        "https://192.168.1.10/admin",
        "intranet.local",
    ],
)
def test_normalise_domain_is_none_without_a_registrable_domain(text):
    assert normalise_domain(text) is None


def test_an_idn_is_one_domain_in_either_spelling():
    assert normalise_domain("xn--bckerei-mller-bfb28a.de") == normalise_domain(
        "https://www.bäckerei-müller.de/"
    )


def test_sites_on_a_shared_host_are_different_customers():
    # github.io is on the private part of the public suffix list: each name under it is its own.
    assert normalise_domain("https://kittiwake-marine.github.io/") != normalise_domain(
        "verdigris.github.io"
    )


# -- find_matches --------------------------------------------------------------------------------


def _candidate(name: str, domain: str | None, id: int = 1, kind: str = "registration"):
    return Candidate(kind, id, name_key(name), domain)


def test_the_same_domain_matches_whatever_the_name():
    claimed = _candidate("Thornbury Veterinary Supplies Ltd", "thornbury-vet.co.uk", kind="direct")
    (match,) = find_matches("TVS Group", "thornbury-vet.co.uk", [claimed])
    assert (match.candidate, match.reason, match.score) == (claimed, "domain", 100)


def test_a_close_name_matches_on_another_domain():
    claimed = _candidate("Halvorsen Energi AS", "halvorsen-energi.no", id=4)
    (match,) = find_matches("HALVORSEN ENERGI A/S", "halvorsen.com", [claimed])
    assert (match.candidate, match.reason) == (claimed, "name")
    assert match.score >= NAME_THRESHOLD


def test_a_close_name_matches_when_the_claim_has_no_domain():
    claimed = _candidate("Ironbridge Consulting Limited", None)
    (match,) = find_matches("Ironbridge Consulting Ltd", None, [claimed])
    assert match.reason == "name"


def test_distinct_names_on_different_domains_do_not_match():
    claimed = [
        _candidate("Northwind Travel Ltd", "northwind-travel.co.uk", id=1),
        _candidate("Blue Ridge Foods Inc.", "blueridgefoods.com", id=2),
        _candidate("Corvena Banking Group plc", "corvena-group.com", id=3, kind="direct"),
    ]
    assert find_matches("Northwind Traders Ltd", "northwind-traders.com", claimed) == []
    assert find_matches("Blue Ridge Capital LLC", "blueridgecap.com", claimed) == []
    assert find_matches("Corvena Bank S.A.", "corvena.gr", claimed) == []


def test_no_domain_never_matches_a_claim_without_one():
    claimed = [_candidate("Oceanic Seafoods Pty Ltd", None)]
    assert find_matches("Tasman Bay Aquaculture Ltd", None, claimed) == []


def test_every_match_is_listed_with_its_reason():
    claimed = [
        _candidate("Lindqvist Bygg AB", "lindqvistbygg.se", id=1),
        _candidate("Lindqvist Bygg Aktiebolag", "lindqvist.se", id=2),
        _candidate("Lindqvist Bygg AB", "lindqvist-bygg.se", id=3, kind="direct"),
        _candidate("Lindqvist Bil AB", "lindqvistbil.se", id=4),
    ]
    matches = find_matches("Lindqvist Bygg", "lindqvist.se", claimed)
    assert [(m.candidate.kind, m.candidate.id, m.reason) for m in matches] == [
        ("registration", 1, "name"),
        ("registration", 2, "domain"),
        ("direct", 3, "name"),
    ]


@pytest.mark.parametrize("text", ["gmail.com", "buyer@gmail.com", "https://outlook.com", "web.de"])
def test_mailbox_providers_are_not_a_customer_domain(text):
    assert normalise_domain(text) is None
