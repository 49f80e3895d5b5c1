"""The message a transport sends: rendered, addressed, identified. No bytes yet.

Transports turn an :class:`OutgoingMessage` into what their medium needs (MIME bytes for
e-mail, a JSON body for an SMS gateway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType, SimpleNamespace
from typing import Any

import attrs

from reviewkit.domain.campaign import Campaign, Channel
from reviewkit.domain.headers import check_header_value
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.request import Recipient, Request
from reviewkit.domain.survey import Survey
from reviewkit.domain.templates import (
    SURVEY_ATTRIBUTES,
    check_template,
    render_template,
    required_fields,
    sample_render_problem,
)
from reviewkit.errors import TemplateError, ValidationError

__all__ = [
    "Attachment",
    "OutgoingMessage",
    "campaign_templates",
    "check_campaign_templates",
    "missing_fields",
    "render_message",
    "required_recipient_fields",
    "sample_fields",
    "template_context",
]


def _freeze(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


def _check_filename(_: object, __: object, value: str) -> None:
    if not value or any(c in value for c in '"\\/\r\n') or not value.isprintable():
        raise ValidationError(f"attachment file name {value!r}: no quotes, slashes or controls")


def _check_content_id(_: object, __: object, value: str | None) -> None:
    if value is not None and (
        not value or not value.isascii() or any(c in value for c in "<>\r\n \t")
    ):
        raise ValidationError(f"content id {value!r}: ASCII without spaces or angle brackets")


@attrs.frozen(kw_only=True)
class Attachment:
    """A file sent with an e-mail.

    :ivar content_id: set for an image the HTML shows inline (``<img src="cid:ID">``);
        ``None`` for a file attached for download.
    """

    filename: str = attrs.field(validator=_check_filename)
    content_type: str
    data: bytes = attrs.field(repr=False)
    content_id: str | None = attrs.field(default=None, validator=_check_content_id)


def _to_attachments(values: Iterable[Attachment]) -> tuple[Attachment, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class OutgoingMessage:
    """A rendered request ready for a transport.

    :ivar message_id: stable per request: the same on every retry, so receivers and
        transports can recognise a repeat.
    :ivar request_id: the request this message belongs to (``None`` for a test send).
    :ivar survey: the campaign's survey, for transports that build a native survey (a chat
        channel's feedback template).
    :ivar attachments: files sent with an e-mail, inline images among them.
    """

    message_id: str
    channel: Channel
    sender: str | None
    to: str
    subject: str
    text: str
    html: str | None = None
    created_at: datetime
    campaign_id: str
    request_id: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze)
    survey: Survey | None = None
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_to_attachments)

    delivery_id = renamed_attribute("delivery_id", "request_id")


def template_context(
    campaign: Campaign,
    recipient: Recipient,
    links: Mapping[str, str] | None = None,
    score_links: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Return the names a campaign's templates see for *recipient*.

    :param score_links: for a survey, each score's one-click answer link.
    """
    links = {"unsubscribe": "", "answer": "", "open": "", **(links or {})}
    return {
        "recipient": recipient,
        "campaign": {"name": campaign.name},
        "links": links,
        "survey": survey_context(campaign, links["answer"], score_links or {}),
    }


# What a campaign without a survey shows its templates (the sandbox keeps it unchanged).
_NO_SURVEY: dict[str, Any] = dict.fromkeys(SURVEY_ATTRIBUTES, "") | {
    "options": (),
    "expiry_days": 0,
}


def survey_context(
    campaign: Campaign, answer_link: str, score_links: Mapping[int, str]
) -> dict[str, Any]:
    """What ``{{ survey.* }}`` holds: the question, the scale with one-click links, texts."""
    survey = campaign.survey
    if survey is None:
        return _NO_SURVEY
    scale = survey.scale
    return {
        "question": survey.question_text,
        "title": survey.title,
        "subtitle": survey.subtitle,
        "button": survey.button,
        "low_label": scale.low_label,
        "high_label": scale.high_label,
        "privacy_url": survey.privacy_url,
        "expiry_days": survey.expiry_days,
        "url": answer_link,
        "options": [{"score": n, "url": score_links.get(n, answer_link)} for n in scale],
    }


def check_campaign_templates(campaign: Campaign, *, complete: bool = True) -> None:
    """Check every template *campaign* has written.

    :param complete: also require a body (and a subject for e-mail), as sending does; a draft
        is checked with ``complete=False``.
    :raises TemplateError: for a template that does not parse or reads an unknown name.
    :raises ValidationError: for a missing subject or body.
    """
    if complete:
        if not campaign.body.strip():
            raise ValidationError(f"campaign {campaign.name!r} has no body")
        if campaign.channel is Channel.EMAIL and not campaign.subject.strip():
            raise ValidationError(f"campaign {campaign.name!r} has no subject")
    for label, source, html in campaign_templates(campaign):
        check_template(label, source, html=html)
        _render_sample(label, source, html)


