"""Alert rules: the statistics against independent references, the rules as data, what each
kind finds, false alarms and power on simulated answers, and the alert state machine."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pymannkendall
import pytest
from hypothesis import given

import reviewkit as rk
from reviewkit.domain.alerts import (
    AlertState,
    AnswerFilter,
    AnswerRule,
    BurstRule,
    DropRule,
    Finding,
    LevelRule,
    TopicRule,
    Transition,
    TrendRule,
    advance,
    burst_finding,
    drop_finding,
    fingerprint,
    level_finding,
    mentions,
    topic_finding,
    trend_finding,
)
from reviewkit.domain.scoring import THRESHOLDS, AnswerStats
from reviewkit.domain.trends import difference_interval, mann_kendall, sen_slope
from reviewkit.errors import ValidationError
from reviewkit.serialization import rule_from_data, rule_to_data

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NPS = rk.SurveyType.NPS


def _stats(kind: rk.SurveyType, scores: list[int]) -> AnswerStats:
    top, bottom = THRESHOLDS[kind]
    return AnswerStats(
        n=len(scores),
        total=sum(scores),
        squares=sum(s * s for s in scores),
        top=sum(s >= top for s in scores),
        bottom=sum(s <= bottom for s in scores),
    )


# -- statistics -----------------------------------------------------------------------------


def test_mann_kendall_on_a_worked_example() -> None:
    """1..5: S = 10, Var(S) = n(n-1)(2n+5)/18 = 16.67, Z = (S-1)/sqrt(Var) = 2.2045."""
    result = mann_kendall([1, 2, 3, 4, 5])
    assert result.s == 10
    assert result.var_s == pytest.approx(50 / 3)
    assert result.z == pytest.approx(2.2045407685)
    assert result.p_increasing == pytest.approx(0.013743, abs=1e-6)
    assert result.slope == 1.0


def test_mann_kendall_variance_is_corrected_for_ties() -> None:
    """Gilbert's tie correction: [1, 1, 2, 2, 2] has one group of 2 and one of 3."""
    result = mann_kendall([1, 1, 2, 2, 2])
    assert result.s == 6
    # (5*4*15 - (2*1*9 + 3*2*11)) / 18 = (300 - 84) / 18 = 12
    assert result.var_s == pytest.approx(12.0)
    assert result.z == pytest.approx(5 / 12**0.5)


@given(st.lists(st.integers(-3, 3), min_size=3, max_size=25))
def test_mann_kendall_matches_pymannkendall(values: list[int]) -> None:
    """S, Var(S), Z, the two-sided p and Sen's slope equal pymannkendall's, ties included."""
    ours = mann_kendall(values)
    theirs = pymannkendall.original_test(values)
    assert ours.s == theirs.s
    assert ours.var_s == pytest.approx(theirs.var_s)
    assert ours.z == pytest.approx(theirs.z, abs=1e-12)
    assert ours.p_two_sided == pytest.approx(theirs.p, abs=1e-9)
    assert ours.slope == pytest.approx(theirs.slope)


def test_sen_slope_ignores_an_outlier() -> None:
    """The median of pairwise slopes: one wild value does not tip it."""
    assert sen_slope([10, 11, 12, 13, 100, 15]) == pytest.approx(1.0)


def test_mann_kendall_refuses_short_or_broken_series() -> None:
    """Fewer than 3 values, or a NaN, is an error saying so."""
    with pytest.raises(ValidationError, match="at least 3"):
        mann_kendall([1, 2])
    with pytest.raises(ValidationError, match="finite"):
        mann_kendall([1, 2, float("nan")])


def test_difference_of_nps_matches_the_hand_computed_interval() -> None:
    """NPS 40 → 20: change -20 with the adjusted-Wald variances summed; significant on 400
    answers a side, not on 100."""
    before = AnswerStats(n=100, total=0, squares=0, top=55, bottom=15)
    after = AnswerStats(n=100, total=0, squares=0, top=45, bottom=25)
    diff = difference_interval(NPS, before, after)
    assert diff.change == pytest.approx(-20.0)

    def var(top: int, bottom: int) -> float:
        p, d = (top + 0.75) / 103, (bottom + 0.75) / 103
        return (p + d - (p - d) ** 2) / 103

    margin = 1.959964 * (var(55, 15) + var(45, 25)) ** 0.5 * 100
    assert diff.low == pytest.approx(-20 - margin, abs=1e-3)
    assert diff.high == pytest.approx(-20 + margin, abs=1e-3)
    assert not diff.worse  # 100 answers a side cannot tell 20 points from chance
    scaled = [
        AnswerStats(n=s.n * 4, total=0, squares=0, top=s.top * 4, bottom=s.bottom * 4)
        for s in (before, after)
    ]
    assert difference_interval(NPS, *scaled).worse


