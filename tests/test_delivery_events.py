"""After the handoff: bounces (RFC 3464 and non-standard), complaints (RFC 5965) read from a
real Maildir, and providers' webhook payloads, recorded on their request; hard bounces and
complaints suppress the address, soft bounces after a limit; a forged report changes
nothing."""

from __future__ import annotations

import hashlib
import hmac
import imaplib
import json
import mailbox
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters import bounces
from reviewkit.adapters.bounces import (
    ImapMailbox,
    events_from_message,
    process_imap,
    process_maildir,
)
from reviewkit.adapters.mime import message_id_header
from reviewkit.adapters.webhooks import (
    mailgun_events,
    mailgun_signature_ok,
    sendgrid_events,
    ses_events,
    sms_receipt_events,
)
from reviewkit.domain.events import DeliveryEvent, EventKind, request_id_of
from reviewkit.domain.suppression import SuppressionReason
from reviewkit.services.events import DeliveryEventService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SENDER = "opinie@sklep.example"


def _sent(
    store: rk.Store, *addresses: str, channel: rk.Channel = rk.Channel.EMAIL
) -> list[rk.Request]:
    found = store.list_campaigns()
    campaign = found[0] if found else store.add_campaign(rk.Campaign(name="c"))
    requests = [
        rk.Request(
            campaign_id=campaign.id,
            recipient=(
                rk.Recipient(email=a) if channel is rk.Channel.EMAIL else rk.Recipient(phone=a)
            ),
            channel=channel,
            address=a,
            status=rk.RequestStatus.SENT,
            sent_at=NOW - timedelta(hours=1),
        )
        for a in addresses
    ]
    store.add_requests(requests)
    return requests


def _message_id(request: rk.Request) -> str:
    """The Message-ID header the request's e-mail carried."""
    message = rk.OutgoingMessage(
        message_id=request.message_id,
        channel=rk.Channel.EMAIL,
        sender=SENDER,
        to=request.address,
        subject="s",
        text="t",
        created_at=NOW,
        campaign_id=request.campaign_id,
        request_id=request.id,
    )
    return message_id_header(message, SENDER)


def _dsn(request: rk.Request, *, action: str = "failed", status: str = "5.1.1",
         recipient: str | None = None) -> str:  # fmt: skip
    """A delivery status notification as RFC 3464 lays it out."""
    return f"""\
From: MAILER-DAEMON@mx.example.net
To: bounces@sklep.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 30 Nov 2026 13:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.net. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 30 Nov 2026 12:59:58 +0100

Final-Recipient: rfc822; {recipient or request.address}
Original-Recipient: rfc822;{recipient or request.address}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{request.address}>: Recipient address rejected: User unknown

--B
Content-Type: text/rfc822-headers

From: {SENDER}
To: {request.address}
Subject: Jak oceniasz zamowienie?
Message-ID: {_message_id(request)}

--B--
"""


def _arf(request: rk.Request) -> str:
    """A spam complaint as RFC 5965 lays it out, the original message attached."""
    return f"""\
From: feedback@isp.example
To: abuse@sklep.example
Subject: FW: complaint
Date: Mon, 30 Nov 2026 14:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="A"

--A
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--A
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{SENDER}>
Original-Rcpt-To: <{request.address}>
Arrival-Date: Mon, 30 Nov 2026 12:00:00 +0000

--A
Content-Type: message/rfc822

From: {SENDER}
To: {request.address}
Subject: Jak oceniasz zamowienie?
Message-ID: {_message_id(request)}

Body.

--A--
"""


def _qmail(request: rk.Request) -> str:
    """A bounce without a standard report (qmail's), the original quoted below it."""
    return f"""\
From: MAILER-DAEMON@mail.example.org
To: bounces@sklep.example
Subject: failure notice
Date: Mon, 30 Nov 2026 12:30:00 +0000

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{request.address}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <{SENDER}>
Message-ID: {_message_id(request)}
From: {SENDER}
To: {request.address}
Subject: Jak oceniasz zamowienie?

Body.
"""


def test_request_ids_are_read_from_our_message_ids(store: rk.Store) -> None:
    """The Message-ID reviewkit writes names its request; another sender's does not."""
    (request,) = _sent(store, "anna@example.com")
    assert request_id_of(_message_id(request)) == request.id
    assert request_id_of(_message_id(request).strip("<>")) == request.id
    assert request_id_of("<20130503182626.18666.16540@example.com>") is None
    assert request_id_of(None) is None


