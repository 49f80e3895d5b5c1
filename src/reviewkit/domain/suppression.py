"""Suppression: addresses that must never receive a request, checked at send time.

An address is suppressed on one channel with a reason. The dispatcher looks it up just
before sending, so a customer who unsubscribed after being queued gets nothing.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.errors import ValidationError

__all__ = [
    "Suppression",
    "SuppressionReason",
    "erased_address",
]


class SuppressionReason(enum.StrEnum):
    """Why an address is not sent to."""

    UNSUBSCRIBED = "unsubscribed"
    """The customer asked not to be contacted."""
    BLOCKLISTED = "blocklisted"
    """An operator put the address on the blocklist."""
    HARD_BOUNCE = "hard_bounce"
    """Mail to the address bounced permanently."""
    COMPLAINT = "complaint"
    """The customer marked a message as spam."""
    NO_CONSENT = "no_consent"
    """The customer has not given a consent the campaign requires."""


def _check_address(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value.strip() or any(c in value for c in "\r\n"):
        raise ValidationError(f"suppressed address {value!r} is empty or has a line break")


def _check_aware(_: object, __: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None:
        raise ValidationError("a suppression time must be timezone-aware")


@attrs.frozen(kw_only=True)
class Suppression:
    """One suppressed address on one channel.

    :param at: when it was suppressed.
    :param note: free text (the bounce message, the operator's reason).
    """

    channel: Channel
    address: str = attrs.field(validator=_check_address)
    reason: SuppressionReason
    at: datetime = attrs.field(validator=_check_aware)
    note: str | None = None

    @property
    def key(self) -> tuple[Channel, str]:
        """What identifies it: the channel and the case-folded address."""
        return (self.channel, self.address.casefold())


def erased_address(secret: str, channel: Channel, address: str) -> str:
    """What stays of an erased contact's suppressed address: a keyed hash (HMAC-SHA256
    under *secret*) that a later request to the same address matches, and nothing else
    can be read from."""
    text = f"{Channel(channel).value}:{address.strip().casefold()}".encode()
    return "erased:" + hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()[:40]


def unsubscribe_extra(channel: Channel, address: str) -> str:
    """What an unsubscribe token carries besides its request: ``channel:address``."""
    return f"{Channel(channel).value}:{address}"


def unsubscribe_target(extra: str | None) -> tuple[Channel, str] | None:
    """The channel and address an unsubscribe token carries, or ``None`` (older tokens)."""
    if not extra:
        return None
    channel, sep, address = extra.partition(":")
    if not sep or not address or channel not in {c.value for c in Channel}:
        return None
    return Channel(channel), address
