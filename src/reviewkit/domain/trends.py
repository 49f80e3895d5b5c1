"""The statistics behind alert rules: is a score worse than a level, worse than last time,
or sliding down?

- :func:`mann_kendall`: the Mann-Kendall trend test on a series (S, Var(S) corrected for
  ties, the continuity-corrected Z and its p-values) with Sen's slope (the median of every
  pairwise slope), as in Gilbert, *Statistical Methods for Environmental Pollution
  Monitoring* (1987), chapters 16 and 17.
- :func:`difference_interval`: the 95 % interval of the change of a score between two sets
  of answers: NPS by the adjusted-Wald variance of each side, CSAT by Agresti-Caffo, CES by
  Welch's t.

Everything here is computed from the same sums the stores aggregate
(:class:`~reviewkit.domain.scoring.AnswerStats`), so no answer has to be loaded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist, median

import attrs

from reviewkit.domain.scoring import Z95, AnswerStats, t_quantile
from reviewkit.domain.survey import SurveyType
from reviewkit.errors import ValidationError

__all__ = [
    "Difference",
    "MannKendall",
    "difference_interval",
    "higher_is_better",
    "mann_kendall",
    "metric_value",
    "sen_slope",
]

_NORMAL = NormalDist()


@attrs.frozen
class MannKendall:
    """The result of a Mann-Kendall test.

    :ivar n: the length of the series.
    :ivar s: the statistic: pairs going up minus pairs going down.
    :ivar var_s: its variance under "no trend", corrected for ties.
    :ivar z: the standardised statistic, with the continuity correction.
    :ivar p_increasing: the one-sided p-value of an upward trend.
    :ivar p_decreasing: the one-sided p-value of a downward trend.
    :ivar slope: Sen's slope, per step of the series.
    """

    n: int
    s: int
    var_s: float
    z: float
    p_increasing: float
    p_decreasing: float
    slope: float

    @property
    def p_two_sided(self) -> float:
        """The two-sided p-value (a trend either way)."""
        return min(1.0, 2 * min(self.p_increasing, self.p_decreasing))


def mann_kendall(values: Sequence[float]) -> MannKendall:
    """Run the Mann-Kendall test on *values* (equally spaced, oldest first).

    :raises ValidationError: fewer than 3 values, or a value that is not finite.
    """
    n = len(values)
    if n < 3:
        raise ValidationError(f"a trend needs at least 3 values, not {n}")
    if not all(math.isfinite(v) for v in values):
        raise ValidationError("a trend's values must be finite numbers")
    s = 0
    for i in range(n - 1):
        vi = values[i]
        for j in range(i + 1, n):
            diff = values[j] - vi
            s += (diff > 0) - (diff < 0)
    ties = Counter(values).values()
    var_s = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    if var_s <= 0:  # every value the same
        z = 0.0
    elif s > 0:
        z = (s - 1) / math.sqrt(var_s)
    elif s < 0:
        z = (s + 1) / math.sqrt(var_s)
    else:
        z = 0.0
    return MannKendall(
        n=n,
        s=s,
        var_s=var_s,
        z=z,
        p_increasing=1 - _NORMAL.cdf(z),
        p_decreasing=_NORMAL.cdf(z),
        slope=sen_slope(values),
    )


def sen_slope(values: Sequence[float]) -> float:
    """Sen's slope of *values* (equally spaced): the median of ``(x_j - x_i) / (j - i)``
    over every pair ``i < j``.

    :raises ValidationError: fewer than 2 values.
    """
    n = len(values)
    if n < 2:
        raise ValidationError(f"a slope needs at least 2 values, not {n}")
    return median((values[j] - values[i]) / (j - i) for i in range(n - 1) for j in range(i + 1, n))


def higher_is_better(kind: SurveyType) -> bool:
    """Whether a higher score is better news: NPS and CSAT yes; CES (effort) no."""
    return kind is not SurveyType.CES


def metric_value(kind: SurveyType, stats: AnswerStats) -> float | None:
    """The score of *stats*: NPS in points, CSAT as the % of 4 and 5, CES as the mean.
    ``None`` without answers."""
    return None if stats.n == 0 else _value(kind, stats)


def _value(kind: SurveyType, stats: AnswerStats) -> float:
    if kind is SurveyType.NPS:
        return (stats.top - stats.bottom) / stats.n * 100
    if kind is SurveyType.CSAT:
        return stats.top / stats.n * 100
    return stats.total / stats.n


@attrs.frozen
class Difference:
    """The change of a score from *before* to *after*, with its 95 % interval, in the
    score's units (NPS points, CSAT percentage points, CES scale points)."""

    kind: SurveyType
    before: float
    after: float
    change: float
    low: float
    high: float

    @property
    def worse(self) -> bool:
        """Whether the interval lies wholly on the worse side of no change."""
        return self.high < 0 if higher_is_better(self.kind) else self.low > 0

    @property
    def better(self) -> bool:
        """Whether the interval lies wholly on the better side of no change."""
        return self.low > 0 if higher_is_better(self.kind) else self.high < 0


def difference_interval(kind: SurveyType, before: AnswerStats, after: AnswerStats) -> Difference:
    """The change of a score between two sets of answers and its 95 % interval.

    :raises ValidationError: a side without answers (or a CES side with fewer than 2).
    """
    kind = SurveyType(kind)
    minimum = 2 if kind is SurveyType.CES else 1
    if before.n < minimum or after.n < minimum:
        raise ValidationError(
            f"a change needs at least {minimum} answers on each side, not {before.n} and {after.n}"
        )
    old = _value(kind, before)
    new = _value(kind, after)
    change = new - old
    if kind is SurveyType.NPS:
        margin = Z95 * math.sqrt(_nps_variance(before) + _nps_variance(after)) * 100
    elif kind is SurveyType.CSAT:
        margin = Z95 * math.sqrt(_share_variance(before) + _share_variance(after)) * 100
    else:
        v_old, v_new = _mean_variance(before), _mean_variance(after)
        total = v_old + v_new
        if total == 0:
            margin = 0.0
        else:
            df = total**2 / (v_old**2 / (before.n - 1) + v_new**2 / (after.n - 1))
            margin = t_quantile(max(1, math.floor(df))) * math.sqrt(total)
    return Difference(kind, old, new, change, change - margin, change + margin)


def _nps_variance(stats: AnswerStats) -> float:
    """Var of the NPS estimate (as a fraction), adjusted as the NPS interval is: each answer is
    +1, 0 or -1, with 3/4 of a promoter and of a detractor added, over n + 3 answers."""
    n = stats.n + 3
    p = (stats.top + 0.75) / n
    d = (stats.bottom + 0.75) / n
    return max(p + d - (p - d) ** 2, 0.0) / n


def _share_variance(stats: AnswerStats) -> float:
    """Agresti-Caffo: one success and one failure added to the side."""
    n = stats.n + 2
    p = (stats.top + 1) / n
    return p * (1 - p) / n


def _mean_variance(stats: AnswerStats) -> float:
    mean = stats.total / stats.n
    return max((stats.squares - stats.n * mean * mean) / (stats.n - 1), 0.0) / stats.n