def test_a_hard_bounce_fails_the_request_and_suppresses(store: rk.Store) -> None:
    """A 5.1.1 DSN: the request is Undelivered with the server's words, and the address is
    suppressed for every later campaign."""
    request, other = _sent(store, "anna@example.com", "piotr@example.com")
    service = DeliveryEventService(store, rk.ManualClock(NOW))
    (event,) = events_from_message(message_from_string(_dsn(request)), received_at=NOW)
    assert (event.kind, event.hard, event.address) == (EventKind.BOUNCED, True, request.address)
    outcome = service.record(event)
    assert outcome.action == "failed and suppressed"
    stored = store.get_request(request.id)
    assert stored.status is rk.RequestStatus.FAILED
    assert stored.category is rk.RequestCategory.UNDELIVERED
    assert stored.last_error is not None
    assert stored.last_error.startswith("bounced: 5.1.1 550 5.1.1")
    assert stored.bounced_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # its Date, in UTC
    suppression = store.get_suppression(rk.Channel.EMAIL, "ANNA@example.com")
    assert suppression is not None
    assert suppression.reason is SuppressionReason.HARD_BOUNCE
    assert store.get_request(other.id).status is rk.RequestStatus.SENT


def test_soft_bounces_count_and_suppress_at_the_limit(store: rk.Store) -> None:
    """4.x.x failures are soft: counted per address, suppressed at the third; a delayed DSN
    changes nothing."""
    requests = _sent(store, "ewa@example.com")
    service = DeliveryEventService(store, rk.ManualClock(NOW), soft_bounce_limit=3)
    delayed = events_from_message(
        message_from_string(_dsn(requests[0], action="delayed", status="4.4.1")), received_at=NOW
    )
    assert [e.kind for e in delayed] == [EventKind.DEFERRED]
    assert service.record(delayed[0]).action.startswith("noted")
    actions = []
    for _ in range(3):
        (event,) = events_from_message(
            message_from_string(_dsn(requests[0], status="4.2.2")), received_at=NOW
        )
        assert not event.hard
        actions.append(service.record(event).action)
    assert actions == ["soft bounce 1 of 3", "soft bounce 2 of 3", "soft bounce 3: suppressed"]
    assert store.get_request(requests[0].id).status is rk.RequestStatus.SENT
    assert store.get_suppression(rk.Channel.EMAIL, "ewa@example.com") is not None


def test_a_complaint_suppresses_and_is_recorded(store: rk.Store) -> None:
    """An ARF report: the complaint is on the request and the address suppressed."""
    (request,) = _sent(store, "zofia@example.com")
    service = DeliveryEventService(store, rk.ManualClock(NOW))
    (event,) = events_from_message(message_from_string(_arf(request)), received_at=NOW)
    assert (event.kind, event.address, event.reason) == (
        EventKind.COMPLAINED,
        request.address,
        "feedback report: abuse",
    )
    service.record(event)
    assert store.get_request(request.id).complained_at == datetime(2026, 11, 30, 14, tzinfo=UTC)
    suppression = store.get_suppression(rk.Channel.EMAIL, request.address)
    assert suppression is not None
    assert suppression.reason is SuppressionReason.COMPLAINT


def test_a_non_standard_bounce_is_read_by_flufl_bounce(store: rk.Store) -> None:
    """qmail's plain-text bounce: the address and the quoted Message-ID are found."""
    (request,) = _sent(store, "jakub@example.com")
    (event,) = events_from_message(message_from_string(_qmail(request)), received_at=NOW)
    assert (event.kind, event.hard, event.address, event.target) == (
        EventKind.BOUNCED,
        True,
        request.address,
        request.id,
    )


def test_a_forged_or_foreign_report_changes_nothing(store: rk.Store) -> None:
    """A DSN naming another address than the request's, or a message reviewkit did not
    send, suppresses nobody."""
    (request,) = _sent(store, "anna@example.com")
    service = DeliveryEventService(store, rk.ManualClock(NOW))
    (forged,) = events_from_message(
        message_from_string(_dsn(request, recipient="victim@example.com")), received_at=NOW
    )
    assert service.record(forged).action == "ignored: the request went to another address"
    foreign = DeliveryEvent(kind="bounced", at=NOW, message_id="<abc@elsewhere.example>")
    assert service.record(foreign).action == "ignored: not a message reviewkit sent"
    assert store.get_suppression(rk.Channel.EMAIL, "victim@example.com") is None
    assert store.get_suppression(rk.Channel.EMAIL, "anna@example.com") is None
    assert store.get_request(request.id).status is rk.RequestStatus.SENT