def test_difference_of_ces_is_welch() -> None:
    """CES: the change of means with Welch's t; higher effort is worse."""
    before = _stats(rk.SurveyType.CES, [2, 3, 2, 3, 2, 3, 2, 3, 2, 3] * 3)
    after = _stats(rk.SurveyType.CES, [5, 6, 5, 6, 5, 6, 5, 6, 5, 6] * 3)
    diff = difference_interval(rk.SurveyType.CES, before, after)
    assert diff.change == pytest.approx(3.0)
    assert diff.worse
    assert not diff.better


# -- rules as data ---------------------------------------------------------------------------


RULES = [
    AnswerRule(
        name="angry VIP",
        survey=NPS,
        words=["late", " Broken "],
        filters=AnswerFilter(channels=["email"], fields={"vip": "yes"}),
        labels={"team": "care"},
    ),
    BurstRule(name="store burst", survey="csat", by="field:store", count=3, among=5),
    BurstRule(name="day burst", survey="nps", by="segment", count=4, within=timedelta(hours=6)),
    LevelRule(name="low nps", survey=NPS, worse_than=20, window=timedelta(days=28), by="segment"),
    DropRule(name="ces drop", survey="ces", window=timedelta(days=7), min_change=0.5),
    TrendRule(name="slide", survey=NPS, period="week", periods=8, timezone="Europe/Warsaw"),
    TopicRule(name="queues", survey="csat", words=["Kolejk", "czeka"], by="segment", period="day"),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: type(r).__name__)
def test_rules_round_trip_through_json(rule: rk.AlertRule) -> None:
    """Every rule kind is written as JSON with its kind and read back equal."""
    text = json.dumps(rule_to_data(rule))
    assert json.loads(text)["kind"] == type(rule).__name__
    assert rule_from_data(json.loads(text)) == rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "needs a kind"),
        (
            {"kind": "LevelRule", "name": "x", "survey": "nps", "worse_than": 1, "window": -5},
            "window must be positive",
        ),
        (
            {"kind": "TrendRule", "name": "t", "survey": "nps", "timezone": "Mars/Base"},
            "unknown time zone",
        ),
        (
            {
                "kind": "BurstRule",
                "name": "b",
                "survey": "nps",
                "by": "segment",
                "count": 5,
                "among": 3,
            },
            "count 5 is more than among 3",
        ),
        (
            {"kind": "BurstRule", "name": "b", "survey": "nps", "by": "segment", "count": 2},
            "either among",
        ),
        ({"kind": "AnswerRule", "name": " ", "survey": "nps"}, "needs a name"),
        ({"kind": "AnswerRule", "name": "a", "survey": "nps", "labels": {"1x": "y"}}, "label name"),
        ({"kind": "AnswerRule", "name": "a", "survey": "nps", "for_": 60}, "for_ must be 0"),
        ({"kind": "TrendRule", "name": "t", "survey": "nps", "periods": 3}, "periods must be"),
        ({"kind": "TopicRule", "name": "q", "survey": "nps", "words": [" "]}, "give the words"),
        (
            {"kind": "TopicRule", "name": "q", "survey": "nps", "words": ["a"], "alpha": 0.7},
            "alpha must be",
        ),
    ],
)
def test_bad_rules_are_refused_saying_why(data: dict[str, object], message: str) -> None:
    """A rule that could never work is refused when it is read, naming the problem."""
    with pytest.raises(ValidationError, match=message):
        rule_from_data(data)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "kind",
                "name",
                "survey",
                "by",
                "count",
                "among",
                "window",
                "worse_than",
                "periods",
                "labels",
            ]
        ),
        st.one_of(
            st.none(),
            st.integers(-5, 50),
            st.text(max_size=8),
            st.sampled_from(["LevelRule", "BurstRule", "nps", "segment"]),
        ),
    )
)
def test_arbitrary_rule_data_is_a_rule_or_a_validation_error(data: dict[str, object]) -> None:
    """Whatever a host stored, reading it gives a rule or a ValidationError, nothing else."""
    try:
        rule = rule_from_data(data)
    except ValidationError:
        return
    assert rule_from_data(rule_to_data(rule)) == rule


# -- what each kind finds ----------------------------------------------------------------------


