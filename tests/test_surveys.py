"""Surveys: definitions, survey requests with one-click scores, answers and their history,
the answer hook, and scores with their intervals and periods."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.scoring import AnswerStats, buckets, nps_interval, score_of, wilson_interval

from .conftest import add_answer, make_campaign

SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})
PRIVACY = "https://shop.example/privacy"


def test_the_type_fixes_scale_question_and_labels() -> None:
    nps = rk.Survey(type="nps", privacy_url=PRIVACY)
    assert (nps.scale.low, nps.scale.high, len(nps.scale)) == (0, 10, 11)
    assert nps.question_text.startswith("How likely are you to recommend")
    csat = rk.Survey(type="csat", privacy_url=PRIVACY, language="pl")
    assert (csat.scale.low, csat.scale.high) == (1, 5)
    assert csat.scale.high_label == "Bardzo zadowolony"
    assert csat.button == "Oceń nas"
    assert list(rk.Survey(type="ces", privacy_url=PRIVACY).scale) == list(range(1, 8))
    assert rk.Survey(type="ces", privacy_url=PRIVACY, ces_points=5).scale.high == 5
    custom = rk.Survey(
        type="nps",
        privacy_url=PRIVACY,
        language="de",
        question="Wie wahrscheinlich ist es, dass Sie uns empfehlen?",
        labels=("Gar nicht", "Äußerst"),
        button_text="Bewerten",
    )
    assert custom.scale.low_label == "Gar nicht"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"privacy_url": "http://shop.example/privacy"}, "must be a valid https://"),
        ({"privacy_url": "https://"}, "must be a valid https://"),
        ({"type": "ces", "ces_points": 6}, "ces_points is 7 or 5"),
        ({"ces_points": 5}, "only for CES"),
        ({"language": "de"}, "no 'de' texts are shipped"),
        ({"type": "stars"}, "'stars' is not a valid SurveyType"),
    ],
)
def test_bad_definitions_are_refused(changes: dict[str, object], message: str) -> None:
    settings_: dict[str, object] = {"type": "nps", "privacy_url": PRIVACY, **changes}
    with pytest.raises((rk.ValidationError, ValueError), match=message):
        rk.Survey(**settings_)  # type: ignore[arg-type]


def test_chat_limits_are_checked_when_the_campaign_is_defined() -> None:
    too_long = rk.Survey(
        type="csat", privacy_url=PRIVACY, title="T" * 66, button_text="B" * 21, expiry_days=8
    )
    with pytest.raises(rk.ValidationError) as info:
        rk.Campaign(name="chat", channel=rk.Channel.CHAT, survey=too_long)
    message = str(info.value)
    assert "title is 66 characters, allowed 1 to 65" in message
    assert "button_text is 21 characters, allowed 1 to 20" in message
    assert "expiry_days is 8 days, allowed 1 to 7" in message
    fine = rk.Survey(type="csat", privacy_url=PRIVACY, title="How did we do?", expiry_days=7)
    assert rk.Campaign(name="chat", channel=rk.Channel.CHAT, survey=fine).survey == fine
    # The same survey is fine by e-mail, where those limits do not apply.
    assert rk.Campaign(name="mail", survey=too_long).survey == too_long


SURVEY_BODY = (
    "{{ survey.question }}\n"
    "{% for option in survey.options %}{{ option.score }}: {{ option.url }}\n{% endfor %}"
    "{{ survey.low_label }} / {{ survey.high_label }}"
)


@pytest.fixture
def answers(store: rk.Store, reviewkit_clock: rk.ManualClock) -> rk.AnswerService:
    return rk.AnswerService(store, reviewkit_clock, SIGNER)


def _send_survey(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    transport: rk.InMemoryTransport,
    clock: rk.ManualClock,
    *,
    recipients: int = 1,
    survey: rk.Survey | None = None,
) -> list[dict[int, str]]:
    make_campaign(
        service,
        actor,
        recipients=recipients,
        interval=timedelta(0),
        body=SURVEY_BODY,
        answer_url="https://shop.example/a/{token}",
        survey=survey or rk.Survey(type="nps", privacy_url=PRIVACY, expiry_days=7),
    )
    rk.Dispatcher(store, transport, clock, links=SIGNER).run()
    found = []
    for message in transport.sent:
        links = re.findall(r"^(\d+): https://shop\.example/a/(\S+)$", message.text, re.M)
        found.append({int(score): token for score, token in links})
    return found


def test_a_survey_email_carries_the_scale_as_one_click_links(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    answers: rk.AnswerService,
) -> None:
    (links,) = _send_survey(service, actor, store, reviewkit_transport, reviewkit_clock)
    assert sorted(links) == list(range(11))
    assert "Not at all likely / Extremely likely" in reviewkit_transport.sent[0].text
    page = answers.page(links[9])
    assert (page.score, page.current, page.survey.type) == (9, None, rk.SurveyType.NPS)
    answer = answers.record(links[9], comment="Szybko i miło")
    assert (answer.score, answer.comment, answer.kind) == (9, "Szybko i miło", rk.SurveyType.NPS)
    assert store.get_request(answer.request_id).answered_at == reviewkit_clock.now()
    # The page's own form sends a score: it overrides the one the link carried.
    reviewkit_clock.advance(timedelta(days=2))
    second = answers.record(links[9], score="4")
    history = store.answers_for(answer.request_id)
    assert [(a.score, a.current) for a in history] == [(9, False), (4, True)]
    assert answers.page(links[0]).current == second


def test_bad_answers_are_refused_and_change_nothing(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    answers: rk.AnswerService,
) -> None:
    survey = rk.Survey(type="csat", privacy_url=PRIVACY, expiry_days=3, comment=False)
    (links,) = _send_survey(
        service, actor, store, reviewkit_transport, reviewkit_clock, survey=survey
    )
    request_id = answers.page(links[5]).request.id
    with pytest.raises(rk.ValidationError, match="score 6 is not on the CSAT scale 1 to 5"):
        answers.record(links[5], score=6)
    with pytest.raises(rk.ValidationError, match="not a whole number"):
        answers.record(links[5], score="five")
    with pytest.raises(rk.ValidationError, match="does not take a comment"):
        answers.record(links[5], comment="no comments here")
    tampered = links[5][:-2] + ("A" if links[5][-2] != "A" else "B") + links[5][-1]
    with pytest.raises(rk.TokenError):
        answers.record(tampered)
    with pytest.raises(rk.TokenError, match="wrong purpose"):
        answers.record(SIGNER.sign(rk.TokenPurpose.OPEN, request_id, now=reviewkit_clock.now()))
    reviewkit_clock.advance(timedelta(days=3))
    with pytest.raises((rk.SurveyClosedError, rk.TokenError), match=r"closed|expired"):
        answers.record(links[5])
    assert store.answers_for(request_id) == []
    assert store.get_request(request_id).answered_at is None


def test_a_failing_hook_loses_nothing_and_is_retried(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    answers: rk.AnswerService,
) -> None:
    """Seed 003: the answer goes to the host's task as a comment by the configured author."""
    comments: list[str] = []
    failures = [RuntimeError("CRM is down"), RuntimeError("still down")]

    def to_task(answer: rk.Answer, request: rk.Request, survey: rk.Survey) -> None:
        if failures:
            raise failures.pop(0)
        comments.append(f"{survey.comment_author}: {answer.score} {answer.comment or ''}")

    answers.on_answer(to_task)
    survey = rk.Survey(type="nps", privacy_url=PRIVACY, comment_author="Support bot")
    (links,) = _send_survey(
        service, actor, store, reviewkit_transport, reviewkit_clock, survey=survey
    )
    answer = answers.record(links[10], comment="great")
    assert comments == []
    assert store.answers_for(answer.request_id)[0].hook_error == "RuntimeError: CRM is down"
    assert answers.deliver_hooks() == 0  # not due yet: it waits for its backoff
    reviewkit_clock.advance(timedelta(minutes=1))
    assert answers.deliver_hooks() == 0  # fails again, waits longer
    reviewkit_clock.advance(timedelta(minutes=2))
    assert answers.deliver_hooks() == 1
    assert comments == ["Support bot: 10 great"]
    (stored,) = store.answers_for(answer.request_id)
    assert (stored.hook_done, stored.hook_attempts) == (True, 2)
    assert answers.deliver_hooks() == 0  # delivered once


