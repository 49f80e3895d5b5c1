"""The chat channel's reference adapter: Messenger Platform customer-feedback surveys.

:class:`MessengerTransport` turns a survey request into the Messenger Platform's
*customer feedback template* — score type and option, title, subtitle, button title,
privacy URL, expiry — and posts it to a configurable Send API URL for the recipient's
page-scoped id (``Recipient.chat_id``). :func:`feedback_answers` reads a
``messaging_feedback`` webhook payload back into answers, which
:meth:`reviewkit.AnswerService.record_chat` records; :func:`verify_signature` checks the
webhook's ``X-Hub-Signature-256`` header with the app secret first.

The question id in each template is the request's id, so an answer maps back to exactly
one request, and only from the person it was sent to.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from reviewkit.adapters.http import post_json
from reviewkit.domain.campaign import Channel
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.secret import Secret
from reviewkit.domain.survey import Survey, SurveyType
from reviewkit.errors import PermanentSendError, ValidationError

__all__ = [
    "ChatAnswer",
    "MessengerTransport",
    "feedback_answers",
    "feedback_template",
    "verify_signature",
]

_SCORE_OPTIONS = {
    SurveyType.NPS: "zero_to_ten",
    SurveyType.CSAT: "one_to_five",
    SurveyType.CES: "one_to_seven",
}


def feedback_template(survey: Survey, *, recipient_id: str, question_id: str) -> dict[str, Any]:
    """The Send API body of a customer-feedback template for *survey*.

    :raises ValidationError: the survey does not fit the template (its chat limits), or a
        CES survey on the five-point scale (the template offers seven points).
    """
    survey.check_for_chat()
    if survey.type is SurveyType.CES and survey.ces_points != 7:
        raise ValidationError("the feedback template's CES scale has seven points, not five")
    question: dict[str, Any] = {
        "id": question_id,
        "type": survey.type.value,
        "title": survey.question_text,
        "score_label": "neg_pos",
        "score_option": _SCORE_OPTIONS[survey.type],
    }
    if survey.comment:
        question["follow_up"] = {
            "type": "free_form",
            "placeholder": survey.comment_prompt or "Anything to add?",
        }
    return {
        "recipient": {"id": recipient_id},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "customer_feedback",
                    "title": survey.title,
                    "subtitle": survey.subtitle,
                    "button_title": survey.button,
                    "feedback_screens": [{"questions": [question]}],
                    "business_privacy": {"url": survey.privacy_url},
                    "expires_in_days": survey.expiry_days,
                },
            }
        },
    }


class MessengerTransport:
    """Send survey requests on the chat channel as Messenger feedback templates.

    :param url: the Send API endpoint (``https://graph.facebook.com/v21.0/me/messages``).
    :param page_token: the page access token, sent as a bearer token; never in ``repr``.

    Replies are sorted like any HTTP API's: 401/403 fail the campaign's account, 408, 429
    and 5xx are retried, other 4xx fail the request.
    """

    def __init__(self, url: str, page_token: Secret | str, *, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"Send API URL {url!r} must start with http:// or https://")
        self.url = url
        self._token = page_token if isinstance(page_token, Secret) else Secret(page_token)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"MessengerTransport({self.url!r})"

    def send(self, message: OutgoingMessage) -> None:
        if message.channel is not Channel.CHAT:
            raise PermanentSendError(f"MessengerTransport sends chat only, not {message.channel}")
        if message.survey is None or message.request_id is None:
            raise PermanentSendError("MessengerTransport sends survey requests only")
        body = feedback_template(
            message.survey, recipient_id=message.to, question_id=message.request_id
        )
        post_json(
            self.url,
            body,
            {"Authorization": f"Bearer {self._token.reveal()}"},
            timeout=self.timeout,
            what=f"Send API answered for {message.to}",
        )

    def close(self) -> None:
        pass


@attrs.frozen
class ChatAnswer:
    """One answer read from a ``messaging_feedback`` webhook."""

    sender_id: str
    request_id: str
    score: int
    comment: str | None

    delivery_id = renamed_attribute("delivery_id", "request_id")


def feedback_answers(payload: Mapping[str, Any]) -> Iterator[ChatAnswer]:
    """Yield the answers in a webhook payload (``{"object": "page", "entry": [...]}``).

    :raises ValidationError: the payload is not a webhook body of that shape.
    """
    try:
        for entry in payload["entry"]:
            for event in entry.get("messaging", []):
                feedback = event.get("messaging_feedback")
                if not feedback:
                    continue
                sender = str(event["sender"]["id"])
                for screen in feedback["feedback_screens"]:
                    for question_id, answer in screen["questions"].items():
                        follow_up = answer.get("follow_up") or {}
                        yield ChatAnswer(
                            sender_id=sender,
                            request_id=str(question_id),
                            score=int(answer["payload"]),
                            comment=follow_up.get("payload") or None,
                        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(f"not a messaging_feedback webhook payload: {exc!r}") from None


def verify_signature(body: bytes, header: str | None, app_secret: Secret | str) -> None:
    """Check a webhook's ``X-Hub-Signature-256`` (``sha256=<hex>``) against the raw body.

    :raises ValidationError: missing or not matching.
    """
    secret = app_secret.reveal() if isinstance(app_secret, Secret) else app_secret
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not header or not hmac.compare_digest(header.strip(), expected):
        raise ValidationError("the webhook signature is missing or does not match")
