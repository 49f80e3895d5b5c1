"""The chat channel: a Messenger feedback template posted to a Send API on 127.0.0.1, and a
messaging_feedback webhook turned into an answer."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

import reviewkit as rk
from reviewkit.adapters.messenger import (
    MessengerTransport,
    feedback_answers,
    feedback_template,
    verify_signature,
)

from .test_sms import Gateway, gateway  # noqa: F401 - the fixture, shared

SURVEY = rk.Survey(
    type="csat",
    privacy_url="https://shop.example/privacy",
    title="How did we do?",
    subtitle="Your order Z-1",
    button_text="Rate us",
    expiry_days=3,
    comment_prompt="Anything to add?",
)
APP_SECRET = "app-secret-for-webhooks"
SIGNER = rk.LinkSigner({"k": "x" * 32})


def _chat_campaign(service: rk.CampaignService, actor: rk.Actor, now: object) -> None:
    service.create(
        actor,
        name="chat csat",
        channel=rk.Channel.CHAT,
        sender="Shop page",
        body="{{ survey.question }}",
        start_at=now,  # type: ignore[arg-type]
        answer_url="https://shop.example/a/{token}",
        survey=SURVEY,
    )
    service.add_recipients(
        actor,
        "chat csat",
        [rk.Recipient(chat_id="psid-1", name="Ala"), rk.Recipient(chat_id="psid-2")],
    )
    service.schedule(actor, "chat csat")


def _webhook(sender: str, question: str, score: str, comment: str | None) -> bytes:
    answer: dict[str, object] = {"type": "csat", "payload": score}
    if comment:
        answer["follow_up"] = {"type": "free_form", "payload": comment}
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "page-1",
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": "page-1"},
                            "timestamp": 1,
                            "messaging_feedback": {
                                "feedback_screens": [
                                    {"screen_id": 0, "questions": {question: answer}}
                                ]
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def _signed(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_feedback_template_round_trip(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
    gateway: Gateway,  # noqa: F811
) -> None:
    _chat_campaign(service, actor, reviewkit_clock.now())
    transport = MessengerTransport(gateway.url, "page-token-123")
    assert "page-token-123" not in repr(transport)
    report = rk.Dispatcher(
        store, transport, reviewkit_clock, links=rk.LinkSigner({"k": "x" * 32})
    ).run()
    assert report.sent == 2
    (headers, body), _ = gateway.requests
    assert headers["Authorization"] == "Bearer page-token-123"
    payload = body["message"]["attachment"]["payload"]  # type: ignore[index]
    assert body["recipient"] == {"id": "psid-1"}
    assert payload["template_type"] == "customer_feedback"
    assert (payload["title"], payload["subtitle"], payload["button_title"]) == (
        "How did we do?",
        "Your order Z-1",
        "Rate us",
    )
    assert payload["business_privacy"] == {"url": "https://shop.example/privacy"}
    assert payload["expires_in_days"] == 3
    (question,) = payload["feedback_screens"][0]["questions"]
    assert (question["type"], question["score_option"]) == ("csat", "one_to_five")
    assert question["follow_up"] == {"type": "free_form", "placeholder": "Anything to add?"}
    request_id = question["id"]

    answers = rk.AnswerService(store, reviewkit_clock, SIGNER)
    hook = _webhook("psid-1", request_id, "4", "Fast reply")
    verify_signature(hook, _signed(hook), APP_SECRET)
    (chat,) = feedback_answers(json.loads(hook))
    answer = answers.record_chat(
        chat.request_id, sender_id=chat.sender_id, score=chat.score, comment=chat.comment
    )
    assert (answer.score, answer.comment, answer.channel) == (4, "Fast reply", rk.Channel.CHAT)

    # Someone else answering that question, a forged signature, a late answer: refused.
    with pytest.raises(rk.ValidationError, match="not sent to chat user 'psid-2'"):
        answers.record_chat(request_id, sender_id="psid-2", score=1)
    with pytest.raises(rk.ValidationError, match="signature"):
        verify_signature(hook, _signed(hook + b" "), APP_SECRET)
    with pytest.raises(rk.ValidationError, match="at most 400"):
        answers.record_chat(request_id, sender_id="psid-1", score=3, comment="x" * 401)
    reviewkit_clock.advance(timedelta(days=3))
    with pytest.raises(rk.SurveyClosedError):
        answers.record_chat(request_id, sender_id="psid-1", score=1)
    assert [a.score for a in store.answers_for(request_id)] == [4]


def test_send_api_errors_are_sorted(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
    gateway: Gateway,  # noqa: F811
) -> None:
    _chat_campaign(service, actor, reviewkit_clock.now())
    gateway.replies.extend([500, 400])
    transport = MessengerTransport(gateway.url, "t")
    report = rk.Dispatcher(
        store, transport, reviewkit_clock, links=rk.LinkSigner({"k": "x" * 32})
    ).dispatch_due()
    assert (report.retried, report.failed) == (1, 1)


def test_templates_refuse_what_messenger_cannot_show() -> None:
    with pytest.raises(rk.ValidationError, match="seven points"):
        feedback_template(
            rk.Survey(type="ces", privacy_url="https://s.example/p", title="t", ces_points=5),
            recipient_id="p",
            question_id="q",
        )
    bad_score = {"feedback_screens": [{"questions": {"q": {"payload": "five"}}}]}
    event = {"sender": {"id": "p"}, "messaging_feedback": bad_score}
    with pytest.raises(rk.ValidationError, match="not a messaging_feedback"):
        list(feedback_answers({"entry": [{"messaging": [event]}]}))
