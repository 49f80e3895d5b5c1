"""Scheduled, personalised reports: what they show, to whom, when — and their figures.

- :class:`ReportDefinition` — a named report: the metrics it shows, its recipients (each
  with a :class:`Scope`, a time zone and a language), a :class:`Recurrence` and the working
  days and holidays the recurrence keeps to.
- :class:`Recurrence` — every day, every week on a weekday or every month on its first
  working day, at a local time; a day the window is shut moves to the next open one.
- :class:`ReportRun` — one report for one recipient and one period, waiting in the store's
  outbox until a worker sends it (exactly one per report, recipient and period).
- :class:`ReportFigures` — what one recipient's report shows, computed by
  :func:`figures_for` from sums the store aggregated once for every scope.

Pure: no clock reads, no I/O.
"""

from __future__ import annotations

import enum
import heapq
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

import attrs
from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule

from reviewkit.domain.answers import Answer
from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.domain.scoring import AnswerStats, Bucket, Period, Score, buckets, score_of
from reviewkit.domain.survey import DEFAULT_SCALES, SurveyType
from reviewkit.domain.window import SendWindow, load_zone
from reviewkit.errors import ValidationError

__all__ = [
    "EMPTY_STATS",
    "Funnel",
    "KindFigures",
    "LeagueRow",
    "Recurrence",
    "ReportDefinition",
    "ReportFigures",
    "ReportMetric",
    "ReportRecipient",
    "ReportRun",
    "ReportRunStatus",
    "Scope",
    "change_significance",
    "covered_periods",
    "figures_for",
    "finished_run",
    "metric_of",
    "worst_comments",
]

REPORT_LANGUAGES = frozenset({"en", "pl"})

EMPTY_STATS = AnswerStats(0, 0, 0, 0, 0)


class ReportMetric(enum.StrEnum):
    """What a report shows."""

    NPS = "nps"
    """Net Promoter Score with its interval, change and trend."""
    CSAT = "csat"
    """Customer satisfaction (% of 4 and 5) with its interval, change and trend."""
    CES = "ces"
    """Customer effort (mean) with its interval, change and trend."""
    FUNNEL = "funnel"
    """Requests sent, opened and answered in the period, and the answer rate."""
    LEAGUE = "league"
    """Each store (segment) in the scope against the network average."""
    COMMENTS = "comments"
    """The period's comments, worst score first."""


SCORE_METRICS = {
    ReportMetric.NPS: SurveyType.NPS,
    ReportMetric.CSAT: SurveyType.CSAT,
    ReportMetric.CES: SurveyType.CES,
}


def _check_time(_: object, __: object, value: time) -> None:
    if value.tzinfo is not None:
        raise ValidationError("a report's time is a local wall-clock time, without a zone")


