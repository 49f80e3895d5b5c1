"""Bounces and complaints read from a mailbox (the return path's), as delivery events.

- **DSN** (RFC 3464, ``multipart/report; report-type=delivery-status``): one event per
  recipient whose action is ``failed`` (a hard bounce when its status is ``5.x.x``, soft when
  ``4.x.x``) or ``delayed`` (deferred), with the server's diagnostic as the reason.
- **ARF** (RFC 5965, ``report-type=feedback-report``): a complaint about the returned
  message's recipient.
- **Other bounce formats** (qmail, Exim, Postfix, Exchange and more without a standard
  report): the bouncing addresses as the ``flufl.bounce`` library detects them (the
  ``bounces`` extra), hard or soft as it says.

The returned message's ``Message-ID`` names the request. :func:`process_maildir` reads a
Maildir folder, and :func:`process_imap` an IMAP mailbox (``imaps://`` or ``imap://`` with
STARTTLS, or plain on 127.0.0.1), recording every event through a
:class:`~reviewkit.services.events.DeliveryEventService` and marking each message read as
seen (``\\Seen`` on IMAP) once its events are recorded, so a second run reads only new
ones and a run that dies reads the rest again (a hard bounce or a complaint recorded twice
changes nothing; the soft bounce of the message being read when it died may count twice).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import ipaddress
import logging
import mailbox
import re
import ssl
from datetime import datetime
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from reviewkit.domain.events import DeliveryEvent, EventKind
from reviewkit.domain.instants import as_utc
from reviewkit.domain.secret import redacted
from reviewkit.errors import AccountError, TransientSendError, ValidationError
from reviewkit.services.events import DeliveryEventService, EventOutcome

__all__ = [
    "ImapMailbox",
    "MailboxSummary",
    "events_from_message",
    "process_imap",
    "process_maildir",
]

log = logging.getLogger("reviewkit.bounces")

_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.I | re.M)


@attrs.frozen
class MailboxSummary:
    """What one pass over a mailbox did.

    :ivar unrecognised: messages that were neither a bounce nor a complaint (left as seen).
    """

    messages: int
    outcomes: tuple[EventOutcome, ...]
    unrecognised: int


def _decoded(part: Message) -> str:
    """A leaf part's payload as text (undecodable bytes replaced)."""
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""


def _returned_message_id(report: Message) -> str | None:
    """The Message-ID of the message a report returns (its ``message/rfc822`` or
    ``text/rfc822-headers`` part), or one quoted in a non-standard bounce's text."""
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return str(inner["Message-ID"]).strip()
        if kind == "text/rfc822-headers":
            found = _MESSAGE_ID.search(_decoded(part))
            if found:
                return found.group(1)
    for part in report.walk():
        if part.get_content_maintype() == "text":
            found = _MESSAGE_ID.search(_decoded(part))
            if found:
                return found.group(1)
    return None


def _arrived(report: Message, default: datetime) -> datetime:
    try:
        return as_utc(parsedate_to_datetime(str(report["Date"])))
    except (TypeError, ValueError, IndexError):
        return default