# -- scores -------------------------------------------------------------------------------


def _stats(scores: list[int], top: int, bottom: int) -> AnswerStats:
    return AnswerStats(
        len(scores),
        sum(scores),
        sum(s * s for s in scores),
        sum(s >= top for s in scores),
        sum(s <= bottom for s in scores),
    )


@given(st.lists(st.integers(0, 10), min_size=1, max_size=400))
def test_nps_equals_the_formula_and_its_interval_holds_it(scores: list[int]) -> None:
    score = score_of(rk.SurveyType.NPS, _stats(scores, 9, 6), min_sample=30)
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert score.value == pytest.approx((promoters - detractors) / len(scores) * 100)
    assert score.low is not None
    assert score.high is not None
    assert -100 <= score.low <= score.value <= score.high <= 100
    assert score.too_small is (len(scores) < 30)
    # Rocks (2016): the adjusted-Wald centre and margin, before widening to the observation.
    n = len(scores) + 3
    p, d = (promoters + 0.75) / n, (detractors + 0.75) / n
    margin = 1.959964 * math.sqrt((p + d - (p - d) ** 2) / n)
    assert score.low <= max((p - d - margin) * 100, -100) + 1e-6
    assert score.high >= min((p - d + margin) * 100, 100) - 1e-6


@given(st.lists(st.integers(1, 5), min_size=1, max_size=400))
def test_csat_is_the_share_of_4_and_5_with_the_mean_beside_it(scores: list[int]) -> None:
    score = score_of(rk.SurveyType.CSAT, _stats(scores, 4, 0))
    assert score.value == pytest.approx(sum(s >= 4 for s in scores) / len(scores) * 100)
    assert score.mean == pytest.approx(sum(scores) / len(scores))
    assert score.low is not None
    assert score.high is not None
    assert 0 <= score.low <= score.value <= score.high <= 100


