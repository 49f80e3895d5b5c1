"""Turning an :class:`~reviewkit.domain.messages.OutgoingMessage` into RFC 5322 bytes.

The bytes are built directly rather than through :class:`email.message.EmailMessage`, which
costs about as much per message as an SMTP round trip. What comes out is checked in the tests
by parsing it back with the standard library's ``email`` parser:

- ``text/plain``, or ``multipart/alternative`` with text and HTML, UTF-8, 7-bit clean
  (quoted-printable where needed) so any relay accepts it; with attachments, inside
  ``multipart/related`` (inline images, referenced by ``cid:``) and ``multipart/mixed``
  (files), base64-encoded;
- subjects and display names RFC 2047-encoded when not ASCII, folded at 78 columns;
- internationalised domains written in their ASCII (IDNA) form;
- ``Date``, a ``Message-ID`` stable per request, ``MIME-Version``; a ``List-Id`` beside a
  ``List-Unsubscribe``;
- a line break in any header value is refused (no header injection).
"""

from __future__ import annotations

import base64
import hashlib
import quopri
import re
from collections.abc import Callable, Mapping
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from urllib.parse import quote

from reviewkit.domain.campaign import Channel
from reviewkit.domain.headers import header_problem
from reviewkit.domain.messages import Attachment, OutgoingMessage
from reviewkit.errors import PermanentSendError

__all__ = [
    "MessageHook",
    "address_only",
    "build_email_bytes",
    "encode_address",
    "message_id_header",
]

_FALLBACK_DOMAIN = "reviewkit.invalid"
_CRLF = "\r\n"

MessageHook = Callable[[bytes, OutgoingMessage], bytes]
"""A function that receives the finished message bytes and returns them, changed or not:
the place for DKIM signing (prepend a ``DKIM-Signature`` header) or an archive copy."""


def message_id_header(message: OutgoingMessage, sender: str | None = None) -> str:
    """Return the ``Message-ID`` value: the request's stable id at the sender's domain."""
    return f"<{message.message_id}@{_id_domain(sender or message.sender or '')}>"


@lru_cache(maxsize=256)
def _id_domain(sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rsplit("@", 1)[1] if "@" in address else _FALLBACK_DOMAIN
    try:
        return domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        return _FALLBACK_DOMAIN


def _check_line(name: str, value: str, message: OutgoingMessage) -> None:
    problem = header_problem(value)
    if problem is not None:
        raise PermanentSendError(
            f"message {message.message_id}: bad header value: {name} contains {problem}"
        )


_PLAIN_ADDRESS = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*$")


def encode_address(value: str, message: OutgoingMessage, header: str = "To") -> str:
    """Return *value* (``"Name <user@domain>"`` or a bare address) ready for a header.

    :raises PermanentSendError: for a line break, a missing address or a domain that is not a
        valid IDN. A non-ASCII local part is kept in UTF-8: see :func:`needs_smtputf8`.
    """
    if _PLAIN_ADDRESS.match(value):  # the common case, without the cost of parsing
        return value
    _check_line(header, value, message)
    try:
        return _encode_address(value)
    except ValueError as exc:
        raise PermanentSendError(f"message {message.message_id}: {header} {exc}") from None


@lru_cache(maxsize=1024)
def _encode_address(value: str) -> str:
    name, address = parseaddr(value)
    if "@" not in address:
        raise ValueError(f"{value!r} has no address")
    local, _, domain = address.rpartition("@")
    # A non-ASCII local part stays UTF-8 (RFC 6532); sending it needs SMTPUTF8 (RFC 6531).
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"domain {domain!r} is not a valid IDN: {exc}") from None
    address = f"{local}@{domain}"
    if not name:
        return address
    if local.isascii():
        return formataddr((name, address), charset="utf-8")
    # formataddr encodes the address as ASCII too: quote or encode the name alone.
    shown = formataddr((name, "x@x"), charset="utf-8").removesuffix(" <x@x>")
    return f"{shown} <{address}>"


def needs_smtputf8(address: str) -> bool:
    """Whether mail to or from *address* needs the SMTPUTF8 extension (RFC 6531): its local
    part, the text before the ``@``, is not ASCII. (A non-ASCII domain is sent as IDNA.)"""
    if address.isascii():
        return False  # the common case, without parsing
    return not parseaddr(address)[1].rpartition("@")[0].isascii()


def address_only(value: str, message: OutgoingMessage) -> str:
    """Return the bare ``user@domain`` (domain in ASCII) of *value*, for the SMTP envelope."""
    encoded = encode_address(value, message)
    if _PLAIN_ADDRESS.match(encoded):
        return encoded
    return parseaddr(encoded)[1]


def _unstructured(name: str, value: str, message: OutgoingMessage) -> str:
    _check_line(name, value, message)
    if value.isascii() and len(name) + 2 + len(value) <= 998:
        # RFC 5322 allows 998; folding an ASCII value would only split URLs and ids.
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep=_CRLF, maxlinelen=78)


def _body(text: str, subtype: str) -> tuple[list[str], bytes]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and all(len(line) <= 998 for line in text.split("\n")):
        cte, payload = "7bit", text.encode("ascii")
    else:
        cte, payload = "quoted-printable", quopri.encodestring(text.encode("utf-8"))
    if not payload.endswith(b"\n"):
        payload += b"\n"
    headers = [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        f"Content-Transfer-Encoding: {cte}",
    ]
    return headers, payload.replace(b"\n", b"\r\n")