@attrs.frozen(kw_only=True)
class Recurrence:
    """When a report goes out, on each recipient's local calendar.

    :ivar every: ``day``, ``week`` or ``month``; the report covers the previous whole one.
    :ivar at: the local time it goes out.
    :ivar weekday: for a weekly report, Monday = 0 … Sunday = 6.
    :ivar day: for a monthly report, the day of the month (1: the first).

    A day the report's window is shut (a weekend, a public holiday) moves to the next open
    day of the same period: "monthly on the first working day" is ``every="month", day=1``
    with a Monday-to-Friday window and the country's holidays.
    """

    every: Period = attrs.field(default=Period.WEEK, converter=Period)
    at: time = attrs.field(default=time(8, 0), validator=_check_time)
    weekday: int = attrs.field(
        default=0, validator=[attrs.validators.ge(0), attrs.validators.le(6)]
    )
    day: int = attrs.field(default=1, validator=[attrs.validators.ge(1), attrs.validators.le(28)])

    def check(self, window: SendWindow) -> None:
        """Check that the report can go out in *window*.

        :raises ValidationError: a weekly report on a weekday with no working day after it
            in the same week (Saturday with a Monday-to-Friday window).
        """
        if self.every is Period.WEEK and not any(
            d in window.weekdays for d in range(self.weekday, 7)
        ):
            names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
            raise ValidationError(
                f"a weekly report on {names[self.weekday]} never goes out: no working day "
                "follows it in the same week; choose a working weekday"
            )

    def _nominal_days(self, start: date) -> Iterable[date]:
        """The nominal days from the start of *start*'s period on (dateutil's rrule)."""
        if self.every is Period.DAY:
            rule = rrule(DAILY, dtstart=datetime.combine(start, time(0)))
        elif self.every is Period.WEEK:
            monday = start - timedelta(days=start.weekday())
            rule = rrule(WEEKLY, byweekday=self.weekday, dtstart=datetime.combine(monday, time(0)))
        else:
            first = start.replace(day=1)
            rule = rrule(MONTHLY, bymonthday=self.day, dtstart=datetime.combine(first, time(0)))
        return (moment.date() for moment in rule)

    def _moved(self, nominal: date, window: SendWindow) -> date | None:
        """*nominal*, or the first open day after it in the same period (``None``: none)."""
        end = _period_start(self.every, nominal) + _one(self.every)
        day = nominal
        while day < end:
            if window.is_open_on(day):
                return day
            day += timedelta(days=1)
        return None

    def occurrences(self, zone: tzinfo, window: SendWindow, after: datetime) -> Iterable[datetime]:
        """The instants (UTC) the report goes out strictly after *after*, in order.

        A local time a DST change skips goes out at the same wall time shifted by the gap
        (as :class:`zoneinfo.ZoneInfo` reads it).
        """
        after = as_utc(after)
        start = _period_start(self.every, after.astimezone(zone).date())
        shut = 0
        for nominal in self._nominal_days(start):
            day = self._moved(nominal, window)
            if day is None:
                shut += 1
                if shut > 400:
                    raise ValidationError("the report's window never opens")
                continue
            shut = 0
            instant = as_utc(datetime.combine(day, self.at, tzinfo=zone))
            if instant > after:
                yield instant

    def last_before(
        self, zone: tzinfo, window: SendWindow, until: datetime, *, since: datetime
    ) -> datetime | None:
        """The latest instant the report went out in (*since*, *until*], if any."""
        found = None
        for instant in self.occurrences(zone, window, since):
            if instant > as_utc(until):
                break
            found = instant
        return found


def _one(every: Period) -> relativedelta:
    return {
        Period.DAY: relativedelta(days=1),
        Period.WEEK: relativedelta(weeks=1),
        Period.MONTH: relativedelta(months=1),
    }[every]


def _period_start(every: Period, day: date) -> date:
    if every is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if every is Period.MONTH:
        return day.replace(day=1)
    return day


def covered_periods(every: Period, zone: tzinfo, sent_at: datetime, count: int) -> list[Bucket]:
    """The *count* whole periods before the one *sent_at* falls in, oldest first: the last
    is the period a report sent at *sent_at* covers, the one before it its comparison."""
    if count < 1:
        raise ValidationError(f"a report covers at least one period, not {count}")
    current = _period_start(every, as_utc(sent_at).astimezone(zone).date())
    first = current - _one(every) * count
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(current, time(0), tzinfo=zone)
    found = buckets(every, zone, start, end)
    return found[-count:]


def _frozen_segments(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise ValidationError("a scope's segments are a list of names, not one string")
    return frozenset(values)


@attrs.frozen(kw_only=True)
class Scope:
    """The part of the business one recipient sees.

    :ivar label: how the report names it (``"Store Kraków 1"``, ``"Region South"``).
    :ivar segments: the stores (segments) in it; empty for the whole network.
    """

    label: str = "All"
    segments: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_segments)

    def contains(self, segment: str | None) -> bool:
        """Whether answers and requests of *segment* belong to this scope."""
        return not self.segments or segment in self.segments


def _check_language(_: object, __: object, value: str) -> None:
    if value not in REPORT_LANGUAGES:
        raise ValidationError(
            f"report language {value!r}: choose {', '.join(sorted(REPORT_LANGUAGES))}"
        )


def _check_zone(_: object, __: object, value: str) -> None:
    load_zone(value)


def _check_address(_: object, __: object, value: str) -> None:
    if "@" not in value or any(c in value for c in "\r\n\t ,;<>"):
        raise ValidationError(f"report recipient {value!r} is not an e-mail address")


@attrs.frozen(kw_only=True)
class ReportRecipient:
    """Who receives a report, what they see, on which calendar and in which language.

    :ivar address: the e-mail address.
    :ivar name: shown in the greeting, when given.
    """

    address: str = attrs.field(validator=_check_address)
    scope: Scope = attrs.field(factory=Scope)
    timezone: str = attrs.field(default="UTC", validator=_check_zone)
    language: str = attrs.field(default="en", validator=_check_language)
    name: str | None = None


