"""The transport contract: every e-mail, SMS and chat transport passes these."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.messenger import MessengerTransport
from reviewkit.adapters.sms import HttpSmsTransport, SmsFileTransport
from reviewkit.adapters.smtp import SMTPTransport
from reviewkit.domain.accounts import SenderAccount

from .smtp_server import smtp_server
from .test_sms import Gateway

Received = Callable[[], list[str]]
"""Returns the Message-IDs (e-mail) or references (SMS) that arrived, in order."""


def _ids_from_bytes(raws: list[bytes]) -> list[str]:
    parser = BytesParser(policy=policy.default)
    return [str(parser.parsebytes(raw)["Message-ID"]) for raw in raws]


@pytest.fixture(params=["memory", "maildir", "smtp"])
def email_transport(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[rk.Transport, Received]]:
    """Every e-mail transport, with a way to read what arrived."""
    if request.param == "memory":
        memory = rk.InMemoryTransport()
        yield memory, lambda: _ids_from_bytes(memory.raw)
    elif request.param == "maildir":
        folder = tmp_path / "box"
        box = rk.MaildirTransport(folder)

        def read() -> list[str]:
            md = mailbox.Maildir(folder, create=False)
            messages = sorted((md.get_message(k) for k in md.iterkeys()), key=lambda m: m["Date"])
            return [str(m["Message-ID"]) for m in messages]

        yield box, read
    else:
        with smtp_server() as (handler, port):
            account = SenderAccount(
                name="m",
                host="127.0.0.1",
                port=port,
                security="none",
                from_address="shop@shop.example",
            )
            smtp = SMTPTransport(account)
            yield smtp, lambda: _ids_from_bytes([m[2] for m in handler.messages])
            smtp.close()


def email(n: int, **overrides: object) -> rk.OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": f"d{n}.c1",
        "channel": rk.Channel.EMAIL,
        "sender": "shop@shop.example",
        "to": f"c{n}@example.com",
        "subject": f"Zamówienie {n}",
        "text": "Dzień dobry",
        "html": "<p>Dzień dobry</p>",
        "created_at": datetime(2026, 1, 5, 9, 0, n, tzinfo=UTC),
        "campaign_id": "c1",
        "delivery_id": f"d{n}",
    }
    fields.update(overrides)
    return rk.OutgoingMessage(**fields)  # type: ignore[arg-type]


class TestEmailTransports:
    def test_each_message_arrives_once_with_its_id(
        self, email_transport: tuple[rk.Transport, Received]
    ) -> None:
        """What is sent arrives, once each, with its stable Message-ID."""
        transport, received = email_transport
        for n in range(5):
            transport.send(email(n))
        transport.close()
        assert received() == [f"<d{n}.c1@shop.example>" for n in range(5)]

    def test_header_injection_is_refused_and_nothing_arrives(
        self, email_transport: tuple[rk.Transport, Received]
    ) -> None:
        """A line break in a header value is a PermanentSendError; nothing is delivered."""
        transport, received = email_transport
        with pytest.raises(rk.PermanentSendError):
            transport.send(email(1, subject="Hi\r\nBcc: all@example.com"))
        assert received() == []

    def test_send_after_close_works(self, email_transport: tuple[rk.Transport, Received]) -> None:
        """close() releases resources; the next send opens them again."""
        transport, received = email_transport
        transport.send(email(1))
        transport.close()
        transport.send(email(2))
        transport.close()
        assert len(received()) == 2


@pytest.fixture(params=["memory", "file", "http"])
def sms_transport(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[rk.Transport, Received]]:
    """Every SMS transport, with a way to read what arrived."""
    if request.param == "memory":
        memory = rk.InMemoryTransport()
        yield memory, lambda: [m.message_id for m in memory.sent]
    elif request.param == "file":
        path = tmp_path / "sms.jsonl"
        yield (
            SmsFileTransport(path),
            lambda: [
                json.loads(line)["message_id"]
                for line in (path.read_text().splitlines() if path.exists() else [])
            ],
        )
    else:
        gateway = Gateway()
        gateway.thread.start()
        yield (
            HttpSmsTransport(gateway.url),
            lambda: [str(body["reference"]) for _, body in gateway.requests],
        )
        gateway.server.shutdown()
        gateway.server.server_close()


def test_sms_transports_deliver_each_text_once(
    sms_transport: tuple[rk.Transport, Received],
) -> None:
    """Every SMS transport hands each text over once, identified by its message id."""
    transport, received = sms_transport
    for n in range(3):
        transport.send(
            email(
                n,
                channel=rk.Channel.SMS,
                to=f"+4850010020{n}",
                subject="",
                html=None,
                text="Oceń zakup",
            )
        )
    transport.close()
    assert received() == [f"d{n}.c1" for n in range(3)]


@pytest.fixture(params=["memory", "messenger"])
def chat_transport(request: pytest.FixtureRequest) -> Iterator[tuple[rk.Transport, Received]]:
    """Every chat transport, with a way to read which requests arrived."""
    if request.param == "memory":
        memory = rk.InMemoryTransport()
        yield memory, lambda: [str(m.delivery_id) for m in memory.sent]
        return
    gateway = Gateway()
    gateway.thread.start()

    def questions() -> list[str]:
        found = []
        for _, body in gateway.requests:
            payload = body["message"]["attachment"]["payload"]  # type: ignore[index]
            found.append(payload["feedback_screens"][0]["questions"][0]["id"])
        return found

    yield MessengerTransport(gateway.url, "token"), questions
    gateway.server.shutdown()
    gateway.server.server_close()


def test_chat_transports_deliver_each_survey_once(
    chat_transport: tuple[rk.Transport, Received],
) -> None:
    """Every chat transport hands each survey request over once, and again after close."""
    transport, received = chat_transport
    survey = rk.Survey(type="nps", privacy_url="https://shop.example/p", title="How did we do?")
    for n in range(3):
        transport.send(
            email(n, channel=rk.Channel.CHAT, to=f"psid-{n}", subject="", html=None, survey=survey)
        )
        if n == 1:
            transport.close()
    transport.close()
    assert received() == ["d0", "d1", "d2"]
