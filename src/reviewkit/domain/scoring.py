"""Scores from answers: NPS, CSAT and CES with their sample size and a 95 % interval.

- NPS = % promoters (9 and 10) minus % detractors (0 to 6), from -100 to 100. Interval: the
  adjusted-Wald interval (Rocks 2016): n' = n + 3, p' = (promoters + 3/4) / n',
  d' = (detractors + 3/4) / n', NPS' = p' - d', margin = z * sqrt((p' + d' - NPS'^2) / n').
- CSAT = share of 4 and 5 on 1 to 5, as a percentage, with the mean beside it. Interval: Wilson.
- CES = the mean on its scale. Interval: Student's t.

Every figure is computed from five sums — n, Σscore, Σscore², top and bottom counts — so a
store can aggregate in SQL and hand over one small row per group.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from statistics import NormalDist

import attrs

from reviewkit.domain.survey import SurveyType
from reviewkit.errors import ValidationError

__all__ = [
    "AnswerStats",
    "Bucket",
    "Period",
    "Score",
    "buckets",
    "check_dimension",
    "nps_interval",
    "rollup_pieces",
    "score_of",
    "t_quantile",
    "wilson_interval",
]

Z95 = NormalDist().inv_cdf(0.975)

# Student's t, 97.5th percentile, for 1..30 degrees of freedom; beyond, a Cornish-Fisher
# expansion around the normal quantile (error under 1e-4 there).
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip


def t_quantile(df: int) -> float:
    """Student's t 97.5th percentile for *df* degrees of freedom (for a 95 % interval)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@attrs.frozen
class AnswerStats:
    """The sums a store aggregates for one group of answers.

    :ivar top: answers at or above the type's top threshold (promoters 9 and 10; CSAT 4 and 5).
    :ivar bottom: answers at or below the bottom threshold (detractors 0 to 6).
    """

    n: int
    total: int
    squares: int
    top: int
    bottom: int

    def plus(self, other: AnswerStats) -> AnswerStats:
        """The sums of both groups together."""
        return AnswerStats(
            self.n + other.n,
            self.total + other.total,
            self.squares + other.squares,
            self.top + other.top,
            self.bottom + other.bottom,
        )


