"""Open survey links: a signed link per campaign and location, answered without a request
sent first, recorded with the location as the segment and scored like any other; one answer
per browser (a cookie) and a per-link rate limit against ballot stuffing."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.web import make_app

SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SURVEY = rk.Survey(type="nps", privacy_url="https://shop.example/privacy", expiry_days=7)


def _service(store: rk.Store, clock: rk.ManualClock) -> rk.AnswerService:
    store.add_campaign(rk.Campaign(name="till", survey=SURVEY))
    return rk.AnswerService(store, clock, SIGNER)


def test_an_open_link_answer_is_scored_with_its_location(store: rk.Store) -> None:
    """Answers through the Kraków till's link are the store's answers in the scores; the
    requests made for them never count as sent."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    token = answers.open_link("till", "krk-1")
    for score in (10, 9, 2):
        answers.answer_open(answers.open_page(token), score=score, comment="ok")
    answers.answer_open(answers.open_page(answers.open_link("till", "waw-1")), score=0)
    rows = rk.ScoreService(store).scores(rk.SurveyType.NPS, by="segment", min_sample=1)
    assert {r.group: (r.score.n, r.score.value) for r in rows} == {
        "krk-1": (3, pytest.approx((2 - 1) / 3 * 100)),
        "waw-1": (1, -100.0),
    }
    campaign = store.get_campaign("till")
    made = list(store.iter_requests(campaign.id))
    assert {(r.channel, r.recipient.segment) for r in made} == {
        (rk.Channel.LINK, "krk-1"),
        (rk.Channel.LINK, "waw-1"),
    }
    assert all(r.answered_at == NOW for r in made)
    assert store.request_funnel(since=NOW - timedelta(days=1), until=NOW + timedelta(days=1)) == {}