def _status_fields(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a ``message/delivery-status`` part."""
    groups: list[dict[str, str]] = []
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks:
        if isinstance(block, Message):
            groups.append({k.lower(): str(v) for k, v in block.items()})
    if not groups:  # parsed as text: split the blank-line separated groups ourselves
        for chunk in re.split(r"\r?\n\r?\n", _decoded(part)):
            fields = email.message_from_string(chunk.strip() + "\n\n")
            if fields.keys():
                groups.append({k.lower(): str(v) for k, v in fields.items()})
    return groups


def _address(field: str | None) -> str | None:
    if not field:
        return None
    value = field.split(";", 1)[1] if ";" in field else field
    return parseaddr(value.strip())[1] or value.strip() or None


def events_from_message(report: Message, *, received_at: datetime) -> list[DeliveryEvent]:
    """The delivery events a returned message reports (none when it is not a report).

    :param received_at: when it arrived, used when it has no ``Date``.
    """
    at = _arrived(report, received_at)
    message_id = _returned_message_id(report)
    if report.get_content_type() == "multipart/report":
        report_type = str(report.get_param("report-type") or "").lower()
        if report_type == "feedback-report":
            return _complaint(report, at, message_id)
        if report_type == "delivery-status":
            return _dsn(report, at, message_id)
    return _other_bounce(report, at, message_id)


def _dsn(report: Message, at: datetime, message_id: str | None) -> list[DeliveryEvent]:
    events = []
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in _status_fields(part):
            action = group.get("action", "").strip().lower()
            if action not in ("failed", "delayed"):
                continue
            status = group.get("status", "").strip()
            diagnostic = group.get("diagnostic-code", "")
            text = diagnostic.split(";", 1)[-1].strip() if diagnostic else ""
            reason = " ".join(" ".join(p for p in (status, text) if p).split())
            events.append(
                DeliveryEvent(
                    kind=EventKind.BOUNCED if action == "failed" else EventKind.DEFERRED,
                    at=at,
                    message_id=message_id,
                    address=_address(
                        group.get("final-recipient") or group.get("original-recipient")
                    ),
                    hard=not status.startswith("4"),
                    reason=reason or None,
                    source="dsn",
                )
            )
    return events


def _complaint(report: Message, at: datetime, message_id: str | None) -> list[DeliveryEvent]:
    address = None
    feedback_type = "abuse"
    for part in report.walk():
        if part.get_content_type() == "message/feedback-report":
            groups = _status_fields(part)
            fields = groups[0] if groups else {}
            feedback_type = fields.get("feedback-type", feedback_type).strip()
            address = _address(fields.get("original-rcpt-to"))
        if part.get_content_type() == "message/rfc822" and address is None:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                address = _address(str(inner.get("To", ""))) or None
    return [
        DeliveryEvent(
            kind=EventKind.COMPLAINED,
            at=at,
            message_id=message_id,
            address=address,
            reason=f"feedback report: {feedback_type}",
            source="arf",
        )
    ]


def _other_bounce(report: Message, at: datetime, message_id: str | None) -> list[DeliveryEvent]:
    try:
        from flufl.bounce import all_failures
    except ImportError:  # the bounces extra is not installed: only standard reports are read
        return []
    temporary, permanent = all_failures(report)
    events = []
    for hard, found in ((True, permanent), (False, temporary - permanent)):
        for raw in sorted(found):
            events.append(
                DeliveryEvent(
                    kind=EventKind.BOUNCED,
                    at=at,
                    message_id=message_id,
                    address=raw.decode("utf-8", "replace"),
                    hard=hard,
                    reason=str(report.get("Subject", "")) or None,
                    source="bounce",
                )
            )
    return events


def process_maildir(
    path: str | Path, service: DeliveryEventService, *, received_at: datetime | None = None
) -> MailboxSummary:
    """Read the messages of a Maildir not yet seen, record what they report, mark them seen.

    :param received_at: the time of reports without a ``Date`` (default: the service's
        clock).
    """
    box = mailbox.Maildir(path, factory=None, create=False)
    now = as_utc(received_at or service.clock.now())
    outcomes: list[EventOutcome] = []
    seen = unrecognised = 0
    for key in list(box.iterkeys()):
        message = box[key]
        if "S" in message.get_flags():
            continue
        seen += 1
        report = email.message_from_bytes(message.as_bytes(), policy=email.policy.compat32)
        events = events_from_message(report, received_at=now)
        if not events:
            unrecognised += 1
        outcomes += service.record_all(events)
        message.add_flag("S")
        message.set_subdir("cur")
        box[key] = message
    log.info("mailbox %s: %d messages, %d events", path, seen, len(outcomes))
    return MailboxSummary(seen, tuple(outcomes), unrecognised)


@attrs.frozen
class ImapMailbox:
    """Where bounces arrive: ``imaps://user@host[:993]/MAILBOX``, ``imap://user@host[:143]/
    MAILBOX`` (STARTTLS required, except to a loopback address), the password in the URL or
    given apart.

    :raises ValidationError: not such a URL, or no user or password.
    """

    host: str
    port: int
    user: str
    password: str = attrs.field(repr=False)
    mailbox: str = "INBOX"
    tls: bool = True

    @classmethod
    def from_url(cls, url: str, *, password: str | None = None) -> ImapMailbox:
        """Read *url*; *password* when the URL has none."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValidationError(
                f"IMAP URL {redacted(url)!r}: write imaps://user@host/MAILBOX "
                "(or imap:// for STARTTLS)"
            )
        if not parts.username:
            raise ValidationError(f"IMAP URL {redacted(url)!r}: no user (imaps://USER@host)")
        secret = unquote(parts.password) if parts.password else password
        if not secret:
            raise ValidationError(f"IMAP URL {redacted(url)!r}: no password")
        try:
            port = parts.port or (993 if parts.scheme == "imaps" else 143)
        except ValueError:
            raise ValidationError(f"IMAP URL {redacted(url)!r}: the port is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=secret,
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=parts.scheme == "imaps",
        )