def _request(**fields: str) -> rk.Request:
    return rk.Request(
        campaign_id="c1",
        recipient=rk.Recipient(
            email="ala@example.com", name="Ala", transaction_id="T-1", fields=fields
        ),
        channel=rk.Channel.EMAIL,
        address="ala@example.com",
    )


def _answer(
    score: int,
    comment: str | None = None,
    *,
    request: rk.Request | None = None,
    kind: rk.SurveyType = NPS,
    at: datetime = NOW,
) -> rk.Answer:
    return rk.Answer(
        request_id=(request or _request()).id,
        campaign_id="c1",
        kind=kind,
        score=score,
        comment=comment,
        at=at,
    )


def test_answer_rule_fires_for_a_bad_vip_answer_mentioning_a_word() -> None:
    """NPS 6 or less, from a VIP, with "late" in the comment: yes; any one missing: no."""
    rule = RULES[0]
    assert isinstance(rule, AnswerRule)
    vip, regular = _request(vip="yes"), _request(vip="no")
    assert rule.matches(_answer(3, "Parcel was LATE", request=vip), vip)
    assert not rule.matches(_answer(7, "late", request=vip), vip)
    assert not rule.matches(_answer(3, "late", request=regular), regular)
    assert not rule.matches(_answer(3, "fine", request=vip), vip)
    assert not rule.matches(_answer(3, "late", request=vip, kind=rk.SurveyType.CSAT), vip)


def test_default_bad_scores_per_survey_type() -> None:
    """NPS ≤ 6, CSAT ≤ 2 and CES ≥ 6 are bad by default."""
    for kind, bad, fine in [(NPS, 6, 7), (rk.SurveyType.CSAT, 2, 3), (rk.SurveyType.CES, 6, 5)]:
        rule = AnswerRule(name="r", survey=kind)
        assert rule.matches(_answer(bad, kind=kind))
        assert not rule.matches(_answer(fine, kind=kind))


def test_burst_counts_bad_answers_among_the_last_n() -> None:
    """3 bad among the last 5 fires; older bad answers beyond the 5 do not count."""
    rule = RULES[1]
    assert isinstance(rule, BurstRule)
    csat = rk.SurveyType.CSAT
    newest_first = [_answer(s, kind=csat) for s in (1, 5, 2, 5, 5, 1, 1)]
    assert not burst_finding(rule, "Kraków", newest_first).active
    newest_first.insert(0, _answer(2, kind=csat))
    found = burst_finding(rule, "Kraków", newest_first)
    assert found.active
    assert "3 bad answers among the last 5 answers in field:store Kraków" in found.evidence.summary


def test_level_fires_only_when_the_whole_interval_is_below() -> None:
    """NPS 10 on 40 answers is below 20 but its interval is not: no alert; on 400 it is."""
    rule = RULES[3]
    assert isinstance(rule, LevelRule)
    few = _stats(NPS, [10] * 16 + [8] * 12 + [3] * 8 + [0] * 4)
    assert level_finding(rule, "vip", few).evidence.value == pytest.approx(10.0)
    assert not level_finding(rule, "vip", few).active
    many = _stats(NPS, ([10] * 16 + [8] * 12 + [3] * 8 + [0] * 4) * 10)
    found = level_finding(rule, "vip", many)
    assert found.active
    assert found.evidence.high is not None
    assert found.evidence.high < 20


def test_level_needs_the_minimum_sample() -> None:
    """A group below min_sample never fires, however bad."""
    rule = LevelRule(name="l", survey=NPS, worse_than=50, window=timedelta(days=7), min_sample=30)
    found = level_finding(rule, None, _stats(NPS, [0] * 29))
    assert not found.active
    assert "too few" in found.evidence.summary


def test_drop_respects_min_change() -> None:
    """A significant CES rise of 3 points fires; with min_change 4 it does not."""
    before = _stats(rk.SurveyType.CES, [2, 3] * 20)
    after = _stats(rk.SurveyType.CES, [5, 6] * 20)
    assert drop_finding(RULES[4], None, before, after).active  # type: ignore[arg-type]
    strict = DropRule(name="d", survey="ces", window=timedelta(days=7), min_change=4)
    assert not drop_finding(strict, None, before, after).active