def campaign_templates(campaign: Campaign) -> list[tuple[str, str, bool]]:
    """Every template *campaign* has written: ``(label, source, is_html)``."""
    reminder = campaign.reminder
    written = (
        ("subject", campaign.subject, False),
        ("body", campaign.body, False),
        ("html", campaign.html or "", True),
        ("reminder subject", reminder.subject if reminder else "", False),
        ("reminder body", reminder.body if reminder else "", False),
    )
    return [t for t in written if t[1]]


def required_recipient_fields(campaign: Campaign) -> frozenset[str]:
    """The custom fields every recipient of *campaign* must have: those its templates read
    as ``recipient.fields.NAME`` (see :func:`reviewkit.domain.templates.required_fields`)."""
    found: frozenset[str] = frozenset()
    for _, source, _ in campaign_templates(campaign):
        found |= required_fields(source)
    return found


def missing_fields(campaign: Campaign, recipient: Recipient) -> list[str]:
    """The fields *campaign*'s templates read that *recipient* lacks, sorted."""
    required = required_recipient_fields(campaign)
    return sorted(f for f in required if recipient.fields.get(f) is None) if required else []


def sample_fields(campaign: Campaign) -> dict[str, str]:
    """Stand-in values (``"<NAME>"``) for the fields *campaign*'s templates read, for a
    preview or a test send to someone who is not a customer."""
    return {name: f"<{name}>" for name in sorted(required_recipient_fields(campaign))}


class _SampleFields(dict[str, str]):
    """A recipient's fields when checking a template: every field exists."""

    def __missing__(self, key: str) -> str:
        return "sample"


_SAMPLE_CONTEXT: dict[str, Any] = {
    "recipient": SimpleNamespace(
        name="Sample",
        email="sample@example.com",
        phone="+48500100200",
        transaction_id="SAMPLE-1",
        timezone="Europe/Warsaw",
        segment="sample",
        fields=_SampleFields(),
    ),
    "campaign": {"name": "sample"},
    "links": dict.fromkeys(("unsubscribe", "answer", "open"), "https://example.com/t"),
    "survey": _NO_SURVEY,
}


def _render_sample(label: str, source: str, html: bool) -> None:
    """Render *source* once for a sample recipient, so that what the sandbox refuses (a
    private attribute, a method that does not exist) is refused now, not at every send.

    Errors that depend on real data (arithmetic on a field, say) are left to the send: the
    sample's values are not the customer's.
    """
    problem = sample_render_problem(label, source, _SAMPLE_CONTEXT, html=html)
    if problem is not None:
        raise problem


def render_message(
    campaign: Campaign,
    recipient: Recipient,
    *,
    to: str,
    message_id: str,
    now: datetime,
    request: Request | None = None,
    links: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    sender: str | None = None,
    reminder: bool = False,
    score_links: Mapping[int, str] | None = None,
) -> OutgoingMessage:
    """Render *campaign*'s templates for *recipient* into an :class:`OutgoingMessage`.

    :param links: signed links the templates may use (``unsubscribe``).
    :param headers: extra headers for the message (``List-Unsubscribe``).
    :param sender: send from this account instead of the campaign's default.
    :param reminder: render the campaign's reminder (its own subject and body where set).
    :param score_links: a survey's one-click link for each score.
    :raises TemplateError: when rendering fails for this recipient.
    """
    if reminder and campaign.reminder is not None:
        campaign = attrs.evolve(
            campaign,
            subject=campaign.reminder.subject or campaign.subject,
            body=campaign.reminder.body or campaign.body,
        )
    missing = missing_fields(campaign, recipient)
    if missing:
        where = next(
            label for label, source, _ in campaign_templates(campaign)
            if required_fields(source) & set(missing)
        )  # fmt: skip
        raise TemplateError(
            f"the recipient has no field {', '.join(map(repr, missing))}, which the template "
            "reads (add it to the recipient, or read it with recipient.fields.get(...))",
            template=where,
        )
    context = template_context(campaign, recipient, links, score_links)
    subject = render_template("subject", campaign.subject, context) if campaign.subject else ""
    try:
        check_header_value("subject", subject)
    except ValidationError as exc:
        raise TemplateError(f"the rendered {exc}", template="subject") from None
    return OutgoingMessage(
        message_id=message_id,
        channel=campaign.channel,
        sender=sender or campaign.sender,
        to=to,
        subject=subject,
        text=render_template("body", campaign.body, context),
        html=(
            None
            if campaign.html is None or campaign.channel is Channel.SMS
            else render_template("html", campaign.html, context, html=True)
        ),
        created_at=now,
        campaign_id=campaign.id,
        request_id=None if request is None else request.id,
        headers=headers or {},
        survey=campaign.survey,
    )
