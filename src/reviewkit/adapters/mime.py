"""Turning an :class:`~reviewkit.domain.messages.OutgoingMessage` into RFC 5322 bytes."""

from __future__ import annotations

from email import policy
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from reviewkit.domain.campaign import Channel
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.errors import PermanentSendError

__all__ = ["build_email", "message_id_header"]

_FALLBACK_DOMAIN = "reviewkit.invalid"


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard registry builds a new header class on every lookup (``type(...)`` per
    header, per message); caching them makes building a message several times cheaper."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


# Headers set pre-folded (see _set_unstructured) are written out as they are.
_POLICY = policy.SMTP.clone(refold_source="none", header_factory=_CachedHeaderRegistry())


def _set_unstructured(email: EmailMessage, name: str, value: str) -> None:
    """Set a free-text header, RFC 2047-encoding it ourselves when it is not ASCII.

    The standard library's own folding drops the space between two encoded words when it
    splits a long non-ASCII subject ("gęślą jaźń" arrives as "gęśląjaźń"), so non-ASCII
    values are encoded and folded by :class:`email.header.Header` and stored verbatim.
    """
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} contains a line break")
    if value.isascii():
        email[name] = value
        return
    folded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=78)
    email.set_raw(name, folded)


def _cte(text: str) -> str:
    return (
        "7bit"
        if text.isascii() and max(map(len, text.splitlines() or [""])) <= 998
        else ("quoted-printable")
    )


def message_id_header(message: OutgoingMessage) -> str:
    """Return the ``Message-ID`` value: the delivery's stable id at the sender's domain."""
    domain = _FALLBACK_DOMAIN
    if message.sender and "@" in message.sender:
        domain = message.sender.rsplit("@", 1)[1].strip(" >") or domain
    return f"<{message.message_id}@{domain}>"


def build_email(message: OutgoingMessage) -> EmailMessage:
    """Build the MIME message: text, or text and HTML as multipart/alternative.

    :raises PermanentSendError: when a header value from data is unusable (a line break).
    """
    email = EmailMessage(policy=_POLICY)
    try:
        email["From"] = message.sender or f"reviewkit@{_FALLBACK_DOMAIN}"
        email["To"] = message.to
        if message.channel is Channel.EMAIL:
            _set_unstructured(email, "Subject", message.subject)
        email["Date"] = format_datetime(message.created_at)
        email["Message-ID"] = message_id_header(message)
        email["X-Reviewkit-Campaign"] = message.campaign_id
        email["X-Reviewkit-Channel"] = message.channel.value
        if message.delivery_id:
            email["X-Reviewkit-Delivery"] = message.delivery_id
        for name, value in message.headers.items():
            email[name] = value
    except ValueError as exc:  # the email package refuses CR/LF in header values
        raise PermanentSendError(f"message {message.message_id}: bad header value: {exc}") from exc
    # Quoted-printable keeps the message 7-bit clean for relays without 8BITMIME.
    email.set_content(message.text, cte=_cte(message.text))
    if message.html is not None:
        email.add_alternative(message.html, subtype="html", cte=_cte(message.html))
    return email
