"""A survey link names its recipient row by ids and that row's random nonce: ``matches`` needs
all three, the nonce whole and exact (compared in constant time)."""

import pytest

from feedback import links


def test_every_nonce_is_new_random_and_long_enough():
    nonces = {links.new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(n) >= 22 and n.isascii() and len(n) <= 32 for n in nonces)  # fits the column


def test_a_link_matches_only_its_own_row():
    stored = links.new_nonce()
    link = links.SurveyLink(survey_id=7, recipient_id=42, nonce=stored)
    assert links.matches(link, survey_id=7, recipient_id=42, nonce=stored)
    assert not links.matches(link, survey_id=8, recipient_id=42, nonce=stored)
    assert not links.matches(link, survey_id=7, recipient_id=43, nonce=stored)


@pytest.mark.parametrize(
    "carried",
    ["guessed-nonce-000000000", "short", "x" * 200, "é-not-ascii", " "],
)
def test_any_other_nonce_does_not_match(carried):
    stored = links.new_nonce()
    for nonce in (carried, stored[:-1], stored + "A", stored.upper()):
        link = links.SurveyLink(survey_id=7, recipient_id=42, nonce=nonce)
        assert not links.matches(link, survey_id=7, recipient_id=42, nonce=stored)


def test_a_row_without_a_nonce_matches_nothing():
    link = links.SurveyLink(survey_id=7, recipient_id=42, nonce="anything")
    for stored in (None, ""):
        assert not links.matches(link, survey_id=7, recipient_id=42, nonce=stored)
