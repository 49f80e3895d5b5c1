"""SMS transports: a generic HTTP gateway, a file/console outbox, and a channel router.

Numbers reach these transports already in E.164 (the campaign service normalises them with
the campaign's ``default_region``).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from reviewkit.adapters.http import post_json
from reviewkit.domain.campaign import Channel
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.secret import Secret
from reviewkit.domain.sms import sms_segments
from reviewkit.errors import (
    PermanentSendError,
    TransientSendError,
    ValidationError,
)
from reviewkit.ports import RateLimitedTransport, Transport

__all__ = ["DEFAULT_SMS_BODY", "ChannelRouter", "HttpSmsTransport", "SmsFileTransport"]

DEFAULT_SMS_BODY: Mapping[str, str] = {
    "to": "{to}",
    "from": "{sender}",
    "text": "{text}",
    "reference": "{message_id}",
}
"""The JSON body :class:`HttpSmsTransport` posts unless told otherwise; each ``{field}``
is replaced by the message's value (``to``, ``sender``, ``text``, ``message_id``)."""


def _require_sms(message: OutgoingMessage, transport: str) -> None:
    if message.channel is not Channel.SMS:
        raise PermanentSendError(f"{transport} sends SMS only, not {message.channel.value}")


def _fill(template: str, fields: Mapping[str, str]) -> str:
    # Plain replacement, not str.format: message text may hold braces of its own.
    for key, value in fields.items():
        template = template.replace("{" + key + "}", value)
    return template


class HttpSmsTransport:
    """Post each SMS as JSON to a gateway's HTTP API.

    :param url: the gateway's send endpoint.
    :param headers: extra request headers, e.g. ``{"Authorization": Secret("Bearer …")}``;
        secret values never show in ``repr``.
    :param body: the JSON object to post, its string values templated with ``{to}``,
        ``{sender}``, ``{text}`` and ``{message_id}`` (see :data:`DEFAULT_SMS_BODY`).
    :param sender: the sender id when the campaign gives none.

    Replies: 2xx is sent; 401 and 403 are an :class:`AccountError`; 408, 429 and 5xx, and a
    network failure, are transient; any other 4xx is permanent for that number. Every
    request carries an ``Idempotency-Key`` header: the message id, the same on retries.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str | Secret] | None = None,
        body: Mapping[str, str] = DEFAULT_SMS_BODY,
        sender: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"SMS gateway URL {url!r} must start with http:// or https://")
        self.url = url
        self._headers = dict(headers or {})
        self.body = dict(body)
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpSmsTransport({self.url!r}, headers={sorted(self._headers)})"

    def send(self, message: OutgoingMessage) -> None:
        _require_sms(message, "HttpSmsTransport")
        fields = {
            "to": message.to,
            "sender": message.sender or self.sender or "",
            "text": message.text,
            "message_id": message.message_id,
        }
        payload = {key: _fill(value, fields) for key, value in self.body.items()}
        headers = {
            "Idempotency-Key": message.message_id,
            **{k: v.reveal() if isinstance(v, Secret) else v for k, v in self._headers.items()},
        }
        post_json(
            self.url,
            payload,
            headers,
            timeout=self.timeout,
            what=f"SMS gateway answered for {message.to}",
        )

    def close(self) -> None:
        pass


class SmsFileTransport:
    """Write each SMS as one JSON line to a file (appended) or to standard output.

    For development: see what would be sent, segments included, without a gateway.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        _require_sms(message, "SmsFileTransport")
        cost = sms_segments(message.text)
        line = json.dumps(
            {
                "message_id": message.message_id,
                "at": message.created_at.isoformat(),
                "to": message.to,
                "from": message.sender,
                "text": message.text,
                "encoding": cost.encoding.value,
                "segments": cost.segments,
            },
            ensure_ascii=False,
        )
        with self._lock:
            if self.path is None:
                print(line, file=sys.stdout, flush=True)
                return
            try:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
            except OSError as exc:
                raise TransientSendError(f"cannot write SMS file {self.path}: {exc}") from exc

    def close(self) -> None:
        pass


class ChannelRouter:
    """One transport for the dispatcher, handing each message to its channel's transport.

    ``ChannelRouter(email=SMTPTransport(...), sms=HttpSmsTransport(...))``
    """

    def __init__(self, *, email: Transport | None = None, sms: Transport | None = None) -> None:
        self.routes: dict[Channel, Transport] = {}
        if email is not None:
            self.routes[Channel.EMAIL] = email
        if sms is not None:
            self.routes[Channel.SMS] = sms
        if not self.routes:
            raise ValidationError("ChannelRouter needs a transport for at least one channel")

    def send(self, message: OutgoingMessage) -> None:
        route = self.routes.get(message.channel)
        if route is None:
            raise PermanentSendError(f"no transport configured for {message.channel.value}")
        route.send(message)

    def pacing(self, sender: str | None) -> tuple[str, timedelta] | None:
        for route in self.routes.values():
            if isinstance(route, RateLimitedTransport):
                found = route.pacing(sender)
                if found is not None:
                    return found
        return None

    def close(self) -> None:
        for route in self.routes.values():
            route.close()
