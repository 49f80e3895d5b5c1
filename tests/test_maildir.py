"""The Maildir outbox: real message files any mail client parses."""

from __future__ import annotations

import mailbox
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.mime import build_email_bytes

from .conftest import WARSAW


def _message(**overrides: object) -> rk.OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": "abc123.campaign",
        "channel": rk.Channel.EMAIL,
        "sender": "Sklep Żółw <opinie@sklep.example>",
        "to": "klient@example.com",
        "subject": "Jak oceniasz zamówienie? Zażółć gęślą jaźń",
        "text": "Dzień dobry!",
        "html": "<p>Dzień dobry!</p>",
        "created_at": datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW),
        "campaign_id": "c1",
        "delivery_id": "d1",
    }
    fields.update(overrides)
    return rk.OutgoingMessage(**fields)  # type: ignore[arg-type]


def test_maildir_holds_parseable_multipart_messages(tmp_path: Path) -> None:
    """A message lands in new/ and parses back with UTF-8 subject, both parts and a Message-ID."""
    transport = rk.MaildirTransport(tmp_path / "outbox")
    transport.send(_message())
    transport.close()
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    (key,) = box.keys()
    raw = box.get_bytes(key)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Subject"] == "Jak oceniasz zamówienie? Zażółć gęślą jaźń"
    assert parsed["From"].addresses[0].display_name == "Sklep Żółw"
    assert parsed["Message-ID"] == "<abc123.campaign@sklep.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    body = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert body is not None
    assert html is not None
    assert body.get_content().strip() == "Dzień dobry!"
    assert "<p>Dzień dobry!</p>" in html.get_content()
    assert all(ord(c) < 128 for c in raw.decode("ascii"))  # 7-bit clean on the wire


def test_header_injection_from_data_is_refused() -> None:
    """A line break in a header value from data cannot add a header."""
    with pytest.raises(rk.PermanentSendError, match="bad header"):
        build_email_bytes(_message(to="a@example.com\r\nBcc: evil@example.com"))
