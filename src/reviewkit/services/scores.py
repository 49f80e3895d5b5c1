"""Scores: NPS, CSAT and CES by any dimension a request carries and by period.

::

    scores = ScoreService(store)
    for row in scores.scores(SurveyType.NPS, by="segment", period=Period.WEEK,
                             timezone="Europe/Warsaw"):
        print(row.period, row.group, row.score.value, row.score.low, row.score.high)

The store aggregates (SQL for SQLite: one small row of sums per group and period); the
formulas and intervals are :mod:`reviewkit.domain.scoring`. A group with fewer answers than
``min_sample`` is marked ``too_small`` rather than shown as a confident number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from reviewkit.domain.scoring import Bucket, Period, Score, buckets, score_of
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.window import load_zone
from reviewkit.errors import ValidationError
from reviewkit.ports import AnswerRepository

__all__ = ["ScoreRow", "ScoreService"]


@attrs.frozen
class ScoreRow:
    """One group's score in one period.

    :ivar group: the dimension's value (``None``: requests without one, or not grouped).
    :ivar period: the period's label (``2026-W48``), or ``None`` when not by period.
    """

    kind: SurveyType
    group: str | None
    period: str | None
    start: datetime | None
    end: datetime | None
    score: Score


class ScoreService:
    """Compute scores from the answers in a store."""

    def __init__(self, store: AnswerRepository) -> None:
        self.store = store

    def scores(
        self,
        kind: SurveyType,
        *,
        by: str | None = None,
        period: Period | str | None = None,
        timezone: str = "UTC",
        since: datetime | None = None,
        until: datetime | None = None,
        campaign_id: str | None = None,
        min_sample: int = 30,
    ) -> list[ScoreRow]:
        """Return the score of each group (and period), in period order, then by group.

        :param by: ``"segment"``, ``"channel"``, ``"campaign"`` or ``"field:NAME"``.
        :param period: day, week (ISO, Monday first) or month, on *timezone*'s calendar.
        :param since: from here (inclusive); by default the first answer.
        :param until: before here; by default just after the last answer.
        :raises ValidationError: an unknown dimension, period or zone, naive datetimes.
        """
        kind = SurveyType(kind)
        if min_sample < 1:
            raise ValidationError(f"min_sample must be at least 1, not {min_sample}")
        for value in (since, until):
            if value is not None and value.tzinfo is None:
                raise ValidationError("score ranges must be timezone-aware")
        periods: list[Bucket] | None = None
        if period is not None:
            try:
                period = Period(period)
            except ValueError:
                raise ValidationError(f"period {period!r}: choose day, week or month") from None
            start, end = since, until
            if start is None or end is None:  # the answers' own span fills in what is open
                span = self.store.answer_span(kind)
                if span is None:
                    return []
                start = start or span[0]
                end = end or span[1] + timedelta(microseconds=1)
            if end <= start:
                return []
            periods = buckets(period, load_zone(timezone), start, end)
        stats = self.store.answer_stats(
            kind,
            by=by,
            periods=None if periods is None else [(b.start, b.end) for b in periods],
            since=since,
            until=until,
            campaign_id=campaign_id,
        )
        ordered = sorted(
            stats.items(), key=lambda item: (item[0][1] or 0, item[0][0] is None, item[0][0] or "")
        )
        rows = []
        for (group, index), sums in ordered:
            bucket = None if index is None or periods is None else periods[index]
            rows.append(
                ScoreRow(
                    kind=kind,
                    group=group,
                    period=None if bucket is None else bucket.label,
                    start=None if bucket is None else bucket.start,
                    end=None if bucket is None else bucket.end,
                    score=score_of(kind, sums, min_sample=min_sample),
                )
            )
        return rows