@pytest.mark.parametrize("n", [1, 2, 10, 37, 1000])
def test_wilson_ends_are_exact_at_none_and_all(n: int) -> None:
    """No successes gives a lower end of exactly 0, all successes an upper end of exactly 1."""
    assert wilson_interval(0, n)[0] == 0.0
    assert wilson_interval(n, n)[1] == 1.0
    low, high = wilson_interval(0, n)
    assert 0.0 < high < 1.0
    low, high = wilson_interval(n, n)
    assert 0.0 < low < 1.0


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_observed_share(case: tuple[int, int]) -> None:
    """The interval lies within 0…1 and contains successes / n, whatever the rounding."""
    successes, n = case
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


@given(st.lists(st.integers(1, 7), min_size=2, max_size=400))
def test_ces_is_the_mean_with_a_t_interval(scores: list[int]) -> None:
    score = score_of(rk.SurveyType.CES, _stats(scores, 99, -1))
    mean = sum(scores) / len(scores)
    assert score.value == pytest.approx(mean)
    assert score.low is not None
    assert score.high is not None
    assert score.low <= mean + 1e-9
    assert mean - 1e-9 <= score.high
    if len(set(scores)) > 1:
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
        assert score.high - mean == pytest.approx(
            rk.domain.scoring.t_quantile(len(scores) - 1) * sd / math.sqrt(len(scores)), rel=1e-6
        )