def test_a_maildir_is_read_once(tmp_path: Path, store: rk.Store) -> None:
    """Reports in a real Maildir are recorded and marked seen; a second pass reads only
    what arrived since; a message that is no report is counted, not recorded."""
    anna, zofia, jakub = _sent(store, "anna@example.com", "zofia@example.com", "jakub@ex.com")
    box = mailbox.Maildir(tmp_path / "bounces")
    for text in (_dsn(anna), _arf(zofia), "From: a@b.example\nSubject: hello\n\nJust a note.\n"):
        box.add(mailbox.MaildirMessage(text))
    service = DeliveryEventService(store, rk.ManualClock(NOW))
    first = process_maildir(tmp_path / "bounces", service)
    assert (first.messages, first.unrecognised) == (3, 1)
    assert sorted(o.action for o in first.outcomes) == ["failed and suppressed", "suppressed"]
    box.add(mailbox.MaildirMessage(_qmail(jakub)))
    second = process_maildir(tmp_path / "bounces", service)
    assert (second.messages, [o.request_id for o in second.outcomes]) == (1, [jakub.id])
    assert process_maildir(tmp_path / "bounces", service).messages == 0


# -- webhooks -------------------------------------------------------------------------------


def test_sendgrid_events_are_normalised_and_recorded(store: rk.Store) -> None:
    """SendGrid's delivered, bounce (hard and blocked), spamreport and open events map to
    the vocabulary; processed is left out; recording them suppresses as it should."""
    anna, piotr, ewa = _sent(store, "anna@example.com", "piotr@example.com", "ewa@example.com")
    ts = int(NOW.timestamp())
    payload = [
        {"event": "processed", "email": anna.address, "timestamp": ts,
         "smtp-id": _message_id(anna)},
        {"event": "delivered", "email": anna.address, "timestamp": ts,
         "smtp-id": _message_id(anna), "response": "250 OK"},
        {"event": "open", "email": anna.address, "timestamp": ts + 60,
         "smtp-id": _message_id(anna)},
        {"event": "bounce", "type": "bounce", "email": piotr.address, "timestamp": ts,
         "smtp-id": _message_id(piotr), "reason": "550 5.1.1 The email account does not exist"},
        {"event": "bounce", "type": "blocked", "email": ewa.address, "timestamp": ts,
         "smtp-id": _message_id(ewa), "reason": "421 try later"},
        {"event": "spamreport", "email": ewa.address, "timestamp": ts,
         "smtp-id": _message_id(ewa)},
    ]  # fmt: skip
    events = sendgrid_events(payload)
    assert [(e.kind, e.hard) for e in events] == [
        (EventKind.DELIVERED, True),
        (EventKind.OPENED, True),
        (EventKind.BOUNCED, True),
        (EventKind.BOUNCED, False),
        (EventKind.COMPLAINED, True),
    ]
    DeliveryEventService(store, rk.ManualClock(NOW)).record_all(events)
    assert store.get_request(anna.id).delivered_at == NOW
    assert store.get_request(anna.id).opened_at == NOW + timedelta(minutes=1)
    assert store.get_request(piotr.id).status is rk.RequestStatus.FAILED
    reasons = {s.address: s.reason for s in store.iter_suppressions(rk.Channel.EMAIL)}
    assert reasons == {
        "piotr@example.com": SuppressionReason.HARD_BOUNCE,
        "ewa@example.com": SuppressionReason.COMPLAINT,
    }


def _ses(kind: str, request: rk.Request, detail: dict[str, object]) -> dict[str, object]:
    """An SES notification about *request*'s message, in the SNS envelope."""
    message = {
        "notificationType": kind,
        "mail": {
            "timestamp": "2026-11-30T11:00:00.000Z",
            "messageId": "0100018c-ses-own-id",
            "destination": [request.address],
            "commonHeaders": {"messageId": _message_id(request)},
        },
        kind[0].lower() + kind[1:]: detail,
    }
    return {
        "Type": "Notification",
        "TopicArn": "arn:aws:sns:eu-central-1:123456789012:ses-events",
        "Message": json.dumps(message),
    }


