"""Alert notifications: as e-mail or SMS through any reviewkit transport, or as JSON to a
webhook."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from reviewkit.adapters.http import JSONEndpoint
from reviewkit.domain.campaign import Channel
from reviewkit.domain.headers import check_header_value
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.notifications import Notification, render
from reviewkit.errors import PermanentSendError, ValidationError
from reviewkit.ports import Transport
from reviewkit.serialization import unstructure

__all__ = ["TransportNotifier", "WebhookNotifier"]


class TransportNotifier:
    """A :class:`~reviewkit.ports.Notifier` that sends each receiver's notifications as one
    message through *transport* (SMTP, a Maildir, an SMS gateway).

    :param addresses: each receiver's address on *channel* (an e-mail address or a phone
        number); a receiver without one fails its notifications for good, saying so.
    :param sender: the ``From`` of e-mails.

    The Message-ID is derived from the notifications, so a retry of the same message carries
    the same one.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        addresses: Mapping[str, str],
        sender: str | None = None,
        channel: Channel = Channel.EMAIL,
    ) -> None:
        if sender is not None:
            check_header_value("sender", sender)
        self.transport = transport
        self.addresses = dict(addresses)
        self.sender = sender
        self.channel = Channel(channel)

    def notify(self, receiver: str, notifications: Sequence[Notification]) -> None:
        """Send one message to *receiver* with *notifications*."""
        address = self.addresses.get(receiver)
        if address is None:
            raise PermanentSendError(f"no address for receiver {receiver!r}")
        if not notifications:
            raise ValidationError("nothing to notify")
        subject, text = render(notifications)
        digest = hashlib.sha256("\n".join(sorted(n.id for n in notifications)).encode())
        self.transport.send(
            OutgoingMessage(
                message_id=f"alerts-{digest.hexdigest()[:32]}",
                channel=self.channel,
                sender=self.sender,
                to=address,
                subject=subject,
                text=text if self.channel is Channel.EMAIL else subject,
                created_at=max(n.created_at for n in notifications),
                campaign_id="alerts",
            )
        )


class WebhookNotifier:
    """A :class:`~reviewkit.ports.Notifier` that POSTs each receiver's notifications as JSON
    to the host's chat or pager webhook: ``{"receiver", "subject", "text",
    "notifications": [...]}``, each notification with its alert, labels and evidence.

    408, 429, 5xx and network failures are retried by the alert service; 401/403 wait for
    the credentials to be mended; any other answer fails the notifications for good.

    :param headers: added to every request (an ``Authorization`` header, for example).
    :raises ValidationError: *url* is not http(s).
    """

    def __init__(
        self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
    ) -> None:
        self.endpoint = JSONEndpoint(url, headers=headers, timeout=timeout, what="webhook")

    def notify(self, receiver: str, notifications: Sequence[Notification]) -> None:
        """POST *notifications* for *receiver*."""
        if not notifications:
            raise ValidationError("nothing to notify")
        subject, text = render(notifications)
        payload = {
            "receiver": receiver,
            "subject": subject,
            "text": text,
            "notifications": [unstructure(n) for n in notifications],
        }
        self.endpoint.post(payload, what=f"alerts to {receiver}")
