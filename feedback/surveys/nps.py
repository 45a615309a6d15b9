"""NPS arithmetic, exact: integers and ``Decimal``, never floats.

NPS = % promoters (9-10) - % detractors (0-6), in points from -100 to 100, given to one decimal
and rounded half away from zero (so +12.25 is 12.3 and -12.25 is -12.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent to one decimal; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NpsSummary:
    responses: int
    promoters: int
    passives: int
    detractors: int
    distribution: tuple[int, ...]  # how many answered 0, 1, ... 10

    @property
    def nps(self) -> Decimal | None:
        """None without answers (no score is not a score of 0)."""
        if self.responses == 0:
            return None
        # One division of exact integers, rounded once: no double rounding.
        return percent(self.promoters - self.detractors, self.responses)

    @property
    def promoter_percent(self) -> Decimal | None:
        return percent(self.promoters, self.responses)

    @property
    def detractor_percent(self) -> Decimal | None:
        return percent(self.detractors, self.responses)

    @property
    def passive_percent(self) -> Decimal | None:
        return percent(self.passives, self.responses)


def summarise(scores: Iterable[int]) -> NpsSummary:
    distribution = [0] * 11
    for score in scores:
        if not 0 <= score <= 10:
            raise ValueError(f"an NPS score is 0 to 10, not {score}")
        distribution[score] += 1
    detractors = sum(distribution[0:7])
    passives = distribution[7] + distribution[8]
    promoters = distribution[9] + distribution[10]
    return NpsSummary(
        responses=detractors + passives + promoters,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        distribution=tuple(distribution),
    )