def metric_of(value: str) -> ReportMetric:
    """The metric *value* names.

    :raises ValidationError: not a metric, naming the choices.
    """
    try:
        return ReportMetric(value)
    except ValueError:
        choices = ", ".join(m.value for m in ReportMetric)
        raise ValidationError(f"unknown report metric {value!r}: choose from {choices}") from None


def _to_metrics(values: Iterable[ReportMetric | str]) -> tuple[ReportMetric, ...]:
    if isinstance(values, str):
        values = [values]
    found = []
    for value in values:
        metric = metric_of(value)
        if metric not in found:
            found.append(metric)
    return tuple(found)


def _to_recipients(values: Iterable[ReportRecipient]) -> tuple[ReportRecipient, ...]:
    found = tuple(values)
    addresses = [r.address.lower() for r in found]
    twice = sorted({a for a in addresses if addresses.count(a) > 1})
    if twice:
        raise ValidationError(f"report recipient listed twice: {', '.join(twice)}")
    return found


def _check_name(_: object, __: object, value: str) -> None:
    if not value.strip() or len(value) > 200:
        raise ValidationError("a report needs a name (at most 200 characters)")


@attrs.frozen(kw_only=True)
class ReportDefinition:
    """A report sent on a schedule to many people, each seeing their own part.

    :ivar name: unique among reports.
    :ivar title: the e-mail's subject and heading (the period is added).
    :ivar metrics: what it shows, in this order.
    :ivar recipients: who gets it; each sees their :class:`Scope`.
    :ivar recurrence: when it goes out (each recipient's local time).
    :ivar window: working days and holidays the recurrence keeps to.
    :ivar trend_periods: how many periods the trend chart shows (the last is the report's).
    :ivar comments: how many comments it lists at most.
    :ivar min_sample: fewer answers than this show as "not enough answers".
    :ivar sender: the From address (the transport's default when ``None``).
    """

    name: str = attrs.field(validator=_check_name)
    title: str = "Customer feedback report"
    metrics: tuple[ReportMetric, ...] = attrs.field(
        default=(ReportMetric.NPS, ReportMetric.FUNNEL, ReportMetric.LEAGUE, ReportMetric.COMMENTS),
        converter=_to_metrics,
    )
    recipients: tuple[ReportRecipient, ...] = attrs.field(default=(), converter=_to_recipients)
    recurrence: Recurrence = attrs.field(factory=Recurrence)
    window: SendWindow = attrs.field(factory=SendWindow)
    trend_periods: int = attrs.field(
        default=8, validator=[attrs.validators.ge(2), attrs.validators.le(52)]
    )
    comments: int = attrs.field(
        default=5, validator=[attrs.validators.ge(0), attrs.validators.le(50)]
    )
    min_sample: int = attrs.field(default=30, validator=attrs.validators.ge(1))
    sender: str | None = None
    created_at: datetime | None = None
    id: str = attrs.field(factory=new_id)

    def __attrs_post_init__(self) -> None:
        if not self.metrics:
            raise ValidationError(f"report {self.name!r} shows no metric")
        self.recurrence.check(self.window)

    @property
    def kinds(self) -> tuple[SurveyType, ...]:
        """The survey types whose scores the report shows."""
        return tuple(SCORE_METRICS[m] for m in self.metrics if m in SCORE_METRICS)

    def recipient(self, address: str) -> ReportRecipient:
        """The recipient with *address*.

        :raises ValidationError: not a recipient of this report.
        """
        for r in self.recipients:
            if r.address.lower() == address.lower():
                return r
        raise ValidationError(f"{address} does not receive report {self.name!r}")


class ReportRunStatus(enum.StrEnum):
    """Where one report for one recipient and period is in the outbox."""

    PENDING = "pending"
    """Waiting to be claimed (first time, or a retry at ``due_at``)."""
    CLAIMED = "claimed"
    """A worker holds it under a lease."""
    SENT = "sent"
    """The transport took it."""
    FAILED = "failed"
    """The transport refused it for good, or it failed too often."""


