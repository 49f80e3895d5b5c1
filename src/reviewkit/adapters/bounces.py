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
Maildir folder, records every event through a
:class:`~reviewkit.services.events.DeliveryEventService` and marks each message it read as
seen, so a second run reads only new ones.
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import re
from datetime import datetime
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import attrs

from reviewkit.domain.events import DeliveryEvent, EventKind
from reviewkit.domain.instants import as_utc
from reviewkit.services.events import DeliveryEventService, EventOutcome

__all__ = ["MailboxSummary", "events_from_message", "process_maildir"]

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
