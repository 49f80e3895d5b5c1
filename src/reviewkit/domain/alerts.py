"""Alert rules, what they find, and the life of an alert.

Rules are data (attrs values that round-trip through :mod:`reviewkit.serialization`, so a
host can keep them as JSON), checked when they are made. Five kinds:

- :class:`AnswerRule` — one bad answer (NPS ≤ 6, CSAT ≤ 2, CES ≥ 6 by default), optionally
  only in some campaigns, segments or channels, for customers with given fields (VIP), or
  whose comment contains one of some words.
- :class:`BurstRule` — at least *count* bad answers among the last *among* answers, or within
  a span of time, in one group (one store, one segment).
- :class:`LevelRule` — a group's score over a rolling window worse than a level, firing only
  when its whole 95 % interval is on the worse side and the group has the minimum sample.
- :class:`DropRule` — a group's score this window against the window before, firing when the
  95 % interval of the change lies wholly on the worse side.
- :class:`TrendRule` — a slow slide over the last N periods: the Mann-Kendall test in the
  worse direction, with Sen's slope.
- :class:`TopicRule` — more and more customers mention the same problem: the share of
  answers whose comment contains one of some words rises over the last N periods (the same
  test, on the share).

The aggregate rules (level, drop, trend, topic) fire on a one-sided 2.5 % error rate by default: on
a stable score, about one evaluation in forty could fire by chance at the most, and the
``for_`` duration (an alert must hold that long before it fires) cuts that further.

An alert is identified by its rule and its group (:func:`fingerprint`) and lives through
:class:`AlertState` Pending (holding, not yet for ``for_``) → Firing → Resolved, as in
Prometheus' Alertmanager; :func:`advance` is that state machine, a pure function.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Channel
from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Request
from reviewkit.domain.scoring import AnswerStats, Period, check_dimension, score_of
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.trends import (
    difference_interval,
    higher_is_better,
    mann_kendall,
    metric_value,
)
from reviewkit.domain.window import load_zone
from reviewkit.errors import ValidationError

__all__ = [
    "DEFAULT_BAD",
    "Alert",
    "AlertRule",
    "AlertState",
    "AnswerFilter",
    "AnswerRule",
    "BurstRule",
    "DropRule",
    "Evidence",
    "Finding",
    "LevelRule",
    "Severity",
    "TopicRule",
    "Transition",
    "TrendRule",
    "advance",
    "fingerprint",
    "freeze_labels",
    "group_of",
    "is_bad",
    "mentions",
    "scrubbed",
]

DEFAULT_BAD = {SurveyType.NPS: 6, SurveyType.CSAT: 2, SurveyType.CES: 6}
"""The score that makes one answer bad, by survey type: NPS and CSAT at or below it,
CES (effort, 1 to 7) at or above it."""

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Severity(enum.StrEnum):
    """How urgent an alert is; routes may match on it (label ``severity``)."""

    INFO = "info"
    """Worth knowing, in a digest."""
    WARNING = "warning"
    """Someone should look today."""
    CRITICAL = "critical"
    """Someone should look now."""


def freeze_labels(value: Mapping[str, str] | None) -> Mapping[str, str]:
    labels = dict(value or {})
    for key, text in labels.items():
        if not isinstance(key, str) or not _LABEL.match(key):
            raise ValidationError(
                f"label name {key!r}: use letters, digits and _ (not starting with a digit)"
            )
        if not isinstance(text, str):
            raise ValidationError(f"label {key}: the value must be text, not {text!r}")
    return labels


def _check_name(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError("an alert rule needs a name")
    if any(ord(c) < 32 for c in value):
        raise ValidationError(f"alert rule name {value!r} contains a control character")


def _check_by(_: object, __: object, value: str | None) -> None:
    check_dimension(value)


def _check_group(_: object, __: object, value: str) -> None:
    check_dimension(value)


def _check_for(_: object, __: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value < timedelta(0):
        raise ValidationError(f"for_ must not be negative, not {value}")


def _positive(name: str) -> Any:
    def check(_: object, __: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value <= type(value)(0):
            raise ValidationError(f"{name} must be positive, not {value}")

    return check


@attrs.frozen(kw_only=True)
class _RuleBase:
    """What every rule has.

    :ivar id: stable identity (a fresh one by default).
    :ivar name: shown in notifications; unique in a store.
    :ivar survey: which answers it reads.
    :ivar labels: for routing (``team="north"``); the alert also carries ``alertname`` (the
        rule's name), ``severity`` and the group's dimension and value.
    :ivar for_: how long the condition must hold before the alert fires (0: at once).
    """

    id: str = attrs.field(factory=new_id)
    name: str = attrs.field(validator=_check_name)
    survey: SurveyType = attrs.field(converter=SurveyType)
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=freeze_labels)
    severity: Severity = attrs.field(default=Severity.WARNING, converter=Severity)
    for_: timedelta = attrs.field(default=timedelta(0), validator=_check_for)


def _texts(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _channels(values: Sequence[Channel | str]) -> tuple[Channel, ...]:
    return tuple(Channel(c) for c in values)


def _field_values(values: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {str(k): _texts([v] if isinstance(v, str) else v) for k, v in values.items()}


def _words(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(w.strip().casefold() for w in values if w.strip())


@attrs.frozen(kw_only=True)
class AnswerFilter:
    """Which answers count: empty tuples mean any."""

    campaigns: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    segments: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    channels: tuple[Channel, ...] = attrs.field(default=(), converter=_channels)
    fields: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_field_values)

    def admits(self, answer: Answer, request: Request | None) -> bool:
        """Whether *answer* (to *request*) is one the rule looks at."""
        if self.campaigns and answer.campaign_id not in self.campaigns:
            return False
        if self.segments and answer.segment not in self.segments:
            return False
        if self.channels and answer.channel not in self.channels:
            return False
        if self.fields:
            if request is None:
                return False
            have = request.recipient.fields
            for name, allowed in self.fields.items():
                if str(have.get(name, "")) not in allowed:
                    return False
        return True


def mentions(comment: str | None, words: Sequence[str]) -> bool:
    """Whether *comment* contains one of *words* (already case-folded), in any letter case:
    ``"kolejk"`` is found in "Długie KOLEJKI"."""
    if not comment:
        return False
    folded = comment.casefold()
    return any(word in folded for word in words)


def _default_threshold(rule: Any) -> int:
    return DEFAULT_BAD[SurveyType(rule.survey)]


def is_bad(kind: SurveyType, score: int, threshold: int) -> bool:
    """Whether *score* is bad: at or below *threshold* for NPS and CSAT, at or above it for
    CES."""
    return score <= threshold if higher_is_better(kind) else score >= threshold


@attrs.frozen(kw_only=True)
class AnswerRule(_RuleBase):
    """Fires for one bad answer.

    :ivar threshold: the bad score (:data:`DEFAULT_BAD` for the survey type by default).
    :ivar filters: which answers it looks at.
    :ivar words: only when the comment contains one of these (any letter case); empty: any.
    """

    threshold: int = attrs.field(default=attrs.Factory(_default_threshold, takes_self=True))
    filters: AnswerFilter = attrs.field(factory=AnswerFilter)
    words: tuple[str, ...] = attrs.field(default=(), converter=_words)

    def __attrs_post_init__(self) -> None:
        if self.for_ > timedelta(0):
            raise ValidationError(
                f"answer rule {self.name!r}: one answer fires at once; for_ must be 0"
            )

    def matches(self, answer: Answer, request: Request | None = None) -> bool:
        """Whether *answer* (to *request*, needed for field filters) makes this rule fire."""
        if answer.kind is not self.survey or not answer.current:
            return False
        if not is_bad(self.survey, answer.score, self.threshold):
            return False
        if not self.filters.admits(answer, request):
            return False
        return not self.words or mentions(answer.comment, self.words)


@attrs.frozen(kw_only=True)
class BurstRule(_RuleBase):
    """Fires when one group gets *count* bad answers among its last *among* answers, or
    within *within* (give one of the two).

    :ivar by: the group: ``segment``, ``channel``, ``campaign`` or ``field:NAME``.
    """

    by: str = attrs.field(validator=_check_group)
    count: int = attrs.field(validator=_positive("count"))
    among: int | None = attrs.field(default=None, validator=_positive("among"))
    within: timedelta | None = attrs.field(default=None, validator=_positive("within"))
    threshold: int = attrs.field(default=attrs.Factory(_default_threshold, takes_self=True))
    filters: AnswerFilter = attrs.field(factory=AnswerFilter)

    def __attrs_post_init__(self) -> None:
        if (self.among is None) == (self.within is None):
            raise ValidationError(
                f"burst rule {self.name!r}: give either among (the last N answers) or within "
                "(a span of time)"
            )
        if self.among is not None and self.count > self.among:
            raise ValidationError(
                f"burst rule {self.name!r}: count {self.count} is more than among {self.among}"
            )


@attrs.frozen(kw_only=True)
class _AggregateRule(_RuleBase):
    """Rules on a group's score.

    :ivar by: the group (``segment``, ``channel``, ``campaign``, ``field:NAME``) or ``None``
        for all answers as one group.
    :ivar groups: only these values of *by* (empty: every group).
    :ivar campaign_id: only the answers of this campaign.
    :ivar min_sample: fewer answers than this never fire (and a firing alert resolves).
    """

    by: str | None = attrs.field(default=None, validator=_check_by)
    groups: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    campaign_id: str | None = None
    min_sample: int = attrs.field(default=30, validator=_positive("min_sample"))


@attrs.frozen(kw_only=True)
class LevelRule(_AggregateRule):
    """Fires when a group's score over the last *window* is worse than *worse_than*, with
    its whole 95 % interval on the worse side (below for NPS and CSAT, above for CES)."""

    worse_than: float
    window: timedelta = attrs.field(validator=_positive("window"))


@attrs.frozen(kw_only=True)
class DropRule(_AggregateRule):
    """Fires when a group's score over the last *window* is worse than over the window
    before it, the 95 % interval of the change wholly on the worse side, and the change at
    least *min_change* points."""

    window: timedelta = attrs.field(validator=_positive("window"))
    min_change: float = attrs.field(default=0.0)

    def __attrs_post_init__(self) -> None:
        if self.min_change < 0 or not math.isfinite(self.min_change):
            raise ValidationError(f"min_change must be 0 or more, not {self.min_change}")


@attrs.frozen(kw_only=True)
class TrendRule(_AggregateRule):
    """Fires on a slow slide: over the last *periods* complete periods (days, weeks or
    months on *timezone*'s calendar), the Mann-Kendall test finds a trend in the worse
    direction at significance *alpha* (one-sided). Periods with fewer than *min_sample*
    answers are left out; at least 4 must remain."""

    period: Period = attrs.field(default=Period.WEEK, converter=Period)
    periods: int = attrs.field(default=8)
    timezone: str = "UTC"
    alpha: float = 0.025
    min_sample: int = attrs.field(default=10, validator=_positive("min_sample"))

    def __attrs_post_init__(self) -> None:
        if not 4 <= self.periods <= 520:
            raise ValidationError(f"trend rule {self.name!r}: periods must be 4 to 520")
        if not 0 < self.alpha < 0.5:
            raise ValidationError(f"trend rule {self.name!r}: alpha must be between 0 and 0.5")
        load_zone(self.timezone)


def _first_word(rule: Any) -> str:
    return str(rule.words[0]) if rule.words else ""


@attrs.frozen(kw_only=True)
class TopicRule(_AggregateRule):
    """Fires when more and more customers mention the same problem: over the last *periods*
    complete periods (days, weeks or months on *timezone*'s calendar), the share of answers
    whose comment contains one of *words* rises, by the Mann-Kendall test at significance
    *alpha* (one-sided). The share counts every answer of the period, with or without a
    comment. Periods with fewer than *min_sample* answers are left out; at least 4 must
    remain.

    :ivar words: what the customers write (any letter case, found inside longer words: the
        stem ``"kolejk"`` finds "kolejka" and "kolejki").
    :ivar topic: what the words are about, for people ("queues"); the first word by default.
    """

    words: tuple[str, ...] = attrs.field(converter=_words)
    topic: str = attrs.field(default=attrs.Factory(_first_word, takes_self=True))
    period: Period = attrs.field(default=Period.WEEK, converter=Period)
    periods: int = attrs.field(default=8)
    timezone: str = "UTC"
    alpha: float = 0.025

    def __attrs_post_init__(self) -> None:
        if not self.words:
            raise ValidationError(f"topic rule {self.name!r}: give the words customers write")
        if not 4 <= self.periods <= 520:
            raise ValidationError(f"topic rule {self.name!r}: periods must be 4 to 520")
        if not 0 < self.alpha < 0.5:
            raise ValidationError(f"topic rule {self.name!r}: alpha must be between 0 and 0.5")
        load_zone(self.timezone)


AlertRule = AnswerRule | BurstRule | LevelRule | DropRule | TrendRule | TopicRule
"""Any kind of alert rule."""

PeriodRule = TrendRule | TopicRule
"""The rules that read a series of complete calendar periods."""


@attrs.frozen(kw_only=True)
class Evidence:
    """What made a rule fire (or hold): the context a notification carries.

    :ivar summary: one line for people.
    :ivar value: the group's current score (or the bad answer's score).
    :ivar low: the lower end of its 95 % interval, when there is one.
    :ivar high: the upper end.
    :ivar n: how many answers it stands on.
    :ivar previous: the score of the window before (drop rules).
    :ivar change: the change, and its interval in ``low``/``high`` (drop rules).
    :ivar slope: Sen's slope per period (trend rules; topic rules: percentage points of the
        share); ``p_value`` its one-sided p-value.
    :ivar answer_id: the answer (answer and burst rules: the latest bad one).
    :ivar request_id: its request; ``comment`` its comment; ``customer`` and
        ``transaction_id`` who and which order.
    """

    summary: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    previous: float | None = None
    previous_n: int | None = None
    change: float | None = None
    slope: float | None = None
    p_value: float | None = None
    answer_id: str | None = None
    request_id: str | None = None
    comment: str | None = None
    customer: str | None = None
    transaction_id: str | None = None


@attrs.frozen
class Finding:
    """One group's result of evaluating a rule: whether its condition holds now, and why.

    :ivar group: the value of the rule's ``by`` for this group (``None``: one group).
    :ivar key: what else tells alerts apart (an answer rule: the answer's id).
    """

    group: str | None
    active: bool
    evidence: Evidence
    key: str | None = None


class AlertState(enum.StrEnum):
    """Where an alert is in its life."""

    PENDING = "pending"
    """The condition holds, not yet for the rule's ``for_``: nobody is told."""
    FIRING = "firing"
    """The condition held long enough: the routes are notified."""
    RESOLVED = "resolved"
    """It no longer holds (or an operator resolved it): the routes are told it cleared."""


class Transition(enum.StrEnum):
    """What an evaluation did to an alert that people hear about."""

    FIRED = "fired"
    """The alert started firing."""
    RESOLVED = "resolved"
    """A firing alert cleared."""
    ESCALATED = "escalated"
    """A task about the alert passed its deadline and moved to the next person in line."""


@attrs.frozen(kw_only=True)
class Alert:
    """One alert: a rule's finding for one group, over its life.

    :ivar fingerprint: rule and group in one id (:func:`fingerprint`).
    :ivar group: the value of the rule's ``by`` it is about (``None``: all answers).
    :ivar labels: the rule's labels, ``alertname``, ``severity`` and the group's.
    :ivar started_at: when the condition started to hold (this episode).
    :ivar fired_at: when it started firing, if it did.
    :ivar resolved_at: when it cleared.
    :ivar notified_at: when its routes were last told it fires (for ``repeat_interval``).
    :ivar evidence: the latest evidence.
    """

    fingerprint: str
    rule_id: str
    rule_name: str
    group: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=freeze_labels)
    state: AlertState = attrs.field(converter=AlertState)
    started_at: datetime = attrs.field(converter=as_utc)
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime = attrs.field(converter=as_utc)
    notified_at: datetime | None = None
    evidence: Evidence


def group_of(by: str | None, answer: Answer, request: Request | None) -> str | None:
    """The value of dimension *by* for *answer* (``None`` when it has none)."""
    if by is None:
        return None
    if by == "segment":
        return answer.segment
    if by == "channel":
        return answer.channel.value
    if by == "campaign":
        return answer.campaign_id
    if request is None:
        return None
    value = request.recipient.fields.get(by.removeprefix("field:"))
    return None if value is None else str(value)


def alert_labels(rule: AlertRule, group: str | None) -> dict[str, str]:
    """The labels of *rule*'s alert for *group*."""
    labels = dict(rule.labels)
    labels["alertname"] = rule.name
    labels["severity"] = rule.severity.value
    by = getattr(rule, "by", None)
    if by is not None and group is not None:
        labels[by.replace("field:", "").replace(":", "_")] = group
    return labels


def fingerprint(rule_id: str, group: str | None, key: str | None = None) -> str:
    """The identity of a rule's alert for one group (and key): a short stable hash."""
    text = "\x1f".join((rule_id, "" if group is None else group, "" if key is None else key))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def scrubbed(evidence: Evidence) -> Evidence:
    """*evidence* without what it quoted of a customer (their name, comment, transaction),
    for a contact who was erased."""
    if evidence.customer is None and evidence.comment is None and evidence.transaction_id is None:
        return evidence
    summary = evidence.summary.split(" from ", 1)[0] + " (from an erased contact)"
    return attrs.evolve(evidence, summary=summary, customer=None, comment=None, transaction_id=None)


def answer_finding(rule: AnswerRule, answer: Answer, request: Request | None) -> Finding | None:
    """The finding of an answer rule for one answer, or ``None`` when it does not fire."""
    if not rule.matches(answer, request):
        return None
    return Finding(None, True, _answer_evidence(rule.survey, answer, request), key=answer.id)


def _who(request: Request) -> str:
    """Whom an answer came from, as people read it: the name, else the address; an open
    survey link's answer has neither, only where it was given."""
    if request.channel is Channel.LINK:
        where = request.recipient.segment
        return f"a customer at {where}" if where else "a customer through an open link"
    return request.recipient.name or request.address


def _answer_evidence(kind: SurveyType, answer: Answer, request: Request | None) -> Evidence:
    who = None if request is None else _who(request)
    return Evidence(
        summary=f"{kind.value.upper()} answer {answer.score}"
        + (f' from {who}: "{answer.comment}"' if who and answer.comment else "")
        + (f" from {who}" if who and not answer.comment else ""),
        value=float(answer.score),
        n=1,
        answer_id=answer.id,
        request_id=answer.request_id,
        comment=answer.comment,
        customer=who,
        transaction_id=None if request is None else request.recipient.transaction_id,
    )


def burst_finding(
    rule: BurstRule, group: str | None, recent: Sequence[Answer], request: Request | None = None
) -> Finding:
    """The finding of a burst rule for one group, from its recent answers (newest first:
    the last *among*, or those within *within*)."""
    considered = list(recent[: rule.among]) if rule.among is not None else list(recent)
    bad = [a for a in considered if is_bad(rule.survey, a.score, rule.threshold)]
    active = len(bad) >= rule.count
    span = f"among the last {rule.among} answers" if rule.among else f"within {rule.within}"
    where = "" if group is None else f" in {rule.by} {group}"
    base = (
        _answer_evidence(
            rule.survey,
            bad[0],
            request if request is not None and request.id == bad[0].request_id else None,
        )
        if bad
        else Evidence(summary="", n=len(considered))
    )
    return Finding(
        group,
        active,
        attrs.evolve(
            base,
            summary=f"{len(bad)} bad answers {span}{where} (fires at {rule.count})",
            n=len(considered),
            value=float(len(bad)),
        ),
    )


def level_finding(rule: LevelRule, group: str | None, stats: AnswerStats) -> Finding:
    """The finding of a level rule for one group from its answers in the window."""
    score = score_of(rule.survey, stats, min_sample=rule.min_sample)
    where = "" if group is None else f" for {rule.by} {group}"
    name = rule.survey.value.upper()
    if score.value is None or score.too_small or score.low is None or score.high is None:
        return Finding(
            group,
            False,
            Evidence(summary=f"{name}{where}: {stats.n} answers, too few to judge", n=stats.n),
        )
    if higher_is_better(rule.survey):
        active = score.high < rule.worse_than
    else:
        active = score.low > rule.worse_than
    return Finding(
        group,
        active,
        Evidence(
            summary=f"{name}{where} {score.value:.1f} (95 % interval {score.low:.1f} to "
            f"{score.high:.1f}, {stats.n} answers); alert level {rule.worse_than:g}",
            value=score.value,
            low=score.low,
            high=score.high,
            n=stats.n,
        ),
    )


def drop_finding(
    rule: DropRule, group: str | None, before: AnswerStats, after: AnswerStats
) -> Finding:
    """The finding of a drop rule for one group from the window before and the last one."""
    where = "" if group is None else f" for {rule.by} {group}"
    name = rule.survey.value.upper()
    if before.n < rule.min_sample or after.n < rule.min_sample:
        return Finding(
            group,
            False,
            Evidence(
                summary=f"{name}{where}: {before.n} and {after.n} answers, too few to compare",
                n=after.n,
                previous_n=before.n,
            ),
        )
    diff = difference_interval(rule.survey, before, after)
    active = diff.worse and abs(diff.change) >= rule.min_change
    return Finding(
        group,
        active,
        Evidence(
            summary=f"{name}{where} {diff.after:.1f}, was {diff.before:.1f}: change "
            f"{diff.change:+.1f} (95 % interval {diff.low:+.1f} to {diff.high:+.1f})",
            value=diff.after,
            previous=diff.before,
            change=diff.change,
            low=diff.low,
            high=diff.high,
            n=after.n,
            previous_n=before.n,
        ),
    )


def _too_few_periods(group: str | None, what: str, count: int) -> Finding:
    """A series rule's finding when fewer than 4 periods have enough answers: it holds not."""
    return Finding(group, False, Evidence(summary=f"{what}: {count} periods with enough answers"))


def trend_finding(rule: TrendRule, group: str | None, series: Sequence[AnswerStats]) -> Finding:
    """The finding of a trend rule for one group from its sums per period, oldest first."""
    where = "" if group is None else f" for {rule.by} {group}"
    name = rule.survey.value.upper()
    values = [
        v
        for stats in series
        if stats.n >= rule.min_sample and (v := metric_value(rule.survey, stats)) is not None
    ]
    if len(values) < 4:
        return _too_few_periods(group, f"{name}{where}", len(values))
    test = mann_kendall(values)
    worse_p = test.p_decreasing if higher_is_better(rule.survey) else test.p_increasing
    active = worse_p < rule.alpha
    return Finding(
        group,
        active,
        Evidence(
            summary=f"{name}{where} over {len(values)} {rule.period.value}s: Sen's slope "
            f"{test.slope:+.2f} a {rule.period.value}, Mann-Kendall p = {worse_p:.3f} "
            f"(fires below {rule.alpha:g})",
            value=values[-1],
            n=series[-1].n if series else None,
            slope=test.slope,
            p_value=worse_p,
        ),
    )


def topic_finding(rule: TopicRule, group: str | None, series: Sequence[tuple[int, int]]) -> Finding:
    """The finding of a topic rule for one group from its answers per period, oldest first:
    ``(answers, answers mentioning the topic)``."""
    where = "" if group is None else f" for {rule.by} {group}"
    name = rule.survey.value.upper()
    shares = [100.0 * hits / n for n, hits in series if n >= rule.min_sample]
    if len(shares) < 4:
        return _too_few_periods(group, f"{name}{where}", len(shares))
    test = mann_kendall(shares)
    return Finding(
        group,
        test.p_increasing < rule.alpha,
        Evidence(
            summary=f"{name} answers mentioning {rule.topic}{where}: {shares[0]:.1f} % to "
            f"{shares[-1]:.1f} % over {len(shares)} {rule.period.value}s, Sen's slope "
            f"{test.slope:+.2f} points a {rule.period.value}, Mann-Kendall p = "
            f"{test.p_increasing:.3f} (fires below {rule.alpha:g})",
            value=shares[-1],
            n=series[-1][0],
            slope=test.slope,
            p_value=test.p_increasing,
        ),
    )


def advance(
    alert: Alert | None,
    *,
    rule: AlertRule,
    finding: Finding,
    now: datetime,
) -> tuple[Alert | None, Transition | None]:
    """The alert state machine: what *finding* (made at *now*) does to the rule's alert
    for that group.

    - holds, no alert (or a resolved one): a new episode, Pending — or Firing at once when
      ``for_`` is 0;
    - holds, Pending for ``for_`` already: Firing;
    - holds, Firing: stays Firing, with the new evidence;
    - no longer holds, Pending: the alert is dropped (nobody was told);
    - no longer holds, Firing: Resolved.

    :returns: the alert as it is now (``None``: there is none) and the transition people
        are told about, if any.
    """
    now = as_utc(now)
    key = fingerprint(rule.id, finding.group, finding.key)
    if finding.active:
        if alert is None or alert.state is AlertState.RESOLVED:
            fires = rule.for_ <= timedelta(0)
            fresh = Alert(
                fingerprint=key,
                rule_id=rule.id,
                rule_name=rule.name,
                group=finding.group,
                labels=alert_labels(rule, finding.group),
                state=AlertState.FIRING if fires else AlertState.PENDING,
                started_at=now,
                fired_at=now if fires else None,
                updated_at=now,
                evidence=finding.evidence,
            )
            return fresh, Transition.FIRED if fires else None
        if alert.state is AlertState.PENDING and now - alert.started_at >= rule.for_:
            fired = attrs.evolve(
                alert,
                state=AlertState.FIRING,
                fired_at=now,
                updated_at=now,
                evidence=finding.evidence,
            )
            return fired, Transition.FIRED
        return attrs.evolve(alert, updated_at=now, evidence=finding.evidence), None
    if alert is None or alert.state is AlertState.RESOLVED:
        return alert, None
    if alert.state is AlertState.PENDING:
        return None, None
    resolved = attrs.evolve(
        alert,
        state=AlertState.RESOLVED,
        resolved_at=now,
        updated_at=now,
        evidence=finding.evidence,
    )
    return resolved, Transition.RESOLVED
