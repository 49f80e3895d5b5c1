"""Providers' webhook payloads as :class:`~reviewkit.domain.events.DeliveryEvent` values.

A host's webhook view parses the request body as JSON, checks it came from the provider (for
Mailgun with :func:`mailgun_signature_ok`), and hands the events to
:meth:`reviewkit.services.events.DeliveryEventService.record_all`::

    @app.post("/hooks/mailgun")
    def mailgun():
        payload = request.get_json()
        if not mailgun_signature_ok(payload, MAILGUN_SIGNING_KEY):
            abort(403)
        events.record_all(mailgun_events(payload))
        return "", 204

- :func:`sendgrid_events`: SendGrid's Event Webhook (a JSON array of events).
- :func:`mailgun_events`: Mailgun's webhooks (one ``event-data`` object per call).
- :func:`ses_events`: Amazon SES notifications and event publishing, as SNS delivers them
  (the SNS envelope, or the SES message inside it).
- :func:`sms_receipt_events`: delivery receipts of an SMS gateway in front of
  :class:`~reviewkit.adapters.sms.HttpSmsTransport`: ``{"message_id", "status", "at",
  "error"}`` objects, ``message_id`` being the ``Idempotency-Key`` the transport sent.

Events reviewkit has no use for (``processed``, ``accepted``) are left out. A payload that
is not the shape a function reads raises :class:`~reviewkit.errors.ValidationError` naming
what is wrong; nothing is half-read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reviewkit.domain.campaign import Channel
from reviewkit.domain.events import DeliveryEvent, EventKind
from reviewkit.errors import ValidationError

__all__ = [
    "mailgun_events",
    "mailgun_signature_ok",
    "sendgrid_events",
    "ses_events",
    "sms_receipt_events",
]

_SENDGRID = {
    "delivered": EventKind.DELIVERED,
    "deferred": EventKind.DEFERRED,
    "bounce": EventKind.BOUNCED,
    "dropped": EventKind.REJECTED,
    "spamreport": EventKind.COMPLAINED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
    "unsubscribe": EventKind.UNSUBSCRIBED,
    "group_unsubscribe": EventKind.UNSUBSCRIBED,
}
_MAILGUN = {
    "delivered": EventKind.DELIVERED,
    "failed": EventKind.BOUNCED,
    "rejected": EventKind.REJECTED,
    "complained": EventKind.COMPLAINED,
    "opened": EventKind.OPENED,
    "clicked": EventKind.CLICKED,
    "unsubscribed": EventKind.UNSUBSCRIBED,
}
_SES = {
    "Delivery": (EventKind.DELIVERED, "delivery", "recipients"),
    "Bounce": (EventKind.BOUNCED, "bounce", "bouncedRecipients"),
    "Complaint": (EventKind.COMPLAINED, "complaint", "complainedRecipients"),
    "Reject": (EventKind.REJECTED, "reject", None),
    "DeliveryDelay": (EventKind.DEFERRED, "deliveryDelay", "delayedRecipients"),
    "Open": (EventKind.OPENED, "open", None),
    "Click": (EventKind.CLICKED, "click", None),
}
_SMS = {
    "delivered": (EventKind.DELIVERED, True),
    "failed": (EventKind.BOUNCED, True),
    "undelivered": (EventKind.BOUNCED, True),
    "expired": (EventKind.BOUNCED, False),
    "queued": None,
    "sent": None,
}


def _timestamp(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"{where}: no timestamp")
    try:
        if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValidationError(f"{where}: timestamp {value!r} has no UTC offset")
            return parsed
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValidationError(f"{where}: bad timestamp {value!r}") from None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}: expected a JSON object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a JSON array")
    return value


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def sendgrid_events(payload: Any) -> list[DeliveryEvent]:
    """The events of one SendGrid Event Webhook call (a JSON array).

    A ``bounce`` of type ``blocked`` is soft (the receiving server refused it for now); of
    type ``bounce`` hard. The ``smtp-id`` field names the message.

    :raises ValidationError: not an array of event objects, or an event without its time.
    """
    if not isinstance(payload, Sequence) or isinstance(payload, str | bytes):
        raise ValidationError("a SendGrid webhook body is a JSON array of events")
    events = []
    for index, item in enumerate(payload):
        where = f"SendGrid event {index}"
        event = _object(item, where)
        kind = _SENDGRID.get(str(event.get("event", "")))
        if kind is None:
            continue
        events.append(
            DeliveryEvent(
                kind=kind,
                at=_timestamp(event.get("timestamp"), where),
                message_id=_text(event.get("smtp-id")),
                request_id=_text(event.get("reviewkit_request")),
                address=_text(event.get("email")),
                hard=not (kind is EventKind.BOUNCED and event.get("type") == "blocked"),
                reason=_text(event.get("reason") or event.get("response")),
                source="sendgrid",
            )
        )
    return events


def mailgun_events(payload: Any) -> list[DeliveryEvent]:
    """The event of one Mailgun webhook call (``{"signature": …, "event-data": …}``).

    A ``failed`` event is a hard bounce when its severity is ``permanent``, soft otherwise.

    :raises ValidationError: no ``event-data`` object, or an event without its time.
    """
    data = _object(_object(payload, "Mailgun webhook").get("event-data"), "Mailgun event-data")
    kind = _MAILGUN.get(str(data.get("event", "")))
    if kind is None:
        return []
    message = data.get("message")
    headers = message.get("headers", {}) if isinstance(message, Mapping) else {}
    status = data.get("delivery-status")
    reason = None
    if isinstance(status, Mapping):
        parts = [str(status.get(k)) for k in ("code", "message", "description") if status.get(k)]
        reason = " ".join(parts) or None
    return [
        DeliveryEvent(
            kind=kind,
            at=_timestamp(data.get("timestamp"), "Mailgun event-data"),
            message_id=_text(headers.get("message-id") if isinstance(headers, Mapping) else None),
            address=_text(data.get("recipient")),
            hard=data.get("severity", "permanent") == "permanent",
            reason=reason or _text(data.get("reason")),
            source="mailgun",
        )
    ]


def mailgun_signature_ok(payload: Any, signing_key: str) -> bool:
    """Whether a Mailgun webhook call carries a good signature: HMAC-SHA256 of its
    timestamp and token under the account's webhook signing key."""
    try:
        signature = _object(_object(payload, "Mailgun webhook").get("signature"), "signature")
        text = f"{signature['timestamp']}{signature['token']}".encode()
        given = str(signature["signature"])
    except (ValidationError, KeyError):
        return False
    expected = hmac.new(signing_key.encode(), text, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def ses_events(payload: Any, *, topic_arn: str | None = None) -> list[DeliveryEvent]:
    """The events of one Amazon SES notification (``notificationType``) or published event
    (``eventType``), as an SNS HTTP(S) subscription posts it (``{"Type": "Notification",
    "Message": "<the SES JSON>"}``) or the SES JSON itself.

    One event per recipient the notification names (every destination for an open, a click
    or a reject). A ``Permanent`` bounce is hard, a ``Transient`` or ``Undetermined`` one
    soft. The message is named by the ``Message-ID`` header SES kept
    (``mail.commonHeaders.messageId``). SNS's subscription confirmations and other message
    types give no events (confirm the subscription by its ``SubscribeURL`` yourself).

    :param topic_arn: when given, a notification from another SNS topic is refused.
    :raises ValidationError: not such a payload, or one from another topic.
    """
    body = _object(payload, "SES notification")
    if "Type" in body:  # the SNS envelope
        if topic_arn is not None and body.get("TopicArn") != topic_arn:
            raise ValidationError(f"SNS message from topic {body.get('TopicArn')!r}, not ours")
        if body.get("Type") != "Notification":
            return []
        try:
            body = _object(json.loads(str(body.get("Message", ""))), "SES notification")
        except json.JSONDecodeError:
            raise ValidationError("SNS notification: its Message is not SES JSON") from None
    kind_name = str(body.get("eventType") or body.get("notificationType") or "")
    mapped = _SES.get(kind_name)
    if mapped is None:
        return []
    kind, detail_key, recipients_key = mapped
    mail = _object(body.get("mail"), "SES notification mail")
    detail = _object(body.get(detail_key, {}), f"SES {kind_name}")
    headers = mail.get("commonHeaders")
    message_id = _text(headers.get("messageId")) if isinstance(headers, Mapping) else None
    at = _timestamp(detail.get("timestamp") or mail.get("timestamp"), f"SES {kind_name}")
    hard = str(detail.get("bounceType", "Permanent")) == "Permanent"
    if recipients_key is None:
        named: list[tuple[str | None, str | None]] = [
            (_text(a), _text(detail.get("reason")))
            for a in _list(mail.get("destination"), "SES mail destination") or [None]
        ]
    else:
        named = []
        for item in _list(detail.get(recipients_key), f"SES {kind_name} {recipients_key}"):
            if isinstance(item, Mapping):
                reason = item.get("diagnosticCode") or item.get("status")
                named.append((_text(item.get("emailAddress")), _text(reason)))
            else:
                named.append((_text(item), None))
    return [
        DeliveryEvent(
            kind=kind,
            at=at,
            message_id=message_id,
            address=address,
            hard=hard,
            reason=reason or _text(detail.get("complaintFeedbackType")),
            source="ses",
        )
        for address, reason in named
    ]


def sms_receipt_events(payload: Any) -> list[DeliveryEvent]:
    """Delivery receipts of an SMS gateway: one object or a JSON array of them, each
    ``{"message_id": …, "status": "delivered" | "failed" | "undelivered" | "expired",
    "at": ISO 8601 or epoch seconds, "error": …}``; ``queued`` and ``sent`` are left out.

    :raises ValidationError: a receipt without a message id, time or known status.
    """
    items = payload if isinstance(payload, Sequence) and not isinstance(payload, str) else [payload]
    events = []
    for index, item in enumerate(items):
        where = f"SMS receipt {index}"
        receipt = _object(item, where)
        status = str(receipt.get("status", ""))
        if status not in _SMS:
            raise ValidationError(f"{where}: unknown status {status!r}")
        mapped = _SMS[status]
        if mapped is None:
            continue
        message_id = _text(receipt.get("message_id"))
        if message_id is None:
            raise ValidationError(f"{where}: no message_id")
        kind, hard = mapped
        request_id = message_id.split(".", 1)[0]
        events.append(
            DeliveryEvent(
                kind=kind,
                at=_timestamp(receipt.get("at"), where),
                request_id=request_id,
                # No address check: gateways write numbers their own way; the id names it.
                channel=Channel.SMS,
                hard=hard,
                reason=_text(receipt.get("error")),
                source="sms-gateway",
            )
        )
    return events