def rollup_pieces(
    start: int, end: int, spans: Sequence[int], sign: int = 1
) -> list[tuple[int | None, int, int, int]]:
    """Cut the range [*start*, *end*) into pieces a store with rollups sums cheaply.

    Each end is rounded to the nearest slot boundary of the longest span; the whole slots
    between are one piece, and what rounding added or left out at each end is taken away or
    added with the next span, down to the answers themselves.

    :param spans: the rollups' slot lengths, longest first, each a multiple of the next
        (e.g. a day and an hour, in the same unit as the range).
    :param sign: 1 to add the range, -1 to take it away.
    :returns: ``(span, piece_start, piece_end, sign)``: the sums of the slots of *span* in
        [piece_start, piece_end) (``None``: of the answers there), times *sign*, add up to
        the sums of the range. At most two pieces per span, and those of ``None`` shorter
        than the last span.
    """
    if end <= start:
        return []
    if not spans:
        return [(None, start, end, sign)]
    span, finer = spans[0], spans[1:]
    first = (start + span // 2) // span * span
    last = (end + span // 2) // span * span
    if first >= last:
        return rollup_pieces(start, end, finer, sign)
    pieces: list[tuple[int | None, int, int, int]] = [(span, first, last, sign)]
    if first < start:
        pieces += rollup_pieces(first, start, finer, -sign)
    else:
        pieces += rollup_pieces(start, first, finer, sign)
    if last > end:
        pieces += rollup_pieces(end, last, finer, -sign)
    else:
        pieces += rollup_pieces(last, end, finer, sign)
    return pieces


THRESHOLDS = {SurveyType.NPS: (9, 6), SurveyType.CSAT: (4, 0), SurveyType.CES: (99, -1)}
"""(top, bottom) per survey type: scores >= top and <= bottom are counted."""


@attrs.frozen
class Score:
    """One score with its sample size and 95 % confidence interval.

    :ivar value: NPS (-100 to 100), CSAT (% of 4 and 5) or CES (mean); ``None`` without answers.
    :ivar low: the interval's lower end (``None`` where it is not defined: no answers, or
        a CES mean from one answer).
    :ivar mean: the mean score (beside CSAT; equal to ``value`` for CES).
    :ivar too_small: fewer answers than the minimum sample: show it as "not enough
        answers", not as a confident number.
    """

    kind: SurveyType
    n: int
    value: float | None
    low: float | None
    high: float | None
    mean: float | None
    too_small: bool


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """The adjusted-Wald 95 % interval of an NPS, in points (-100 to 100), widened to include
    the observed score (with one or two answers the adjusted centre can leave it out)."""
    adjusted_n = n + 3
    p = (promoters + 0.75) / adjusted_n
    d = (detractors + 0.75) / adjusted_n
    centre = p - d
    margin = Z95 * math.sqrt(max(p + d - centre**2, 0.0) / adjusted_n)
    observed = (promoters - detractors) / n if n else centre
    low = max(min(centre - margin, observed), -1.0)
    high = min(max(centre + margin, observed), 1.0)
    return low * 100, high * 100


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """The Wilson 95 % interval of a proportion, as fractions 0…1.

    The ends are clamped to the scale and to the observed share: with no successes the lower
    end is exactly 0, with all successes the upper end exactly 1 (floating-point rounding
    would otherwise leave them a hair inside).
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    margin = Z95 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if successes == 0 else min(max(centre - margin, 0.0), p)
    high = 1.0 if successes == n else max(min(centre + margin, 1.0), p)
    return low, high


def _mean_interval(stats: AnswerStats) -> tuple[float | None, float | None]:
    if stats.n < 2:
        return None, None
    mean = stats.total / stats.n
    variance = max((stats.squares - stats.n * mean * mean) / (stats.n - 1), 0.0)
    margin = t_quantile(stats.n - 1) * math.sqrt(variance / stats.n)
    return mean - margin, mean + margin


def score_of(kind: SurveyType, stats: AnswerStats, *, min_sample: int = 30) -> Score:
    """Compute the score of one group from its sums."""
    too_small = stats.n < min_sample
    if stats.n == 0:
        return Score(kind, 0, None, None, None, None, True)
    mean = stats.total / stats.n
    if kind is SurveyType.NPS:
        value = (stats.top - stats.bottom) / stats.n * 100
        low, high = nps_interval(stats.top, stats.bottom, stats.n)
        return Score(kind, stats.n, value, low, high, mean, too_small)
    if kind is SurveyType.CSAT:
        low, high = wilson_interval(stats.top, stats.n)
        return Score(
            kind, stats.n, stats.top / stats.n * 100, low * 100, high * 100, mean, too_small
        )
    low_mean, high_mean = _mean_interval(stats)
    return Score(kind, stats.n, mean, low_mean, high_mean, mean, too_small)


DIMENSIONS = ("segment", "channel", "campaign")
"""What scores group by besides a custom field (``field:NAME``)."""


def check_dimension(by: str | None) -> None:
    """Check a grouping for scores.

    :raises ValidationError: not one of :data:`DIMENSIONS`, ``field:NAME`` or ``None``.
    """
    if by is None or by in DIMENSIONS or (by.startswith("field:") and by[6:]):
        return
    raise ValidationError(
        f"cannot group scores by {by!r}: use segment, channel, campaign or field:NAME"
    )


class Period(enum.StrEnum):
    """Time buckets scores are grouped by, read on a zone's local calendar."""

    DAY = "day"
    """Calendar days, from local midnight."""
    WEEK = "week"
    """ISO weeks, Monday to Sunday."""
    MONTH = "month"
    """Calendar months."""


@attrs.frozen
class Bucket:
    """One period: from *start* (inclusive) to *end* (exclusive), both UTC, and its label
    (``2026-11-23``, ``2026-W48``, ``2026-11``)."""

    label: str
    start: datetime
    end: datetime


def buckets(period: Period, zone: tzinfo, since: datetime, until: datetime) -> list[Bucket]:
    """The periods covering [*since*, *until*), their edges at local midnight in *zone*
    (a day across a DST change is 23 or 25 hours long).

    :raises ValidationError: naive datetimes, or *until* not after *since*.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationError("bucket bounds must be timezone-aware")
    if until <= since:
        raise ValidationError("the period range is empty")
    day = since.astimezone(zone).date()
    if period is Period.WEEK:
        day -= timedelta(days=day.weekday())
    elif period is Period.MONTH:
        day = day.replace(day=1)
    found: list[Bucket] = []
    while True:
        if period is Period.DAY:
            following = day + timedelta(days=1)
            label = day.isoformat()
        elif period is Period.WEEK:
            following = day + timedelta(days=7)
            year, week, _ = day.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            label = f"{day.year}-{day.month:02d}"
        start = _local_midnight(day, zone)
        if start >= until:
            return found
        found.append(Bucket(label, start, _local_midnight(following, zone)))
        day = following


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of *day* in *zone* (after a DST gap at midnight, the first that
    exists)."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).date() != day:  # midnight fell into a gap: it starts later
        instant = datetime.combine(day, time(1), tzinfo=zone).astimezone(UTC)
    return instant
