"""What happens to a message after the handoff, in one vocabulary whatever reported it: a
bounce (DSN) or a complaint (ARF) read from a mailbox, an e-mail provider's webhook, an SMS
gateway's delivery receipt.

The names follow the vocabulary e-mail providers' webhooks share (django-anymail's): a host's
webhook view turns a payload into :class:`DeliveryEvent` values and hands them to
:class:`reviewkit.services.events.DeliveryEventService`.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.instants import as_utc

__all__ = ["DeliveryEvent", "EventKind", "request_id_of"]


class EventKind(enum.StrEnum):
    """What a provider, a gateway or a returned message says happened."""

    DELIVERED = "delivered"
    """The receiving server (or the phone) accepted the message."""
    DEFERRED = "deferred"
    """Delivery is delayed; the sender keeps trying."""
    BOUNCED = "bounced"
    """The message came back: permanently (hard) or for now (soft)."""
    REJECTED = "rejected"
    """The provider refused to send it (a suppressed address on its side, a policy)."""
    COMPLAINED = "complained"
    """The recipient marked it as spam."""
    OPENED = "opened"
    """The recipient opened it (the provider's own tracking)."""
    CLICKED = "clicked"
    """The recipient followed a link (the provider's own tracking)."""
    UNSUBSCRIBED = "unsubscribed"
    """The recipient unsubscribed through the provider's own link."""


_OUR_ID = re.compile(r"<?([0-9a-f]{32})\.[0-9a-f]{1,12}@[^>]*>?\s*$")


def request_id_of(message_id: str | None) -> str | None:
    """The request a message was sent for, from its ``Message-ID`` (reviewkit writes
    ``<request-id.campaign@sender-domain>``); ``None`` for another sender's message."""
    if not message_id:
        return None
    found = _OUR_ID.match(message_id.strip())
    return found.group(1) if found else None


@attrs.frozen(kw_only=True)
class DeliveryEvent:
    """One thing that happened to one sent message.

    :ivar request_id: the request, when the reporter named it (an SMS gateway's receipt, a
        provider's metadata); else found from *message_id*.
    :ivar message_id: the message's ``Message-ID`` (with or without angle brackets).
    :ivar address: the recipient the report is about (checked against the request's).
    :ivar hard: for a bounce, whether it is permanent (the address does not exist) rather
        than temporary (a full mailbox).
    :ivar reason: the server's words (``550 5.1.1 user unknown``), kept for the operator.
    :ivar source: who reported it (``"dsn"``, ``"arf"``, ``"sendgrid"``, ``"mailgun"``,
        ``"sms-gateway"``).
    """

    kind: EventKind = attrs.field(converter=EventKind)
    at: datetime = attrs.field(converter=as_utc)
    request_id: str | None = None
    message_id: str | None = None
    address: str | None = None
    channel: Channel = attrs.field(default=Channel.EMAIL, converter=Channel)
    hard: bool = True
    reason: str | None = None
    source: str = ""

    @property
    def target(self) -> str | None:
        """The request this event is about, if it can be told."""
        return self.request_id or request_id_of(self.message_id)
