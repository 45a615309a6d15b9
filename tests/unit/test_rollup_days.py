"""Which days a daily rollup computes again (portal.rollup)."""

from datetime import date

from portal.rollup import runs


def test_consecutive_days_are_computed_as_one_run():
    days = [date(2026, 1, d) for d in (1, 2, 3, 5, 7, 8)] + [date(2026, 2, 1)]
    assert runs(days) == [
        (date(2026, 1, 1), date(2026, 1, 3)),
        (date(2026, 1, 5), date(2026, 1, 5)),
        (date(2026, 1, 7), date(2026, 1, 8)),
        (date(2026, 2, 1), date(2026, 2, 1)),
    ]


def test_a_run_crosses_the_end_of_a_month_and_no_day_is_no_run():
    assert runs([date(2026, 1, 31), date(2026, 2, 1)]) == [(date(2026, 1, 31), date(2026, 2, 1))]
    assert runs([]) == []