@attrs.frozen(kw_only=True)
class ReportRun:
    """One report for one recipient and one period: unique per (report, recipient, period).

    :ivar period: the covered period's label (``2026-W48``).
    :ivar start: the covered period's start (UTC).
    :ivar end: its end (UTC, exclusive).
    :ivar due_at: when it is to go out (or be retried).
    """

    report_id: str
    recipient: str
    period: str
    start: datetime = attrs.field(converter=as_utc)
    end: datetime = attrs.field(converter=as_utc)
    due_at: datetime = attrs.field(converter=as_utc)
    status: ReportRunStatus = attrs.field(
        default=ReportRunStatus.PENDING, converter=ReportRunStatus
    )
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    id: str = attrs.field(factory=new_id)

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes it unique: report id, recipient address (case-folded), period."""
        return (self.report_id, self.recipient.lower(), self.period)

    @property
    def message_id(self) -> str:
        """The e-mail's Message-ID local part: the same on every retry."""
        return f"report-{self.id}"


def finished_run(
    run: ReportRun,
    status: ReportRunStatus,
    at: datetime,
    error: str | None,
    retry_at: datetime | None,
) -> ReportRun:
    """*run* after a send attempt at *at*: its lease released, the attempt counted, sent or
    failed for good, or pending again at *retry_at* (the rule every store applies)."""
    return attrs.evolve(
        run,
        status=status,
        attempts=run.attempts + 1,
        claimed_by=None,
        lease_until=None,
        last_error=error,
        due_at=retry_at or run.due_at,
        sent_at=at if status is ReportRunStatus.SENT else run.sent_at,
    )


# -- figures ------------------------------------------------------------------------------


@attrs.frozen
class Funnel:
    """Requests sent in a period, and how many of them were opened and answered."""

    sent: int = 0
    opened: int = 0
    answered: int = 0

    def plus(self, other: Funnel) -> Funnel:
        """Both together."""
        return Funnel(
            self.sent + other.sent, self.opened + other.opened, self.answered + other.answered
        )

    @property
    def answer_rate(self) -> float | None:
        """Answered as a percentage of sent (``None`` when nothing was sent)."""
        return self.answered / self.sent * 100 if self.sent else None

    @property
    def open_rate(self) -> float | None:
        """Opened as a percentage of sent."""
        return self.opened / self.sent * 100 if self.sent else None


@attrs.frozen
class LeagueRow:
    """One store of the scope in the league table, and its distance from the network."""

    group: str | None
    score: Score
    versus_network: float | None


@attrs.frozen
class KindFigures:
    """One survey type's figures in a report.

    :ivar change: current minus previous value (``None`` when either has no answers).
    :ivar p_value: two-sided p-value of the change (``None`` when it cannot be tested).
    :ivar significant: the change is unlikely to be chance (p < 0.05, both samples large
        enough).
    :ivar trend: ``(period label, score)`` for the report's trend periods, oldest first.
    :ivar league: the scope's stores, best first.
    :ivar network: the whole network's score in the period.
    """

    kind: SurveyType
    current: Score
    previous: Score
    change: float | None
    p_value: float | None
    significant: bool
    trend: tuple[tuple[str, Score], ...]
    league: tuple[LeagueRow, ...]
    network: Score


@attrs.frozen
class ReportFigures:
    """What one recipient's report shows for one period."""

    report: ReportDefinition
    recipient: ReportRecipient
    period: Bucket
    previous: Bucket
    kinds: tuple[KindFigures, ...]
    funnel: Funnel | None
    comments: tuple[Answer, ...]

    @property
    def empty(self) -> bool:
        """Nothing to show: no answers and no requests sent in the period."""
        return (
            all(k.current.n == 0 for k in self.kinds)
            and (self.funnel is None or self.funnel.sent == 0)
            and not self.comments
        )


def _variance(kind: SurveyType, stats: AnswerStats) -> float | None:
    """The variance of one answer's contribution to the score (in the score's units)."""
    n = stats.n
    if n < 2:
        return None
    if kind is SurveyType.NPS:
        p, d = stats.top / n, stats.bottom / n
        return max(p + d - (p - d) ** 2, 0.0) * 100 * 100
    if kind is SurveyType.CSAT:
        p = stats.top / n
        return p * (1 - p) * 100 * 100
    mean = stats.total / n
    return max((stats.squares - n * mean * mean) / (n - 1), 0.0)


def change_significance(
    kind: SurveyType, current: AnswerStats, previous: AnswerStats
) -> float | None:
    """The two-sided p-value of the difference between two periods' scores (a z test on
    the difference of two independent estimates); ``None`` when either has under two
    answers or neither varies."""
    a, b = _variance(kind, current), _variance(kind, previous)
    if a is None or b is None:
        return None
    se = math.sqrt(a / current.n + b / previous.n)
    if se == 0:
        return None
    va, vb = score_of(kind, current).value, score_of(kind, previous).value
    assert va is not None
    assert vb is not None
    z = (va - vb) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _sum_scope(
    stats: Mapping[tuple[str | None, int | None], AnswerStats], scope: Scope, index: int
) -> AnswerStats:
    total = EMPTY_STATS
    for (group, at), sums in stats.items():
        if at == index and scope.contains(group):
            total = total.plus(sums)
    return total


