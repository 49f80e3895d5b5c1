"""The Maildir outbox: real message files any mail client parses."""

from __future__ import annotations

import mailbox
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.mime import build_email_bytes

from .test_mime import make


def test_maildir_holds_parseable_multipart_messages(tmp_path: Path) -> None:
    """A message lands in new/ and parses back with UTF-8 subject, both parts and a Message-ID."""
    transport = rk.MaildirTransport(tmp_path / "outbox")
    transport.send(make(subject="Jak oceniasz zamówienie? Zażółć gęślą jaźń"))
    transport.close()
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    (key,) = box.keys()
    raw = box.get_bytes(key)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Subject"] == "Jak oceniasz zamówienie? Zażółć gęślą jaźń"
    assert parsed["From"].addresses[0].display_name == "Sklep Żółw"
    assert parsed["Message-ID"] == "<d1.c1@sklep.example>"
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
        build_email_bytes(make(to="a@example.com\r\nBcc: evil@example.com"))