@given(
    st.lists(st.integers(0, 10), min_size=1, max_size=50),
    st.integers(2, 20),
)
def test_intervals_shrink_as_the_sample_grows(scores: list[int], factor: int) -> None:
    """The same answers, *factor* times as many: every interval is narrower."""
    small = _stats(scores, 9, 6)
    large = _stats(scores * factor, 9, 6)
    for kind in (rk.SurveyType.NPS, rk.SurveyType.CES):
        a, b = score_of(kind, small), score_of(kind, large)
        if a.low is not None and b.low is not None and b.high is not None and a.high is not None:
            assert b.high - b.low <= a.high - a.low + 1e-9
    p_small = wilson_interval(small.top, small.n)
    p_large = wilson_interval(large.top, large.n)
    assert p_large[1] - p_large[0] < p_small[1] - p_small[0]
    n_small, n_large = (
        nps_interval(small.top, small.bottom, small.n),
        nps_interval(large.top, large.bottom, large.n),
    )
    assert n_large[1] - n_large[0] < n_small[1] - n_small[0]


ZONES = ["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


@given(
    zone_name=st.sampled_from(ZONES),
    period=st.sampled_from(list(rk.Period)),
    moments=st.lists(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001
        min_size=1,
        max_size=20,
    ),
)
def test_every_bucket_edge_is_local_midnight(
    zone_name: str, period: rk.Period, moments: list[datetime]
) -> None:
    """Each instant falls in exactly one bucket, the one its local date belongs to: 23:30 on
    a Sunday in Warsaw is that ISO week, not the next."""
    zone = rk.load_zone(zone_name)
    instants = sorted(m.replace(tzinfo=UTC) for m in moments)
    found = buckets(period, zone, instants[0], instants[-1] + timedelta(seconds=1))
    for before, after in itertools.pairwise(found):
        assert before.end == after.start
    for instant in instants:
        (bucket,) = [b for b in found if b.start <= instant < b.end]
        local = instant.astimezone(zone).date()
        expected = {
            rk.Period.DAY: local.isoformat(),
            rk.Period.WEEK: "{}-W{:02d}".format(*local.isocalendar()[:2]),
            rk.Period.MONTH: f"{local.year}-{local.month:02d}",
        }[period]
        assert bucket.label == expected


def test_sunday_2330_in_warsaw_is_that_week() -> None:
    zone = rk.load_zone("Europe/Warsaw")
    sunday = datetime(2026, 3, 29, 23, 30, tzinfo=zone)  # the day summer time begins
    (week,) = buckets(rk.Period.WEEK, zone, sunday, sunday + timedelta(minutes=1))
    assert week.label == "2026-W13"
    assert week.end == datetime(2026, 3, 30, tzinfo=zone)
    assert week.end - week.start == timedelta(days=7, hours=-1)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    answers_=st.lists(
        st.tuples(
            st.integers(0, 10),
            st.sampled_from(["vip", "regular", None]),
            st.integers(0, 40 * 24),  # hours after the start
            st.sampled_from(["Kraków", "Gdańsk"]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_the_store_aggregates_like_the_reference(
    store: rk.Store, answers_: list[tuple[int, str | None, int, str]]
) -> None:
    """SQL sums per (segment, week) and per custom field equal counting in Python."""
    start = datetime(2026, 11, 2, tzinfo=UTC)
    campaign = store.add_campaign(rk.Campaign(name=f"c{len(store.list_campaigns())}"))
    for n, (score, segment, hours, shop) in enumerate(answers_):
        add_answer(
            store,
            campaign.id,
            f"x{n}@example.com",
            score=score,
            at=start + timedelta(hours=hours),
            segment=segment,
            fields={"store": shop},
        )
    zone = rk.load_zone("Europe/Warsaw")
    weeks = buckets(rk.Period.WEEK, zone, start, start + timedelta(days=42))
    got = store.answer_stats(
        rk.SurveyType.NPS,
        by="segment",
        periods=[(w.start, w.end) for w in weeks],
        campaign_id=campaign.id,
    )
    expected: dict[tuple[str | None, int | None], list[int]] = {}
    for score, segment, hours, _ in answers_:
        at = start + timedelta(hours=hours)
        (index,) = [i for i, w in enumerate(weeks) if w.start <= at < w.end]
        expected.setdefault((segment, index), []).append(score)
    assert got == {key: _stats(scores, 9, 6) for key, scores in expected.items()}
    by_store = store.answer_stats(rk.SurveyType.NPS, by="field:store", campaign_id=campaign.id)
    shops: dict[tuple[str | None, int | None], list[int]] = {}
    for score, _, _, shop in answers_:
        shops.setdefault((shop, None), []).append(score)
    assert by_store == {key: _stats(scores, 9, 6) for key, scores in shops.items()}
    with pytest.raises(rk.ValidationError, match="cannot group scores by 'colour'"):
        store.answer_stats(rk.SurveyType.NPS, by="colour")


def test_score_service_groups_and_marks_small_groups(
    store: rk.Store, reviewkit_clock: rk.ManualClock
) -> None:
    campaign = store.add_campaign(rk.Campaign(name="s"))
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for n in range(40):
        add_answer(
            store,
            campaign.id,
            f"s{n}@example.com",
            score=10 if n % 2 else 3,
            at=at + timedelta(days=n % 10),
            segment="vip" if n < 35 else "new",
        )
    rows = rk.ScoreService(store).scores(rk.SurveyType.NPS, by="segment", min_sample=30)
    assert [(r.group, r.score.n, r.score.too_small) for r in rows] == [
        ("new", 5, True),
        ("vip", 35, False),
    ]
    weekly = rk.ScoreService(store).scores(
        rk.SurveyType.NPS, period="week", timezone="Europe/Warsaw", min_sample=1
    )
    # Monday 23 November to Sunday 29th is W48 (days 0-6 of each ten), then W49.
    assert [(r.period, r.score.n) for r in weekly] == [("2026-W48", 28), ("2026-W49", 12)]
    assert rk.ScoreService(store).scores(rk.SurveyType.CSAT, period="week") == []


def test_an_sms_survey_carries_one_short_link(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    answers: rk.AnswerService,
) -> None:
    service.create(
        actor,
        name="sms nps",
        channel=rk.Channel.SMS,
        sender="Shop",
        body="{{ survey.question }} {{ survey.url }}",
        start_at=reviewkit_clock.now(),
        answer_url="https://s.example/a/{token}",
        survey=rk.Survey(type="nps", privacy_url=PRIVACY),
    )
    service.add_recipients(actor, "sms nps", [rk.Recipient(phone="+48500100200")])
    service.schedule(actor, "sms nps")
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=SIGNER).run()
    (message,) = reviewkit_transport.sent
    (token,) = re.findall(r"https://s\.example/a/(\S+)$", message.text)
    page = answers.page(token)
    assert (page.score, page.survey.type) == (None, rk.SurveyType.NPS)  # the page asks
    with pytest.raises(rk.ValidationError, match="choose a score from 0 to 10"):
        answers.record(token)
    assert answers.record(token, score=7).score == 7


@pytest.mark.parametrize("name", ["store", "sklep główny", "it's", "a.b", "x') OR 1=1 --"])
def test_any_custom_field_name_groups_safely(store: rk.Store, name: str) -> None:
    campaign = store.add_campaign(rk.Campaign(name="f"))
    at = datetime(2026, 11, 23, tzinfo=UTC)
    for n, (shop, score) in enumerate([("A", 10), ("A", 0), ("B", 9)]):
        add_answer(store, campaign.id, f"f{n}@example.com", score=score, at=at, fields={name: shop})
    got = store.answer_stats(rk.SurveyType.NPS, by=f"field:{name}")
    assert {key: stats.n for key, stats in got.items()} == {("A", None): 2, ("B", None): 1}
