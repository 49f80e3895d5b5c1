"""A survey end to end, with reviewkit's answer page mounted inside a Flask application.

The shop's own Flask app keeps its routes; reviewkit's WSGI app is mounted under
``/feedback`` (werkzeug's ``DispatcherMiddleware``), so the answer links in the e-mails point
there. The script sends an NPS survey into memory, opens a one-click score link and submits
the form through Flask's test client as a browser would, and prints the score.

Run it: ``python examples/answers_in_flask.py`` (needs ``pip install flask``)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import reviewkit as rk
from reviewkit.web import make_app

SHOP = "https://shop.example"


def build(answers: rk.AnswerService) -> Flask:
    shop = Flask("shop")

    @shop.get("/")
    def home() -> str:
        return "The shop's own page"

    # Everything under /feedback is reviewkit's: answer pages, thanks, unsubscribe, pixel.
    shop.wsgi_app = DispatcherMiddleware(shop.wsgi_app, {"/feedback": make_app(answers)})  # type: ignore[method-assign]
    return shop


def main() -> None:
    clock = rk.ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    store, outbox = rk.InMemoryStore(), rk.InMemoryTransport()
    signer = rk.LinkSigner({"k2026": "keep-this-secret-in-the-environment"})
    answers = rk.AnswerService(store, clock, signer)
    received: list[str] = []
    answers.on_answer(
        lambda answer, request, survey: received.append(
            f"{survey.comment_author} on {request.recipient.transaction_id}: "
            f"{answer.score} {answer.comment or ''}"
        )
    )

    service = rk.CampaignService(store, clock)
    me = rk.Actor.system()
    service.create(
        me,
        name="nps",
        sender="Shop <reviews@shop.example>",
        subject="Would you recommend us?",
        body=(
            "{{ survey.question }}\n"
            "{% for option in survey.options %}{{ option.score }}: {{ option.url }}\n{% endfor %}"
        ),
        start_at=clock.now(),
        answer_url=SHOP + "/feedback/a/{token}",
        survey=rk.Survey(type="nps", privacy_url=SHOP + "/privacy", comment_author="Customer care"),
    )
    service.add_recipients(me, "nps", [rk.Recipient(email="ala@example.com", transaction_id="Z-1")])
    service.schedule(me, "nps")
    rk.Dispatcher(store, outbox, clock, links=signer).run()
    (message,) = outbox.sent
    ten = re.search(r"^10: (\S+)$", message.text, re.M)
    assert ten is not None

    client = build(answers).test_client()
    assert client.get("/").text == "The shop's own page"
    path = ten.group(1).removeprefix(SHOP)
    page = client.get(path)  # the customer clicked "10" in the e-mail
    assert page.status_code == 200
    assert 'value="10" checked' in page.text
    done = client.post(path, data={"score": "10", "comment": "Great service"})
    assert (done.status_code, done.headers["Location"]) == (303, "/feedback/thanks?lang=en")
    assert "Thank you" in client.get(done.headers["Location"]).text

    (request,) = store.requests
    (answer,) = store.answers_for(request.id)
    print(f"answer {answer.score} with comment {answer.comment!r}")
    print("the hook received:", received)
    assert received == ["Customer care on Z-1: 10 Great service"]
    score = rk.ScoreService(store).scores(rk.SurveyType.NPS, min_sample=1)[0].score
    print(f"NPS {score.value:.0f} (n={score.n}, 95% interval {score.low:.0f} to {score.high:.0f})")


if __name__ == "__main__":
    main()
