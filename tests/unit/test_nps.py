"""NPS arithmetic on known sets: exact, rounded once, half away from zero."""

from decimal import Decimal

import pytest

from feedback.surveys.nps import percent, summarise


@pytest.mark.parametrize(
    ("scores", "nps"),
    [
        ([10, 9, 8, 7, 6, 0], Decimal("0.0")),  # 2 promoters, 2 passives, 2 detractors
        ([10, 10, 10, 0], Decimal("50.0")),
        ([9, 7, 8], Decimal("33.3")),  # 1/3
        ([9, 10, 7], Decimal("66.7")),  # 2/3
        ([0, 7, 8], Decimal("-33.3")),
        ([10] * 10, Decimal("100.0")),
        ([0, 1, 2, 3, 4, 5, 6], Decimal("-100.0")),
        ([7, 8, 7, 8], Decimal("0.0")),  # passives only
        ([10] + [8] * 15, Decimal("6.3")),  # 6.25 rounds half up
        ([0] + [8] * 15, Decimal("-6.3")),  # and -6.25 away from zero
        ([9] * 7 + [3] * 2 + [7] * 3, Decimal("41.7")),  # 5/12 = 41.666...
    ],
)
def test_nps_of_known_sets(scores, nps):
    assert summarise(scores).nps == nps


def test_the_parts_of_a_summary():
    s = summarise([0, 6, 7, 8, 9, 10, 10, 3])
    assert (s.responses, s.promoters, s.passives, s.detractors) == (8, 3, 2, 3)
    assert s.distribution == (1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 2)
    assert s.promoter_percent == Decimal("37.5")
    assert s.detractor_percent == Decimal("37.5")
    assert s.passive_percent == Decimal("25.0")
    assert s.nps == Decimal("0.0")


def test_no_answers_is_no_score_not_zero():
    s = summarise([])
    assert s.nps is None and s.responses == 0 and s.promoter_percent is None
    assert percent(0, 0) is None
    assert percent(1, 3) == Decimal("33.3")


def test_a_score_outside_0_to_10_is_refused():
    with pytest.raises(ValueError):
        summarise([11])
    with pytest.raises(ValueError):
        summarise([-1])


def test_the_survey_link_lifetime_comes_from_the_environment():
    from portal.config import ConfigurationError, from_environment

    assert from_environment({})["SURVEY_LINK_DAYS"] == 14
    assert from_environment({"SURVEY_LINK_DAYS": "30"})["SURVEY_LINK_DAYS"] == 30
    for bad in ("0", "-1", "two weeks", "400"):
        with pytest.raises(ConfigurationError, match="SURVEY_LINK_DAYS"):
            from_environment({"SURVEY_LINK_DAYS": bad})