def test_ses_notifications_through_sns_are_normalised_and_recorded(store: rk.Store) -> None:
    """SES delivery, permanent and transient bounces and complaints, delivered by SNS, name
    the request by the Message-ID SES kept; another topic is refused; a subscription
    confirmation gives no events."""
    anna, piotr, ewa = _sent(store, "anna@example.com", "piotr@example.com", "ewa@example.com")
    at = "2026-11-30T12:00:00.000Z"
    payloads = [
        _ses("Delivery", anna, {"timestamp": at, "recipients": [anna.address]}),
        _ses("Bounce", piotr, {"bounceType": "Permanent", "timestamp": at, "bouncedRecipients": [
            {"emailAddress": piotr.address, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}),
        _ses("Bounce", ewa, {"bounceType": "Transient", "timestamp": at, "bouncedRecipients": [
            {"emailAddress": ewa.address, "diagnosticCode": "smtp; 452 mailbox full"}]}),
        _ses("Complaint", ewa, {"timestamp": at, "complaintFeedbackType": "abuse",
                                "complainedRecipients": [{"emailAddress": ewa.address}]}),
    ]  # fmt: skip
    topic = "arn:aws:sns:eu-central-1:123456789012:ses-events"
    events = [e for p in payloads for e in ses_events(p, topic_arn=topic)]
    assert [(e.kind, e.hard, e.address) for e in events] == [
        (EventKind.DELIVERED, True, anna.address),
        (EventKind.BOUNCED, True, piotr.address),
        (EventKind.BOUNCED, False, ewa.address),
        (EventKind.COMPLAINED, True, ewa.address),
    ]
    assert {request_id_of(e.message_id) for e in events} == {anna.id, piotr.id, ewa.id}
    outcomes = DeliveryEventService(store, rk.ManualClock(NOW)).record_all(events)
    assert len(outcomes) == 4
    assert store.get_request(anna.id).delivered_at == NOW
    assert store.get_request(piotr.id).status is rk.RequestStatus.FAILED
    assert "550 5.1.1" in (store.get_request(piotr.id).last_error or "")
    reasons = {s.address: s.reason for s in store.iter_suppressions(rk.Channel.EMAIL)}
    assert reasons == {
        "piotr@example.com": SuppressionReason.HARD_BOUNCE,
        "ewa@example.com": SuppressionReason.COMPLAINT,
    }
    with pytest.raises(rk.ValidationError, match="not ours"):
        ses_events(payloads[0], topic_arn="arn:aws:sns:eu-central-1:999:someone-else")
    confirm = {"Type": "SubscriptionConfirmation", "TopicArn": topic, "SubscribeURL": "https://x"}
    assert ses_events(confirm, topic_arn=topic) == []


def _mailgun(event: dict[str, object], key: str = "key-123") -> dict[str, object]:
    token, timestamp = "a" * 50, "1764504000"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event,
    }


def test_mailgun_events_and_their_signature(store: rk.Store) -> None:
    """A signed Mailgun call is accepted, a tampered one is not; failed is hard when
    permanent, soft when temporary."""
    (anna,) = _sent(store, "anna@example.com")
    bare_id = _message_id(anna).strip("<>")  # Mailgun writes it without brackets
    failed = {
        "event": "failed",
        "severity": "permanent",
        "timestamp": NOW.timestamp(),
        "recipient": anna.address,
        "message": {"headers": {"message-id": bare_id}},
        "delivery-status": {"code": 550, "message": "5.1.1 No such user"},
    }
    payload = _mailgun(failed)
    assert mailgun_signature_ok(payload, "key-123")
    assert not mailgun_signature_ok(payload, "another-key")
    assert not mailgun_signature_ok({"event-data": failed}, "key-123")
    (event,) = mailgun_events(payload)
    assert (event.kind, event.hard, event.reason, event.target) == (
        EventKind.BOUNCED,
        True,
        "550 5.1.1 No such user",
        anna.id,
    )
    (soft,) = mailgun_events(_mailgun({**failed, "severity": "temporary"}))
    assert not soft.hard
    assert mailgun_events(_mailgun({**failed, "event": "accepted"})) == []


def test_sms_receipts_are_recorded_by_request(store: rk.Store) -> None:
    """A gateway's receipts name the message id the transport sent; delivered and failed
    are recorded, queued is left out, an unknown status is refused."""
    ok, bad = _sent(store, "+48500100200", "+48500100201", channel=rk.Channel.SMS)
    receipts = [
        {"message_id": ok.message_id, "status": "queued", "at": "2026-11-30T12:00:00+00:00"},
        {"message_id": ok.message_id, "status": "delivered", "at": "2026-11-30T12:00:05+00:00"},
        {"message_id": bad.message_id, "status": "failed", "at": 1764504000, "error": "absent"},
    ]
    events = sms_receipt_events(receipts)
    assert [e.kind for e in events] == [EventKind.DELIVERED, EventKind.BOUNCED]
    DeliveryEventService(store, rk.ManualClock(NOW)).record_all(events)
    assert store.get_request(ok.id).delivered_at == NOW + timedelta(seconds=5)
    assert store.get_request(bad.id).status is rk.RequestStatus.FAILED
    assert store.get_suppression(rk.Channel.SMS, "+48500100201") is not None
    with pytest.raises(rk.ValidationError, match="unknown status 'lost'"):
        sms_receipt_events({"message_id": "x", "status": "lost", "at": 1})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    payload=_json
    | st.lists(
        st.fixed_dictionaries(
            {"event": st.sampled_from(["bounce", "open"])},
            optional={"timestamp": _json, "smtp-id": _json, "type": _json},
        )
    )
    | st.fixed_dictionaries(
        {"notificationType": st.sampled_from(["Bounce", "Complaint", "Delivery", "Open"])},
        optional={
            "mail": _json
            | st.fixed_dictionaries(
                {}, optional={"destination": _json, "timestamp": _json, "commonHeaders": _json}
            ),
            "bounce": _json
            | st.fixed_dictionaries({}, optional={"bouncedRecipients": _json, "timestamp": _json}),
            "delivery": _json,
        },
    ),
)
def test_any_payload_reads_or_is_refused_clearly(payload: object) -> None:
    """Whatever JSON arrives, the readers return events or raise ValidationError."""
    for reader in (sendgrid_events, mailgun_events, sms_receipt_events, ses_events):
        try:
            events = reader(payload)
        except rk.ValidationError:
            continue
        assert all(isinstance(e, DeliveryEvent) for e in events)


