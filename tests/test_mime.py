"""Message bytes a mail client and a mailbox provider accept, whatever the data."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from email.utils import formataddr

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.mime import build_email_bytes, needs_smtputf8

from .conftest import WARSAW


def make(**overrides: object) -> rk.OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": "d1.c1",
        "channel": rk.Channel.EMAIL,
        "sender": "Sklep Żółw <opinie@sklep.example>",
        "to": "klient@example.com",
        "subject": "Jak oceniasz zamówienie?",
        "text": "Dzień dobry!",
        "html": "<p>Dzień dobry!</p>",
        "created_at": datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW),
        "campaign_id": "c1",
        "request_id": "d1",
    }
    fields.update(overrides)
    return rk.OutgoingMessage(**fields)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_long_utf8_subject_survives_folding() -> None:
    """A long Polish subject is folded into encoded words and decodes back exactly."""
    subject = (
        "Zażółć gęślą jaźń — jak oceniasz zamówienie numer 2026/12/000123 w naszym sklepie? " * 2
    )
    raw = build_email_bytes(make(subject=subject.strip()))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert parse(raw)["Subject"] == subject.strip()


def test_international_domain_is_written_in_ascii() -> None:
    """A recipient at an IDN domain gets its punycode form on the wire."""
    raw = build_email_bytes(make(to="Łucja <lucja@żółw.pl>"))
    parsed = parse(raw)
    assert parsed["To"].addresses[0].domain == "xn--w-uga1v8h.pl"
    assert parsed["To"].addresses[0].display_name == "Łucja"


def test_non_ascii_local_part_is_written_in_utf8() -> None:
    """An address whose local part is not ASCII is kept in UTF-8 (RFC 6532), and a mail
    client reads it back; every other header stays ASCII."""
    raw = build_email_bytes(make(to="Żaneta <żaneta@żółw.pl>"))
    parsed = Parser(policy=policy.SMTPUTF8).parsestr(raw.decode("utf-8"))
    (to,) = parsed["To"].addresses
    assert (to.username, to.domain, to.display_name) == ("żaneta", "xn--w-uga1v8h.pl", "Żaneta")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert [line for line in head.split(b"\r\n") if not line.isascii()] == [
        "To: =?utf-8?q?=C5=BBaneta?= <żaneta@xn--w-uga1v8h.pl>".encode()
    ]
    assert needs_smtputf8("Żaneta <żaneta@example.com>")
    assert not needs_smtputf8("Łucja <lucja@żółw.pl>")


def test_text_only_message_is_single_part_and_7bit_when_ascii() -> None:
    """Plain ASCII text goes as a single 7bit text/plain part."""
    parsed = parse(build_email_bytes(make(text="Hello", html=None, subject="Hi")))
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Content-Transfer-Encoding"] == "7bit"
    assert parsed.get_content().replace("\r\n", "\n") == "Hello\n"


def test_reserved_and_malformed_extra_headers_are_refused() -> None:
    """A hook cannot overwrite From, nor smuggle a header through a bad name."""
    with pytest.raises(rk.PermanentSendError, match="set by reviewkit"):
        build_email_bytes(make(headers={"From": "evil@example.com"}))
    with pytest.raises(rk.PermanentSendError, match="bad header name"):
        build_email_bytes(make(headers={"X-A: b\r\nBcc": "x"}))


printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=120,
)


def _unsafe(value: str) -> bool:
    return any(
        c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x7f" or (c < " " and c != "\t")
        for c in value
    )


def _same(got: str, sent: str) -> bool:
    # Folding may turn runs of whitespace into one space; nothing else may change.
    return got == sent or got.split() == sent.split()


@given(subject=printable, name=printable, extra=printable, text=printable)
def test_no_value_from_data_can_break_the_header_block(
    subject: str, name: str, extra: str, text: str
) -> None:
    """Any subject, display name or header value is refused (breaks, controls) or arrives intact."""
    # A host hands over a raw unsafe name (to be refused), or a properly quoted one.
    to = f"{name} <a@example.com>" if _unsafe(name) else formataddr((name, "a@example.com"))
    message = make(
        subject=subject,
        to=to,
        headers={"X-Order": extra},
        text=text,
        html=None,
    )
    try:
        raw = build_email_bytes(message)
    except rk.PermanentSendError:
        assert _unsafe(subject) or _unsafe(name) or _unsafe(extra)
        return
    parsed = parse(raw)
    # The header block holds exactly the headers reviewkit wrote, each once.
    names = [k.lower() for k in parsed]
    assert names.count("to") == names.count("subject") == names.count("x-order") == 1
    assert "bcc" not in names
    assert _same(parsed["Subject"], subject)
    assert _same(parsed["X-Order"], extra)
    assert parsed["To"].addresses[0].addr_spec == "a@example.com"
    assert _same(parsed["To"].addresses[0].display_name, name)