def figures_for(
    report: ReportDefinition,
    recipient: ReportRecipient,
    periods: Sequence[Bucket],
    stats: Mapping[SurveyType, Mapping[tuple[str | None, int | None], AnswerStats]],
    funnels: Mapping[str | None, Funnel] | None,
    comments: Sequence[Answer],
) -> ReportFigures:
    """One recipient's figures from sums aggregated for every scope at once.

    :param periods: the trend periods, oldest first; the last is the report's period.
    :param stats: per survey type, ``(segment, period index)`` to sums (as
        :meth:`reviewkit.ports.AnswerRepository.answer_stats` returns with ``by="segment"``).
    :param funnels: per segment, the requests sent in the report's period.
    :param comments: the period's comments, worst first, across every scope.
    """
    scope = recipient.scope
    last = len(periods) - 1
    kinds = []
    for kind in report.kinds:
        per_kind = stats.get(kind, {})
        sums = [_sum_scope(per_kind, scope, i) for i in range(len(periods))]
        current, previous = sums[last], sums[last - 1]
        now_score = score_of(kind, current, min_sample=report.min_sample)
        before = score_of(kind, previous, min_sample=report.min_sample)
        change = None
        if now_score.value is not None and before.value is not None:
            change = now_score.value - before.value
        p_value = change_significance(kind, current, previous)
        network_sums = _sum_scope(per_kind, Scope(), last)
        network = score_of(kind, network_sums, min_sample=report.min_sample)
        league = []
        for (group, at), group_sums in per_kind.items():
            if at != last or not scope.contains(group):
                continue
            score = score_of(kind, group_sums, min_sample=report.min_sample)
            versus = None
            if score.value is not None and network.value is not None:
                versus = score.value - network.value
            league.append(LeagueRow(group, score, versus))
        league.sort(
            key=lambda row: (row.score.too_small, -(row.score.value or 0.0), row.group or "")
        )
        kinds.append(
            KindFigures(
                kind=kind,
                current=now_score,
                previous=before,
                change=change,
                p_value=p_value,
                significant=(
                    p_value is not None
                    and p_value < 0.05
                    and not now_score.too_small
                    and not before.too_small
                ),
                trend=tuple(
                    (periods[i].label, score_of(kind, sums[i], min_sample=report.min_sample))
                    for i in range(len(periods))
                ),
                league=tuple(league),
                network=network,
            )
        )
    funnel = None
    if ReportMetric.FUNNEL in report.metrics:
        funnel = Funnel()
        for group, counts in (funnels or {}).items():
            if scope.contains(group):
                funnel = funnel.plus(counts)
    chosen: tuple[Answer, ...] = ()
    if ReportMetric.COMMENTS in report.metrics and report.comments:
        chosen = tuple(a for a in comments if scope.contains(a.segment))[: report.comments]
    return ReportFigures(
        report=report,
        recipient=recipient,
        period=periods[last],
        previous=periods[last - 1],
        kinds=tuple(kinds),
        funnel=funnel,
        comments=chosen,
    )


def _badness(answer: Answer) -> tuple[float, float]:
    low, high = DEFAULT_SCALES[answer.kind]
    return ((answer.score - low) / (high - low), -answer.at.timestamp())


def worst_comments(
    answers: Iterable[Answer], *, per_segment: int, kinds: Collection[SurveyType]
) -> list[Answer]:
    """The answers with a comment, worst score first (then newest), at most *per_segment*
    of each segment: enough for any scope's report, read in one pass."""
    kept: dict[str | None, list[tuple[tuple[float, float], int, Answer]]] = {}
    for seq, answer in enumerate(answers):
        if not answer.comment or answer.kind not in kinds:
            continue
        heap = kept.setdefault(answer.segment, [])
        badness = _badness(answer)
        # A max-heap on badness (negated) keeps the per_segment worst.
        entry = ((-badness[0], -badness[1]), seq, answer)
        if len(heap) < per_segment:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    found = [answer for heap in kept.values() for _, _, answer in heap]
    found.sort(key=_badness)
    return found
