"""The answer page in a real headless browser: a customer opens a one-click score link,
picks another score, writes a comment and submits; the answer is then in the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.web import make_app

from .conftest import make_campaign
from .web_server import serving

SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})


@pytest.fixture
def site(tmp_path: Path, reviewkit_clock: rk.ManualClock) -> Iterator[tuple[str, rk.AnswerService]]:
    store = SQLiteStore(tmp_path / "answers.sqlite3")
    answers = rk.AnswerService(store, reviewkit_clock, SIGNER)
    with serving(make_app(answers)) as base:
        yield base, answers
    store.close()


def test_a_customer_answers_in_a_real_browser(
    browser: Any,
    site: tuple[str, rk.AnswerService],
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    base, answers = site
    store = answers.store
    service = rk.CampaignService(store, reviewkit_clock)
    actor = rk.Actor.system()
    make_campaign(
        service,
        actor,
        recipients=1,
        interval=timedelta(0),
        body="{% for o in survey.options %}{{ o.score }} {{ o.url }}\n{% endfor %}",
        answer_url=base + "/a/{token}",
        survey=rk.Survey(
            type="nps", privacy_url="https://shop.example/privacy", language="pl", title="Sklep"
        ),
    )
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=SIGNER).run()
    (message,) = reviewkit_transport.sent
    links = dict(re.findall(r"^(\d+) (\S+)$", message.text, re.M))

    browser.get(links["8"])  # the customer clicks "8" in the e-mail
    assert browser.find_element(By.ID, "score-8").is_selected()
    legend = browser.find_element(By.TAG_NAME, "legend").text
    assert (
        legend
        == rk.Survey(type="nps", privacy_url="https://x.example/p", language="pl").question_text
    )
    label = browser.find_element(By.CSS_SELECTOR, "label[for=comment]").text
    assert label == "Chcesz coś dodać? (opcjonalnie)"
    # The page's own style is allowed by its Content-Security-Policy (by its hash).
    scale_label = browser.find_element(By.CSS_SELECTOR, "label[for=score-9]")
    assert scale_label.value_of_css_property("border-top-width") == "2px"

    browser.find_element(By.CSS_SELECTOR, "label[for=score-9]").click()  # changes their mind
    assert browser.find_element(By.ID, "score-9").is_selected()
    browser.find_element(By.ID, "comment").send_keys("Szybka dostawa, miła obsługa")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_is("Dziękujemy za odpowiedź!"))

    (request,) = store.iter_requests(store.get_campaign("reviews").id)
    (answer,) = store.answers_for(request.id)
    assert (answer.score, answer.comment, answer.kind) == (
        9,
        "Szybka dostawa, miła obsługa",
        rk.SurveyType.NPS,
    )
    assert store.get_request(request.id).answered_at == reviewkit_clock.now()

    # A tampered link gets a clear page, and changes nothing.
    browser.get(links["3"][:-2] + "xx")
    assert browser.find_element(By.TAG_NAME, "h1").text == "This link is not valid."
    assert len(store.answers_for(request.id)) == 1