def process_imap(
    where: ImapMailbox,
    service: DeliveryEventService,
    *,
    received_at: datetime | None = None,
    timeout: float = 30.0,
    batch: int = 100,
) -> MailboxSummary:
    """Read the messages of an IMAP mailbox not yet seen, record what they report, flag them
    ``\\Seen``.

    Each message is flagged only after its events are recorded, so a run that dies leaves
    the rest unseen for the next one.

    :raises TransientSendError: the server cannot be reached or answers with an error
        (try again later).
    :raises AccountError: it refused the user or password, or the mailbox does not exist.
    """
    now = as_utc(received_at or service.clock.now())
    outcomes: list[EventOutcome] = []
    seen = unrecognised = 0
    try:
        client = _connect(where, timeout)
    except imaplib.IMAP4.error as exc:
        raise AccountError(f"IMAP {where.user}@{where.host}: {_text(exc)}") from None
    except OSError as exc:
        raise TransientSendError(f"IMAP {where.host}:{where.port}: {exc}") from exc
    try:
        status, data = client.select(_quoted(where.mailbox))
        if status != "OK":
            raise AccountError(f"IMAP mailbox {where.mailbox!r}: {_text(data)}")
        status, data = client.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise TransientSendError(f"IMAP search in {where.mailbox!r}: {_text(data)}")
        uids = data[0].split() if data and data[0] else []
        for start in range(0, len(uids), batch):
            chunk = b",".join(uids[start : start + batch]).decode()
            status, fetched = client.uid("FETCH", chunk, "(UID BODY.PEEK[])")
            if status != "OK":
                raise TransientSendError(f"IMAP fetch from {where.mailbox!r}: {_text(fetched)}")
            for uid, raw in _messages(fetched):
                seen += 1
                report = email.message_from_bytes(raw, policy=email.policy.compat32)
                events = events_from_message(report, received_at=now)
                if not events:
                    unrecognised += 1
                outcomes += service.record_all(events)
                client.uid("STORE", uid, "+FLAGS.SILENT", "(\\Seen)")
    except imaplib.IMAP4.abort as exc:
        raise TransientSendError(f"IMAP {where.host}: the connection broke: {exc}") from exc
    except OSError as exc:
        raise TransientSendError(f"IMAP {where.host}:{where.port}: {exc}") from exc
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    log.info("IMAP %s/%s: %d messages, %d events", where.host, where.mailbox, seen, len(outcomes))
    return MailboxSummary(seen, tuple(outcomes), unrecognised)


def _connect(where: ImapMailbox, timeout: float) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    if where.tls:
        client = imaplib.IMAP4_SSL(where.host, where.port, ssl_context=context, timeout=timeout)
    else:
        client = imaplib.IMAP4(where.host, where.port, timeout=timeout)
    try:
        if not where.tls and "STARTTLS" in client.capabilities:
            client.starttls(ssl_context=context)
        elif not where.tls and not _loopback(where.host):
            raise AccountError(
                f"IMAP {where.host} offers no STARTTLS: use imaps://, or a server on this "
                "machine, so the password does not cross the network in clear"
            )
        client.login(where.user, where.password)
    except BaseException:
        with contextlib.suppress(OSError):
            client.shutdown()
        raise
    return client


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _quoted(mailbox_name: str) -> str:
    return '"' + mailbox_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _messages(fetched: list[Any]) -> list[tuple[str, bytes]]:
    """``(uid, message bytes)`` from a UID FETCH answer."""
    found = []
    for item in fetched:
        if not isinstance(item, tuple) or len(item) != 2:
            continue  # the closing ")" of each message
        head, raw = item
        match = re.search(rb"UID (\d+)", head)
        if match is not None and isinstance(raw, bytes):
            found.append((match.group(1).decode(), raw))
    return found


def _text(data: Any) -> str:
    if isinstance(data, list | tuple):
        return " ".join(_text(d) for d in data if d is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)