def test_trend_finds_a_slow_slide_and_not_a_flat_line() -> None:
    """NPS sliding 5 points a week over 8 weeks fires; a flat one does not."""
    rule = RULES[5]
    assert isinstance(rule, TrendRule)
    rng = random.Random(7)

    def week(nps_promoters: float) -> AnswerStats:
        scores = [
            10 if rng.random() < nps_promoters else (8 if rng.random() < 0.6 else 3)
            for _ in range(300)
        ]
        return _stats(NPS, scores)

    sliding = [week(0.6 - 0.04 * i) for i in range(8)]
    found = trend_finding(rule, None, sliding)
    assert found.active
    assert found.evidence.slope is not None
    assert found.evidence.slope < 0
    flat = [week(0.5) for _ in range(8)]
    assert not trend_finding(rule, None, flat).active


def test_a_topic_rule_is_named_by_its_first_word_and_finds_stems_in_any_case() -> None:
    """The topic defaults to the first word (case-folded, as words are); words are found in
    any letter case inside longer words, Polish letters included."""
    rule = TopicRule(name="q", survey=NPS, words=["KOLEJK", "Czekał"])
    assert rule.topic == "kolejk"
    assert rule.words == ("kolejk", "czekał")
    assert mentions("Długie kolejki!", rule.words)
    assert mentions("CZEKAŁEM godzinę", rule.words)
    assert not mentions("Szybko i miło", rule.words)
    assert not mentions(None, rule.words)


def _topic_series(rng: random.Random, n: int, shares: list[float]) -> list[tuple[int, int]]:
    return [(n, sum(rng.random() < share for _ in range(n))) for share in shares]


def test_a_growing_topic_fires_and_a_steady_one_does_not() -> None:
    """Queues mentioned by 2 % of customers rising to 16 % over 8 weeks fire, with the
    shares and slope in the evidence; a steady 8 % does not; thin weeks are left out."""
    rule = TopicRule(name="queues", survey=NPS, words=["kolejk"], topic="queues", by="segment")
    rng = random.Random(11)
    rising = _topic_series(rng, 300, [0.02 + 0.02 * i for i in range(8)])
    found = topic_finding(rule, "Kraków", rising)
    assert found.active
    assert found.evidence.slope is not None
    assert found.evidence.slope > 0
    assert found.evidence.value == pytest.approx(100 * rising[-1][1] / 300)
    assert "mentioning queues for segment Kraków" in found.evidence.summary
    steady = _topic_series(rng, 300, [0.08] * 8)
    assert not topic_finding(rule, "Kraków", steady).active
    thin = [(5, 0), (5, 1), (5, 2), (5, 3), (5, 4), (300, 10), (300, 20), (300, 30)]
    too_few = topic_finding(rule, None, thin)
    assert not too_few.active
    assert "3 periods with enough answers" in too_few.evidence.summary


# -- false alarms and power (seeded simulations) ---------------------------------------------


def _nps_sample(rng: random.Random, n: int, promoters: float, detractors: float) -> AnswerStats:
    scores = []
    for _ in range(n):
        u = rng.random()
        scores.append(10 if u < promoters else (0 if u < promoters + detractors else 8))
    return _stats(NPS, scores)


def test_stable_scores_rarely_raise_an_alert() -> None:
    """On 400 simulated stable groups (true NPS exactly at the level, no change, no trend),
    each aggregate kind fires in at most 5 % of runs."""
    rng = random.Random(20261201)
    level = LevelRule(name="l", survey=NPS, worse_than=30, window=timedelta(days=7))
    drop = DropRule(name="d", survey=NPS, window=timedelta(days=7))
    trend = TrendRule(name="t", survey=NPS, periods=8)
    fired = {"level": 0, "drop": 0, "trend": 0}
    runs = 400
    for _ in range(runs):
        fired["level"] += level_finding(level, None, _nps_sample(rng, 200, 0.5, 0.2)).active
        fired["drop"] += drop_finding(
            drop, None, _nps_sample(rng, 200, 0.5, 0.2), _nps_sample(rng, 200, 0.5, 0.2)
        ).active
        series = [_nps_sample(rng, 100, 0.5, 0.2) for _ in range(8)]
        fired["trend"] += trend_finding(trend, None, series).active
    for kind, count in fired.items():
        assert count / runs <= 0.05, (kind, count)


def test_a_steady_topic_rarely_fires_and_a_growing_one_is_caught() -> None:
    """On 400 simulated 8-week series where 5 % of 150 customers a week mention the topic,
    the topic rule fires in at most 5 %; with 300 answers a week, a share growing from 5 % by
    1.5 points a week is caught in at least 90 % of 200 runs."""
    rng = random.Random(20261202)
    rule = TopicRule(name="q", survey=NPS, words=["kolejk"], periods=8)
    false_alarms = sum(
        topic_finding(rule, None, _topic_series(rng, 150, [0.05] * 8)).active for _ in range(400)
    )
    caught = sum(
        topic_finding(
            rule, None, _topic_series(rng, 300, [0.05 + 0.015 * i for i in range(8)])
        ).active
        for _ in range(200)
    )
    assert false_alarms / 400 <= 0.05, false_alarms
    assert caught / 200 >= 0.9, caught