def test_the_export_shows_delivery_events(store: rk.Store) -> None:
    """The collection export has delivered, bounced and complained columns."""
    (request,) = _sent(store, "anna@example.com")
    store.record_engagement(request.id, rk.Engagement.DELIVERED, NOW)
    from reviewkit.domain.collection import EXPORT_COLUMNS, export_row

    row = export_row(store.get_request(request.id))
    assert {"delivered", "bounced", "complained"} <= set(EXPORT_COLUMNS)
    assert (row["delivered"], row["bounced"]) == (NOW.isoformat(), "")


def test_the_shell_reads_a_bounce_maildir_and_replays_webhooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bounces process --maildir` and `events record --provider`: what they did, as JSON;
    a folder that is not a Maildir and a payload that is not JSON are one line each."""
    import json

    from reviewkit.cli import main

    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        anna, piotr = _sent(store, "anna@example.com", "piotr@example.com")
    box = mailbox.Maildir(tmp_path / "bounces")
    box.add(mailbox.MaildirMessage(_dsn(anna)))
    code = main(["bounces", "process", "--maildir", str(tmp_path / "bounces"),
                 "--db", str(db), "--format", "json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out) == {
        "messages": 1,
        "unrecognised": 0,
        "events": 1,
        "actions": {"failed and suppressed": 1},
    }
    saved = tmp_path / "sendgrid.json"
    complaint = {"event": "spamreport", "email": piotr.address, "timestamp": 1764504000}
    saved.write_text(json.dumps([{**complaint, "smtp-id": _message_id(piotr)}]))
    assert main(["events", "record", "--provider", "sendgrid", str(saved), "--db", str(db)]) == 0
    assert "suppressed: 1" in capsys.readouterr().out
    with rk.SQLiteStore(db) as store:
        assert store.get_suppression(rk.Channel.EMAIL, piotr.address) is not None
    code = main(["bounces", "process", "--maildir", str(tmp_path), "--db", str(db)])
    assert (code, "not a Maildir folder" in capsys.readouterr().err) == (1, True)
    saved.write_text("{oops")
    code = main(["events", "record", "--provider", "mailgun", str(saved), "--db", str(db)])
    assert (code, "not JSON" in capsys.readouterr().err) == (1, True)


# -- an IMAP inbox --------------------------------------------------------------------------


@pytest.fixture
def imap_server() -> Iterator[int]:
    """A real IMAP server (pymap, in-memory mailboxes) on 127.0.0.1 with the user
    ``bounces`` / ``s3cret``; yields its port."""
    port = _free_port()
    pymap = shutil.which("pymap")
    assert pymap is not None, "pymap (the dev extra) is needed for the IMAP tests"
    server = subprocess.Popen(
        [pymap, "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict",
         "--demo-user", "bounces", "--demo-password", "s3cret"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the IMAP server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _deliver(port: int, *texts: str) -> None:
    """Put messages in the inbox over IMAP, as the mail server that got the bounces would."""
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("bounces", "s3cret")
    for text in texts:
        raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        status, _ = client.append("INBOX", None, None, raw)
        assert status == "OK"
    client.logout()


def test_an_imap_inbox_is_read_once_over_a_real_imap_conversation(
    tmp_path: Path, imap_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bounces process --imap` reads the unseen reports of a real IMAP mailbox, records
    them (the bounced address suppressed, the complainer too), flags them seen, so a second
    run reads only what arrived since; the password comes from the environment and is never
    printed."""
    import json

    from reviewkit.cli import main

    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        anna, zofia, jakub = _sent(store, "anna@example.com", "zofia@example.com", "jakub@ex.com")
    _deliver(imap_server, _dsn(anna), _arf(zofia), "From: a@b.example\nSubject: hi\n\nA note.\n")
    url = f"imap://bounces@127.0.0.1:{imap_server}/INBOX"
    command = ["bounces", "process", "--imap", url, "--db", str(db), "--format", "json"]
    os.environ["REVIEWKIT_IMAP_PASSWORD"] = "s3cret"
    try:
        assert main(command) == 0
        first = json.loads(capsys.readouterr().out)
        assert first == {
            "messages": 3,
            "unrecognised": 1,
            "events": 2,
            "actions": {"failed and suppressed": 1, "suppressed": 1},
        }
        _deliver(imap_server, _qmail(jakub))
        assert main(command) == 0
        assert json.loads(capsys.readouterr().out)["messages"] == 1
        assert main(command) == 0
        assert json.loads(capsys.readouterr().out)["messages"] == 0
        os.environ["REVIEWKIT_IMAP_PASSWORD"] = "wrong-password"
        assert main(command) == 1
        error = capsys.readouterr().err
        assert error.count("\n") == 1, error
        assert "bounces@127.0.0.1" in error
        assert "wrong-password" not in error
    finally:
        del os.environ["REVIEWKIT_IMAP_PASSWORD"]
    with rk.SQLiteStore(db) as store:
        assert store.get_request(anna.id).status is rk.RequestStatus.FAILED
        for address in ("anna@example.com", "zofia@example.com"):
            assert store.get_suppression(rk.Channel.EMAIL, address) is not None


def test_imap_urls_are_checked_and_their_passwords_never_shown() -> None:
    """A wrong scheme, no user, no password or a bad port: one ValidationError each, with
    the password hidden; a password in the URL wins over the one given apart."""
    for url, message in (
        ("pop3://u@host/INBOX", "write imaps://"),
        ("imaps://host/INBOX", "no user"),
        ("imaps://u@host/INBOX", "no password"),
        ("imaps://u:topsecret@host:99999/INBOX", "port is not a number"),
    ):
        with pytest.raises(rk.ValidationError, match=message) as caught:
            ImapMailbox.from_url(url)
        assert "topsecret" not in str(caught.value)
    box = ImapMailbox.from_url("imaps://bounce%40shop:p%40ss@mail.example/Bounces", password="x")
    assert (box.user, box.password, box.port, box.mailbox, box.tls) == (
        "bounce@shop",
        "p@ss",
        993,
        "Bounces",
        True,
    )
    assert "p@ss" not in repr(box)
    assert ImapMailbox.from_url("imap://u@mail.example", password="x").port == 143


def test_plain_imap_to_another_machine_is_refused_without_starttls(
    imap_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without STARTTLS the password would cross the network in clear: only a server on
    this machine may be plain. (The same local server, taken for a remote one, is refused
    before the password is sent.)"""
    service = DeliveryEventService(rk.InMemoryStore(), rk.ManualClock(NOW))
    where = ImapMailbox(host="127.0.0.1", port=imap_server, user="bounces", password="s3cret",
                        tls=False)  # fmt: skip
    assert process_imap(where, service).messages == 0
    monkeypatch.setattr(bounces, "_loopback", lambda host: False)
    with pytest.raises(rk.AccountError, match="offers no STARTTLS"):
        process_imap(where, service)
