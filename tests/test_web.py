"""The mountable answer application, called as a WSGI server calls it."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

import reviewkit as rk
from reviewkit.services.tracking import PIXEL_GIF
from reviewkit.web import make_app

from .conftest import make_campaign

SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})


def call(
    app: Any, method: str, path: str, body: bytes = b"", query: str = ""
) -> tuple[str, dict[str, str], str | bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "/feedback",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    raw = b"".join(app(environ, start_response))
    content = raw if seen["headers"].get("Content-Type") == "image/gif" else raw.decode()
    return seen["status"], seen["headers"], content


@pytest.fixture
def setup(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> tuple[Any, dict[str, str], str, rk.AnswerService]:
    make_campaign(
        service,
        actor,
        recipients=1,
        interval=timedelta(0),
        body="{% for o in survey.options %}{{ o.score }} {{ o.url }}\n{% endfor %}"
        "u {{ links.unsubscribe }}\no {{ links.open }}",
        answer_url="https://shop.example/feedback/a/{token}",
        unsubscribe_url="https://shop.example/feedback/u/{token}",
        open_url="https://shop.example/feedback/o/{token}",
        survey=rk.Survey(type="csat", privacy_url="https://shop.example/privacy", expiry_days=5),
    )
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=SIGNER).run()
    (message,) = reviewkit_transport.sent
    links = dict(re.findall(r"^(\w+) https://shop\.example/feedback(\S+)$", message.text, re.M))
    answers = rk.AnswerService(store, reviewkit_clock, SIGNER)
    request_id = next(iter(store.iter_requests(store.get_campaign("reviews").id))).id
    return make_app(answers), links, request_id, answers


def test_answer_page_is_labelled_and_preselected(setup: Any) -> None:
    app, links, _, _ = setup
    status, headers, page = call(app, "GET", links["4"])
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in page
    assert '<meta name="viewport"' in page
    assert "<legend>How satisfied are you with our service?</legend>" in page
    assert 'id="score-4" value="4" checked' in page
    assert page.count('type="radio"') == 5
    assert '<label for="comment">' in page
    assert '<a href="https://shop.example/privacy">' in page
    assert "<script" not in page


def test_submit_records_and_thanks(setup: Any, store: rk.Store) -> None:
    app, links, request_id, _ = setup
    status, headers, _ = call(app, "POST", links["4"], b"score=5&comment=Bardzo+dobrze")
    assert status == "303 See Other"
    assert headers["Location"] == "/feedback/thanks?lang=en"
    status, _, page = call(app, "GET", "/thanks", query="lang=en")
    assert "Thank you for your answer!" in page
    (answer,) = store.answers_for(request_id)
    assert (answer.score, answer.comment) == (5, "Bardzo dobrze")


def test_a_bad_submission_shows_the_form_again_with_the_reason(setup: Any, store: rk.Store) -> None:
    app, links, request_id, _ = setup
    status, _, page = call(app, "POST", links["4"], b"score=9&comment=x")
    assert status == "422 Unprocessable Entity"
    assert 'role="alert">score 9 is not on the CSAT scale 1 to 5' in page
    assert "x</textarea>" in page  # what was typed is kept
    assert store.answers_for(request_id) == []


def test_closed_tampered_unsubscribe_pixel_and_unknown(
    setup: Any, store: rk.Store, reviewkit_clock: rk.ManualClock
) -> None:
    app, links, request_id, _ = setup
    status, _, page = call(app, "GET", links["4"][:-3] + "abc")
    assert status == "400 Bad Request"
    assert "This link is not valid." in page
    assert "Open the link from the message again" in page
    assert "tampered" not in page  # the technical reason goes to the log
    status, headers, pixel = call(app, "GET", links["o"])
    assert (status, headers["Content-Type"], pixel) == ("200 OK", "image/gif", PIXEL_GIF)
    assert store.get_request(request_id).opened_at is not None
    assert call(app, "GET", "/o/garbage")[2] == PIXEL_GIF  # still an image
    status, _, page = call(app, "GET", links["u"])
    assert '<form method="post">' in page
    assert store.get_request(request_id).unsubscribed_at is None  # a GET changes nothing
    status, _, page = call(app, "POST", links["u"], b"List-Unsubscribe=One-Click")
    assert status == "200 OK"
    assert store.get_request(request_id).unsubscribed_at is not None
    assert call(app, "GET", "/nothing/here")[0] == "404 Not Found"
    reviewkit_clock.advance(timedelta(days=5))
    status, _, page = call(app, "GET", links["4"])
    assert status == "410 Gone"  # the survey or its token expired
    assert "This survey is closed." in page or "This link has expired." in page
    assert store.answers_for(request_id) == []


def test_error_pages_tell_the_customer_what_to_do_and_log_the_reason(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expired link to a Polish survey answers in Polish, a closed one too; a link of
    an unknown request in the page's language; the technical reasons (times, signatures)
    are logged, not shown."""
    make_campaign(
        service,
        actor,
        recipients=1,
        interval=timedelta(0),
        body="{{ links.answer }}",
        answer_url="https://shop.example/feedback/a/{token}",
        survey=rk.Survey(
            type="nps", privacy_url="https://shop.example/privacy", expiry_days=2, language="pl"
        ),
    )
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=SIGNER).run()
    (message,) = reviewkit_transport.sent
    path = re.findall(r"https://shop\.example/feedback(/a/\S+)", message.text)[0]
    answers = rk.AnswerService(store, reviewkit_clock, SIGNER)
    app = make_app(answers)
    survey = rk.Survey(type="nps", privacy_url="https://shop.example/privacy", language="pl")
    store.add_campaign(rk.Campaign(name="till", survey=survey))
    till = answers.open_link("till", "Kraków")
    service.cancel(actor, "till")
    with caplog.at_level(logging.INFO, logger="reviewkit.web"):
        status, _, page = call(app, "GET", f"/s/{till}")
    assert (status, '<html lang="pl">') == ("410 Gone", page[15:31])
    assert "Ta ankieta jest już zamknięta." in page
    assert "cancelled" not in page
    assert "cancelled" in caplog.text
    reviewkit_clock.advance(timedelta(days=3))
    with caplog.at_level(logging.INFO, logger="reviewkit.web"):
        status, _, page = call(app, "GET", path)
    assert (status, '<html lang="pl">') == ("410 Gone", page[15:31])
    assert "Ten link wygasł." in page
    assert "expired at" not in page
    assert "expired at" in caplog.text
    stray = SIGNER.sign(
        rk.TokenPurpose.ANSWER, "x", now=reviewkit_clock.now(), ttl=timedelta(seconds=1)
    )
    reviewkit_clock.advance(timedelta(seconds=2))
    status, _, page = call(app, "GET", f"/a/{stray}")
    assert (status, '<html lang="en">') == ("410 Gone", page[15:31])
    assert "This link has expired." in page


def test_a_score_of_zero_in_the_address_is_preselected(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """``?score=0`` is a score (the lowest NPS), not a missing one."""
    make_campaign(
        service,
        actor,
        recipients=1,
        interval=timedelta(0),
        body="{{ survey.url }}",
        answer_url="https://shop.example/feedback/a/{token}",
        survey=rk.Survey(type="nps", privacy_url="https://shop.example/privacy"),
    )
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=SIGNER).run()
    (message,) = reviewkit_transport.sent
    path = message.text.strip().removeprefix("https://shop.example/feedback")
    app = make_app(rk.AnswerService(store, reviewkit_clock, SIGNER))
    _, _, page = call(app, "GET", path, query="score=0")
    assert 'id="score-0" value="0" checked' in page