def test_a_real_drop_is_caught_nine_times_in_ten() -> None:
    """NPS falling from 40 to 20 with 400 answers a window is caught in at least 90 % of
    simulated runs; a slide of 5 points a week over 8 weeks of 200 answers likewise."""
    rng = random.Random(4242)
    drop = DropRule(name="d", survey=NPS, window=timedelta(days=7))
    trend = TrendRule(name="t", survey=NPS, periods=8)
    runs = 200
    caught_drop = sum(
        drop_finding(
            drop, None, _nps_sample(rng, 400, 0.55, 0.15), _nps_sample(rng, 400, 0.45, 0.25)
        ).active
        for _ in range(runs)
    )
    caught_trend = sum(
        trend_finding(
            trend,
            None,
            [_nps_sample(rng, 200, 0.55 - 0.025 * i, 0.15 + 0.025 * i) for i in range(8)],
        ).active
        for _ in range(runs)
    )
    assert caught_drop / runs >= 0.9, caught_drop
    assert caught_trend / runs >= 0.9, caught_trend


# -- the alert state machine -------------------------------------------------------------------


def _finding(active: bool, group: str | None = "north") -> Finding:
    return Finding(group, active, rk.Evidence(summary="s"))


def test_alert_waits_for_its_for_duration_then_fires_then_resolves() -> None:
    """Pending for `for_`, Firing after it, Resolved when the condition clears."""
    rule = LevelRule(
        name="l",
        survey=NPS,
        worse_than=30,
        window=timedelta(days=7),
        by="segment",
        for_=timedelta(hours=1),
    )
    alert, told = advance(None, rule=rule, finding=_finding(True), now=NOW)
    assert alert is not None
    assert (alert.state, told) == (AlertState.PENDING, None)
    assert alert.labels == {"alertname": "l", "severity": "warning", "segment": "north"}
    alert, told = advance(alert, rule=rule, finding=_finding(True), now=NOW + timedelta(minutes=59))
    assert alert is not None
    assert (alert.state, told) == (AlertState.PENDING, None)
    alert, told = advance(alert, rule=rule, finding=_finding(True), now=NOW + timedelta(hours=1))
    assert alert is not None
    assert (alert.state, told) == (AlertState.FIRING, Transition.FIRED)
    assert alert.fired_at == NOW + timedelta(hours=1)
    alert, told = advance(alert, rule=rule, finding=_finding(True), now=NOW + timedelta(hours=2))
    assert told is None  # still firing: nobody is told again here
    alert, told = advance(alert, rule=rule, finding=_finding(False), now=NOW + timedelta(hours=3))
    assert alert is not None
    assert (alert.state, told) == (AlertState.RESOLVED, Transition.RESOLVED)


def test_a_pending_alert_that_clears_is_dropped_silently() -> None:
    """Nobody heard of a pending alert, so nobody hears that it cleared."""
    rule = LevelRule(
        name="l", survey=NPS, worse_than=30, window=timedelta(days=7), for_=timedelta(hours=1)
    )
    alert, _ = advance(None, rule=rule, finding=_finding(True, None), now=NOW)
    assert advance(alert, rule=rule, finding=_finding(False, None), now=NOW) == (None, None)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7200)), max_size=30))
def test_fired_and_resolved_alternate(steps: list[tuple[bool, int]]) -> None:
    """Over any sequence of findings, people hear fired, resolved, fired … never twice in a
    row, and the fingerprint is the same for the group throughout."""
    rule = DropRule(
        name="d", survey=NPS, window=timedelta(days=7), by="segment", for_=timedelta(minutes=30)
    )
    alert = None
    now = NOW
    told: list[Transition] = []
    for active, seconds in steps:
        now += timedelta(seconds=seconds)
        alert, transition = advance(alert, rule=rule, finding=_finding(active), now=now)
        if transition is not None:
            told.append(transition)
        if alert is not None:
            assert alert.fingerprint == fingerprint(rule.id, "north")
    assert all(a != b for a, b in itertools.pairwise(told))
    assert not told or told[0] is Transition.FIRED
