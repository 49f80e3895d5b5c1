"""DKIM signatures on every e-mail reviewkit sends (``pip install 'reviewkit[dkim]'``).

A :class:`DkimSigner` is a :data:`~reviewkit.adapters.mime.MessageHook`: it signs a message's
finished bytes with the key of its ``From`` domain, so keys can differ per sender domain::

    signer = DkimSigner([DkimKey.from_file("shop.example", "rk1", "/etc/dkim/rk1.pem")])
    transport = SMTPTransport(accounts, hooks=[signer])

The public key goes in DNS at ``rk1._domainkey.shop.example`` as
``v=DKIM1; k=rsa; p=<base64>``. A message from a domain without a key goes out unsigned
(and is logged), as mail without DKIM does today.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from email.utils import parseaddr
from pathlib import Path

import attrs

from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.secret import Secret
from reviewkit.errors import ConfigurationError, ValidationError

__all__ = ["SIGNED_HEADERS", "DkimKey", "DkimSigner"]

log = logging.getLogger("reviewkit.dkim")

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
"""The headers a signature covers (those a message has): the ones a receiver shows or acts
on, and the one-click unsubscribe pair that RFC 8058 asks to be signed."""


def _check_label(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or any(c.isspace() or c in ";=" for c in value) or not value.isascii():
        raise ValidationError(f"DKIM {attribute.name} {value!r}: ASCII, no spaces, ';' or '='")


def _lower(value: str) -> str:
    return value.lower()


def _to_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


@attrs.frozen(kw_only=True)
class DkimKey:
    """One signing key: the domain it signs for, its selector, the private key (PEM)."""

    domain: str = attrs.field(validator=_check_label, converter=_lower)
    selector: str = attrs.field(validator=_check_label)
    private_key: Secret = attrs.field(converter=_to_secret, repr=False)

    @classmethod
    def from_file(cls, domain: str, selector: str, path: str | Path) -> DkimKey:
        """A key read from a PEM file.

        :raises ConfigurationError: the file cannot be read.
        """
        try:
            pem = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"DKIM key {path}: {exc}") from None
        return cls(domain=domain, selector=selector, private_key=Secret(pem))


class DkimSigner:
    """Sign messages with the key of their ``From`` domain.

    :raises ConfigurationError: dkimpy is not installed, or a key does not sign (a bad
        PEM), found when the signer is made rather than at the first message.
    """

    def __init__(self, keys: Iterable[DkimKey]) -> None:
        try:
            import dkim
        except ImportError:
            raise ConfigurationError(
                "DKIM signing needs dkimpy: pip install 'reviewkit[dkim]'"
            ) from None
        self._dkim = dkim
        self.keys = {key.domain: key for key in keys}
        probe = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: probe\r\n\r\nprobe\r\n"
        for key in self.keys.values():
            try:
                self._sign(probe, key)
            except Exception as exc:  # dkimpy raises several kinds for an unusable key
                raise ConfigurationError(f"DKIM key for {key.domain}: {exc}") from None

    def domain_of(self, raw: bytes) -> str | None:
        """The ``From`` domain of finished message bytes."""
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        for line in head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "from":
                address = parseaddr(value.strip())[1]
                return address.rpartition("@")[2].lower() or None
        return None

    def signs(self, domain: str) -> bool:
        """Whether messages from *domain* are signed."""
        return domain.lower() in self.keys

    def __call__(self, raw: bytes, message: OutgoingMessage) -> bytes:
        """Return *raw* with a ``DKIM-Signature`` header in front (unchanged when its
        ``From`` domain has no key)."""
        domain = self.domain_of(raw)
        key = self.keys.get(domain or "")
        if key is None:
            log.info("message %s from %s goes out without DKIM: no key", message.message_id, domain)
            return raw
        return self._sign(raw, key) + raw

    def _sign(self, raw: bytes, key: DkimKey) -> bytes:
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        present = [
            h for h in SIGNED_HEADERS if b"\r\n" + h.lower().encode() + b":" in b"\r\n" + head
        ]
        signature: bytes = self._dkim.sign(
            raw,
            key.selector.encode("ascii"),
            key.domain.encode("ascii"),
            key.private_key.reveal().encode("ascii"),
            include_headers=[h.encode("ascii") for h in present],
            canonicalize=(b"relaxed", b"relaxed"),
            linesep=b"\r\n",
        )
        return signature
