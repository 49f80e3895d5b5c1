"""Signed, expiring link tokens: what an unsubscribe, answer or tracking link carries.

A token names its purpose, the request it belongs to, when it expires and, optionally,
one more value (a score, a target URL). It is signed with HMAC-SHA256 under a key id, so
keys can be rotated: sign with the newest, keep the older ones for verifying until the
links they signed have expired. A changed character, another purpose, an unknown key or an
expired token is refused with :class:`TokenError` saying which.

Two spellings, both verified: the compact one (about 60 characters, for SMS) packs the
fields in binary with a 96-bit MAC and is used whenever the request id is reviewkit's own
(32 hex digits); the text one (``payload.mac``) carries any other id.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

from reviewkit.domain.instants import as_utc
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.secret import Secret
from reviewkit.errors import TokenError, ValidationError

__all__ = ["LinkSigner", "LinkToken", "TokenError", "TokenPurpose"]

_VERSION = "1"
_COMPACT = 2  # first byte of a compact token
_COMPACT_MAC = 12  # bytes of HMAC-SHA256 kept: 96 bits, above RFC 2104's 80-bit floor


class TokenPurpose(enum.StrEnum):
    """What a link does; a token for one purpose is refused for another."""

    UNSUBSCRIBE = "u"
    """Stop all requests to this address (RFC 8058 one-click, and the link in the body)."""
    ANSWER = "a"
    """Open the answer page, or record a one-click score."""
    OPEN = "o"
    """The open-tracking pixel."""
    CLICK = "c"
    """A tracked link click."""
    SURVEY = "s"
    """An open survey link: a campaign's survey at a location, with no request behind it
    (the token's id is the campaign's, its extra the location)."""


@attrs.frozen
class LinkToken:
    """What a verified token says."""

    purpose: TokenPurpose
    request_id: str
    expires_at: datetime
    extra: str | None = None

    delivery_id = renamed_attribute("delivery_id", "request_id")


def _unexpired(found: LinkToken, now: datetime) -> LinkToken:
    """*found* (authentic and of the right purpose) unless it has expired by *now*."""
    if now >= found.expires_at:
        detail = f"the link expired at {found.expires_at.isoformat()}"
        raise TokenError("expired", detail, token=found)
    return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_hex_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _to_keys(keys: Mapping[str, Secret | str]) -> dict[str, Secret]:
    converted = {kid: k if isinstance(k, Secret) else Secret(k) for kid, k in keys.items()}
    for kid, key in converted.items():
        if not kid or not kid.isalnum():
            raise ValidationError(f"link key id {kid!r} must be letters and digits")
        if len(key.reveal()) < 16:
            raise ValidationError(
                f"link key {kid!r} is too short: use at least 16 random characters"
            )
    if not converted:
        raise ValidationError("a LinkSigner needs at least one key")
    return converted


@attrs.frozen
class LinkSigner:
    """Signs and verifies link tokens.

    :param keys: key id → secret; the host keeps them (environment, secret store).
    :param current: the key id new tokens are signed with (the first key when not given);
        the others only verify, for rotation.
    :param ttl: how long a token lives unless :meth:`sign` is told otherwise.
    """

    keys: dict[str, Secret] = attrs.field(converter=_to_keys, repr=False)
    current: str | None = None
    ttl: timedelta = timedelta(days=60)

    def __attrs_post_init__(self) -> None:
        if self.current is not None and self.current not in self.keys:
            raise ValidationError(f"current link key {self.current!r} is not among the keys")

    @classmethod
    def from_text(cls, text: str, *, source: str = "link keys") -> LinkSigner:
        """A signer from ``id:secret[,id:secret…]`` (as kept in one environment variable);
        the first key signs, all verify.

        :param source: where the text came from, for the error message.
        :raises ValidationError: an item without ``id:``, a bad id or a short secret.
        """
        keys: dict[str, Secret | str] = {}
        for item in text.split(","):
            kid, sep, secret = item.strip().partition(":")
            if not sep:
                raise ValidationError(f"{source}: write link keys as id:secret[,id:secret]")
            keys[kid] = Secret(secret)
        return cls(keys)

    def signing_secret(self) -> str:
        """The secret of the key that signs (for other keyed hashes reviewkit keeps)."""
        return self.keys[self.current or next(iter(self.keys))].reveal()

    def secrets(self) -> list[str]:
        """Every key's secret, the signing one first (to recognise older hashes)."""
        first = self.signing_secret()
        return [first, *(k.reveal() for k in self.keys.values() if k.reveal() != first)]

    def sign(
        self,
        purpose: TokenPurpose,
        request_id: str,
        *,
        now: datetime,
        ttl: timedelta | None = None,
        extra: str | None = None,
    ) -> str:
        """Return a URL-safe token for *purpose* on *request_id*, valid from *now* for *ttl*."""
        kid = self.current or next(iter(self.keys))
        expires = int((as_utc(now) + (ttl or self.ttl)).timestamp())
        if _is_hex_id(request_id) and len(kid) < 256:
            packed = (
                bytes([_COMPACT, len(kid)])
                + kid.encode("ascii")
                + TokenPurpose(purpose).value.encode("ascii")
                + bytes.fromhex(request_id)
                + expires.to_bytes(5, "big")
                + (extra or "").encode("utf-8")
            )
            return _b64(packed + self._mac(kid, packed)[:_COMPACT_MAC])
        fields = [_VERSION, kid, TokenPurpose(purpose).value, request_id, str(expires)]
        if extra is not None:
            fields.append(extra)
        if any("|" in f for f in fields):
            raise ValidationError("token fields cannot contain '|'")
        payload = "|".join(fields).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(kid, payload))}"

    def verify(self, token: str, *, purpose: TokenPurpose, now: datetime) -> LinkToken:
        """Check *token* and return what it says.

        :raises TokenError: malformed, tampered, unknown key, wrong purpose or expired.
        """
        token = token.strip()
        if "." not in token:
            return self._verify_compact(token, purpose, now)
        body, dot, mac = token.partition(".")
        try:
            payload = _unb64(body)
            signature = _unb64(mac)
            fields = payload.decode("utf-8").split("|")
        except (ValueError, UnicodeDecodeError):
            raise TokenError("malformed", "not a reviewkit link token") from None
        if not dot or len(fields) not in (5, 6) or fields[0] != _VERSION:
            raise TokenError("malformed", "not a reviewkit link token")
        if _b64(payload) != body or _b64(signature) != mac:
            # Base64 has spare bits: only the one canonical spelling of a token is accepted.
            raise TokenError("tampered", "the token is not in its signed form")
        kid = fields[1]
        if kid not in self.keys:
            raise TokenError("unknown key", f"signed with key {kid!r}, which is not configured")
        if not hmac.compare_digest(signature, self._mac(kid, payload)):
            raise TokenError("tampered", "the signature does not match")
        if fields[2] != TokenPurpose(purpose).value:
            raise TokenError("wrong purpose", f"this link is not for {TokenPurpose(purpose).name}")
        found = LinkToken(
            purpose=TokenPurpose(fields[2]),
            request_id=fields[3],
            expires_at=datetime.fromtimestamp(int(fields[4]), UTC),
            extra=fields[5] if len(fields) == 6 else None,
        )
        return _unexpired(found, now)

    def _verify_compact(self, token: str, purpose: TokenPurpose, now: datetime) -> LinkToken:
        try:
            raw = _unb64(token)
        except ValueError:
            raise TokenError("malformed", "not a reviewkit link token") from None
        if len(raw) < 2 or raw[0] != _COMPACT or len(raw) < 2 + raw[1] + 22 + _COMPACT_MAC:
            raise TokenError("malformed", "not a reviewkit link token")
        if _b64(raw) != token:
            raise TokenError("tampered", "the token is not in its signed form")
        packed, signature = raw[:-_COMPACT_MAC], raw[-_COMPACT_MAC:]
        end = 2 + packed[1]
        try:
            kid = packed[2:end].decode("ascii")
            kind = packed[end : end + 1].decode("ascii")
            extra = packed[end + 22 :].decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError("malformed", "not a reviewkit link token") from None
        if kid not in self.keys:
            raise TokenError("unknown key", f"signed with key {kid!r}, which is not configured")
        if not hmac.compare_digest(signature, self._mac(kid, packed)[:_COMPACT_MAC]):
            raise TokenError("tampered", "the signature does not match")
        if kind != TokenPurpose(purpose).value:
            raise TokenError("wrong purpose", f"this link is not for {TokenPurpose(purpose).name}")
        found = LinkToken(
            purpose=TokenPurpose(kind),
            request_id=packed[end + 1 : end + 17].hex(),
            expires_at=datetime.fromtimestamp(
                int.from_bytes(packed[end + 17 : end + 22], "big"), UTC
            ),
            extra=extra or None,
        )
        return _unexpired(found, now)

    def _mac(self, kid: str, payload: bytes) -> bytes:
        return hmac.new(self.keys[kid].reveal().encode(), payload, hashlib.sha256).digest()