def test_an_alert_on_an_open_link_answer_names_the_place(store: rk.Store) -> None:
    """An angry answer at a till alerts with where it was given, not a made-up address."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    alerts = rk.AlertService(store, clock)
    alerts.add_rule(rk.AnswerRule(name="angry", survey=rk.SurveyType.NPS))
    answers.on_answer(alerts.on_answer)
    token = answers.open_link("till", "krk-1")
    answers.answer_open(answers.open_page(token), score=1, comment="queue")
    (alert,) = store.list_alerts()
    assert alert.evidence is not None
    assert alert.evidence.summary == 'NPS answer 1 from a customer at krk-1: "queue"'
    assert alert.evidence.customer == "a customer at krk-1"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("", "1 to 100 printable"),
        ("a|b", "without '|'"),
        ("x" * 101, "1 to 100"),
        ("a\nb", "printable"),
    ],
)
def test_a_bad_location_is_refused(store: rk.Store, location: str, message: str) -> None:
    """Empty, too long, with a separator or a line break: refused, nothing signed."""
    answers = _service(store, rk.ManualClock(NOW))
    with pytest.raises(rk.ValidationError, match=message):
        answers.open_link("till", location)


def test_a_campaign_without_survey_has_no_open_link(store: rk.Store) -> None:
    """Only a survey campaign can be answered through a link."""
    store.add_campaign(rk.Campaign(name="plain"))
    answers = rk.AnswerService(store, rk.ManualClock(NOW), SIGNER)
    with pytest.raises(rk.ValidationError, match="has no survey"):
        answers.open_link("plain", "krk-1")


def test_forged_expired_and_foreign_tokens_are_refused(store: rk.Store) -> None:
    """A changed token, one past its time, and a request's answer token are refused."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    token = answers.open_link("till", "krk-1", ttl=timedelta(days=1))
    with pytest.raises(rk.TokenError, match=r"tampered|malformed"):
        answers.open_page(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    other = SIGNER.sign(rk.TokenPurpose.ANSWER, store.get_campaign("till").id, now=NOW)
    with pytest.raises(rk.TokenError, match="wrong purpose"):
        answers.open_page(other)
    clock.advance(timedelta(days=2))
    with pytest.raises(rk.TokenError, match="expired"):
        answers.open_page(token)


def test_a_campaign_cannot_send_on_the_link_channel() -> None:
    """Links take answers; a campaign sends by e-mail, SMS or chat."""
    with pytest.raises(rk.ValidationError, match="sends by e-mail, SMS or chat"):
        rk.Campaign(name="x", channel=rk.Channel.LINK)


def test_the_rate_limit_refuses_a_burst_and_stores_nothing(store: rk.Store) -> None:
    """Two answers a minute allowed: the second at the same instant is refused with the
    time the link opens again, and leaves no request behind; 30 s later it is taken."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    token = answers.open_link("till", "krk-1")
    answers.answer_open(answers.open_page(token), score=9, per_minute=2)
    with pytest.raises(rk.RateLimitedError) as refused:
        answers.answer_open(answers.open_page(token), score=0, per_minute=2)
    assert refused.value.retry_at == NOW + timedelta(seconds=30)
    assert len(list(store.iter_requests(store.get_campaign("till").id))) == 1
    other = answers.open_link("till", "waw-1")  # another link has its own limit
    answers.answer_open(answers.open_page(other), score=5, per_minute=2)
    clock.advance(timedelta(seconds=30))
    answers.answer_open(answers.open_page(token), score=0, per_minute=2)
    assert len(list(store.iter_answers())) == 3


@settings(max_examples=40, deadline=None)
@given(score=st.one_of(st.integers(-5, 15), st.text(max_size=4)), comment=st.text(max_size=30))
def test_a_bad_answer_stores_no_request(score: object, comment: str) -> None:
    """Whatever is posted, an answer off the scale stores neither an answer nor its request."""
    store = rk.InMemoryStore()
    answers = _service(store, rk.ManualClock(NOW))
    page = answers.open_page(answers.open_link("till", "krk-1"))
    try:
        answers.answer_open(page, score=score, comment=comment)  # type: ignore[arg-type]
    except rk.ValidationError:
        assert store.requests == []
    else:
        assert len(store.requests) == 1


# -- the answer page ------------------------------------------------------------------------


def _call(
    app: Any, method: str, path: str, form: dict[str, str] | None = None, cookie: str = ""
) -> tuple[str, dict[str, str], str]:
    body = urlencode(form or {}).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "/feedback",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_COOKIE": cookie,
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    raw = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], raw.decode()


def test_the_page_records_once_per_browser_and_changes_on_return(store: rk.Store) -> None:
    """A browser's first answer sets a cookie; answering again from it changes that answer;
    another browser adds its own."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    app = make_app(answers)
    path = "/s/" + answers.open_link("till", "krk-1")
    status, _, page = _call(app, "GET", path)
    assert status == "200 OK"
    assert "How likely are you to recommend us" in page
    status, headers, _ = _call(app, "POST", path, {"score": "9", "comment": "nice"})
    assert (status, headers["Location"]) == ("303 See Other", "/feedback/thanks?lang=en")
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/feedback/s/" in cookie
    jar = cookie.split(";", 1)[0]
    status, _, page = _call(app, "GET", path, cookie=jar)
    assert 'value="9" checked' in page  # the browser sees its answer
    status, headers, _ = _call(app, "POST", path, {"score": "4"}, cookie=jar)
    assert status == "303 See Other"
    assert "Set-Cookie" not in headers
    clock.advance(timedelta(seconds=2))  # the link takes 30 answers a minute by default
    assert _call(app, "POST", path, {"score": "10"})[0] == "303 See Other"  # another browser
    current = sorted(a.score for a in store.iter_answers())
    assert current == [4, 10]
    assert len(list(store.iter_requests(store.get_campaign("till").id))) == 2


def test_a_forged_cookie_counts_as_a_new_browser(store: rk.Store) -> None:
    """A cookie that is not a good answer token of the link's campaign is ignored."""
    clock = rk.ManualClock(NOW)
    answers = _service(store, clock)
    app = make_app(answers)
    path = "/s/" + answers.open_link("till", "krk-1")
    name = _call(app, "POST", path, {"score": "9"})[1]["Set-Cookie"].split("=", 1)[0]
    clock.advance(timedelta(seconds=2))
    status, headers, _ = _call(app, "POST", path, {"score": "2"}, cookie=f"{name}=forged")
    assert status == "303 See Other"
    assert "Set-Cookie" in headers
    assert sorted(a.score for a in store.iter_answers()) == [2, 9]


def test_the_page_says_too_many_and_a_bad_score_keeps_the_form(store: rk.Store) -> None:
    """Over the link's rate: 429 with Retry-After; a score off the scale: the form again."""
    answers = _service(store, rk.ManualClock(NOW))
    app = make_app(answers, open_link_rate=1, one_answer_per_device=False)
    path = "/s/" + answers.open_link("till", "krk-1")
    status, _, page = _call(app, "POST", path, {"score": "11", "comment": "hm"})
    assert status == "422 Unprocessable Entity"
    assert ">hm</textarea>" in page
    assert _call(app, "POST", path, {"score": "8"})[0] == "303 See Other"
    status, headers, page = _call(app, "POST", path, {"score": "8"})
    assert status == "429 Too Many Requests"
    assert headers["Retry-After"] == "60"
    assert len(list(store.iter_answers())) == 1
    assert _call(app, "GET", "/s/not-a-token")[0] == "400 Bad Request"


def test_survey_link_command_prints_a_link_the_page_takes(tmp_path: Path) -> None:
    """`reviewkit survey-link` signs a link with the keys in the environment; the page
    opens it."""
    db = tmp_path / "r.sqlite3"
    with SQLiteStore(db) as store:
        store.add_campaign(
            rk.Campaign(
                name="till",
                survey=SURVEY,
                answer_url="https://shop.example/feedback/a/{token}",
            )
        )
    env = {"REVIEWKIT_LINK_KEYS": "k1:a-long-random-secret-0123456789", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "reviewkit", "survey-link", "till", "--location", "krk-1",
         "--db", str(db)],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith("https://shop.example/feedback/s/")
    with SQLiteStore(db) as store:
        answers = rk.AnswerService(store, rk.SystemClock(), SIGNER)
        page = answers.open_page(url.rsplit("/", 1)[1])
        assert page.request.recipient.segment == "krk-1"
    missing = subprocess.run(
        [sys.executable, "-m", "reviewkit", "survey-link", "till", "--location", "x",
         "--db", str(db)],
        capture_output=True, text=True, env={"PATH": ""}, check=False, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "no link keys" in missing.stderr
