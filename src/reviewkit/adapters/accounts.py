"""Sender accounts: where e-mail goes out from, and how fast it may.

Passwords are held in a :class:`~reviewkit.domain.secret.Secret`, whose ``repr`` and ``str``
never show the value; reviewkit never stores them — the host passes them in, or
:func:`secret_from_env` reads them from the environment.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from email.utils import formataddr

import attrs

from reviewkit.domain.secret import Secret
from reviewkit.errors import ValidationError

__all__ = ["RateLimit", "Security", "SenderAccount", "secret_from_env"]


class Security(enum.StrEnum):
    """How the SMTP connection is protected."""

    TLS = "tls"
    """Implicit TLS from the first byte (port 465, ``smtps://``)."""
    STARTTLS = "starttls"
    """Plain connection upgraded with STARTTLS before logging in (port 587)."""
    NONE = "none"
    """No encryption: only for a relay on the same machine or network (port 25)."""


_DEFAULT_PORTS = {Security.TLS: 465, Security.STARTTLS: 587, Security.NONE: 25}


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> Secret:
    """Read a secret from the environment variable *name* (of *environ*, by default the
    process's environment).

    :raises ValidationError: when the variable is not set.
    """
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        raise ValidationError(f"environment variable {name} is not set (it should hold a password)")
    return Secret(value)


_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


@attrs.frozen
class RateLimit:
    """At most ``count`` messages per ``per``; enforced as an even gap between messages."""

    count: int = attrs.field(validator=attrs.validators.ge(1))
    per: timedelta

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse ``"100/h"``, ``"5/min"``, ``"2000/day"``.

        :raises ValidationError: on anything else.
        """
        match = _RATE_RE.match(text)
        if match is None:
            raise ValidationError(f"rate limit {text!r}: write COUNT/PERIOD, like 100/h or 5/min")
        return cls(int(match.group(1)), timedelta(seconds=_PERIODS[match.group(2)]))

    @property
    def min_gap(self) -> timedelta:
        """The gap between two messages, rounded up to a whole second."""
        seconds = -(-int(self.per.total_seconds()) // self.count)
        return timedelta(seconds=seconds)


def _to_secret(value: Secret | str | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def _to_rate(value: RateLimit | str | None) -> RateLimit | None:
    if isinstance(value, str):
        return RateLimit.parse(value)
    return value


def _check_header_text(
    _: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and any(c in value for c in "\r\n"):
        raise ValidationError(f"account {attribute.name} {value!r} contains a line break")


@attrs.frozen(kw_only=True)
class SenderAccount:
    """An SMTP account messages are sent from.

    :param name: how campaigns refer to it (``Campaign.sender``).
    :param host: the SMTP server.
    :param port: defaults to 465, 587 or 25 by *security*.
    :param username: for AUTH; ``None`` for a relay that needs none.
    :param password: a :class:`Secret` (a plain string is wrapped).
    :param from_address: the envelope sender and ``From`` address; ``None`` to use the
        campaign's ``sender`` as given.
    :param from_name: the display name in ``From``.
    :param reply_to: a ``Reply-To`` address.
    :param rate_limit: at most this many messages, across every campaign and worker.
    """

    name: str
    host: str
    port: int | None = None
    security: Security = attrs.field(default=Security.STARTTLS, converter=Security)
    username: str | None = None
    password: Secret | None = attrs.field(default=None, converter=_to_secret, repr=False)
    from_address: str | None = attrs.field(default=None, validator=_check_header_text)
    from_name: str | None = attrs.field(default=None, validator=_check_header_text)
    reply_to: str | None = attrs.field(default=None, validator=_check_header_text)
    rate_limit: RateLimit | None = attrs.field(default=None, converter=_to_rate)
    timeout: float = 30.0

    def __attrs_post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationError("a sender account needs a name")
        if not self.host.strip():
            raise ValidationError(f"sender account {self.name!r} has no host")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValidationError(f"sender account {self.name!r}: port {self.port} is not 1-65535")
        if self.from_address is not None and "@" not in self.from_address:
            raise ValidationError(
                f"sender account {self.name!r}: from_address {self.from_address!r} "
                "is not an address"
            )

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]

    @property
    def from_header(self) -> str | None:
        """``"Name <address>"`` for the ``From`` header, or ``None`` to use the campaign's."""
        if self.from_address is None:
            return None
        return formataddr((self.from_name or "", self.from_address))