def build_email_bytes(
    message: OutgoingMessage,
    *,
    sender: str | None = None,
    reply_to: str | None = None,
) -> bytes:
    """Build the message as CRLF-terminated bytes, ready for SMTP.

    Headers are ASCII (encoded words for other text), except an address whose local part
    is not ASCII, which is written in UTF-8 as RFC 6532 has it.

    :param sender: the ``From`` header, overriding ``message.sender`` (an account's address).
    :param reply_to: a ``Reply-To`` header.
    :raises PermanentSendError: when a header value from data is unusable.
    """
    from_value = sender or message.sender or f"reviewkit@{_FALLBACK_DOMAIN}"
    lines = [
        f"From: {encode_address(from_value, message, 'From')}",
        f"To: {encode_address(message.to, message)}",
    ]
    if reply_to:
        lines.append(f"Reply-To: {encode_address(reply_to, message, 'Reply-To')}")
    if message.channel is Channel.EMAIL:
        lines.append(f"Subject: {_unstructured('Subject', message.subject, message)}")
    lines += [
        f"Date: {format_datetime(message.created_at)}",
        f"Message-ID: {message_id_header(message, from_value)}",
        "MIME-Version: 1.0",
        f"X-Reviewkit-Campaign: {message.campaign_id}",
        f"X-Reviewkit-Channel: {message.channel.value}",
    ]
    if message.request_id:
        lines.append(f"X-Reviewkit-Request: {message.request_id}")
    if "List-Unsubscribe" in message.headers and "List-Id" not in message.headers:
        # RFC 2919: a bulk message that can be unsubscribed from names its list; receivers
        # (and spam filters) expect the two together.
        lines.append(f"List-Id: <{message.campaign_id[:32]}.{_id_domain(from_value)}>")
    for name, value in _extra_headers(message.headers, message):
        lines.append(f"{name}: {value}")

    text_headers, text_body = _body(message.text, "plain")
    if message.html is None and not message.attachments:
        head = _CRLF.join(lines + text_headers) + _CRLF + _CRLF
        return head.encode("utf-8") + text_body
    seed = hashlib.sha1(message.message_id.encode(), usedforsecurity=False).hexdigest()
    body: tuple[list[str], bytes] = (text_headers, text_body)
    if message.html is not None:
        body = _multipart("alternative", f"=_rk_{seed}", [body, _body(message.html, "html")])
    inline = [a for a in message.attachments if a.content_id is not None]
    files = [a for a in message.attachments if a.content_id is None]
    if inline:
        body = _multipart(
            "related", f"=_rk_r_{seed}", [body, *(_attachment(a, message) for a in inline)]
        )
    if files:
        body = _multipart(
            "mixed", f"=_rk_m_{seed}", [body, *(_attachment(a, message) for a in files)]
        )
    part_headers, payload = body
    head = _CRLF.join(lines + part_headers) + _CRLF + _CRLF
    # ASCII but for a UTF-8 address (RFC 6532)
    return head.encode("utf-8") + payload


def _multipart(
    subtype: str, boundary: str, parts: list[tuple[list[str], bytes]]
) -> tuple[list[str], bytes]:
    """A multipart entity of *parts* (each its headers and CRLF body)."""
    chunks = []
    for headers, payload in parts:
        chunks.append(f"--{boundary}\r\n{_CRLF.join(headers)}\r\n\r\n".encode("ascii"))
        chunks.append(payload if payload.endswith(b"\r\n") else payload + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    return [f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"'], b"".join(chunks)


def _attachment(attachment: Attachment, message: OutgoingMessage) -> tuple[list[str], bytes]:
    """A base64 part for *attachment*: inline with its Content-ID, or a file to download."""
    if not _CONTENT_TYPE.fullmatch(attachment.content_type):
        raise PermanentSendError(
            f"message {message.message_id}: bad content type {attachment.content_type!r}"
        )
    encoded = base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")
    name = _filename_parameter(attachment.filename)
    headers = [f"Content-Type: {attachment.content_type}; {name.replace('filename', 'name', 1)}"]
    if attachment.content_id is not None:
        headers += [
            f"Content-ID: <{attachment.content_id}>",
            f"Content-Disposition: inline; {name}",
        ]
    else:
        headers.append(f"Content-Disposition: attachment; {name}")
    headers.append("Content-Transfer-Encoding: base64")
    return headers, encoded


_CONTENT_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+(; ?charset=[a-z0-9-]+)?", re.I)


def _filename_parameter(filename: str) -> str:
    """``filename="…"``, or RFC 2231's ``filename*=`` for a name that is not ASCII."""
    if filename.isascii():
        return f'filename="{filename}"'
    return f"filename*=utf-8''{quote(filename, safe='')}"


_RESERVED = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "reply-to",
    }
)


def _extra_headers(headers: Mapping[str, str], message: OutgoingMessage) -> list[tuple[str, str]]:
    out = []
    for name, value in headers.items():
        if not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name):
            raise PermanentSendError(f"message {message.message_id}: bad header name {name!r}")
        if name.lower() in _RESERVED:
            raise PermanentSendError(
                f"message {message.message_id}: header {name} is set by reviewkit itself"
            )
        out.append((name, _unstructured(name, value, message)))
    return out
