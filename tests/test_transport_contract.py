"""The transport contract (:class:`reviewkit.testing.TransportContract`) run on every e-mail,
SMS and chat transport reviewkit ships."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.accounts import SenderAccount
from reviewkit.adapters.messenger import MessengerTransport
from reviewkit.adapters.sms import HttpSmsTransport, SmsFileTransport
from reviewkit.adapters.smtp import SMTPTransport
from reviewkit.testing import Received, TransportContract

from .smtp_server import smtp_server
from .test_sms import Gateway

Pair = tuple[rk.Transport, Received]


def _request_ids(message_ids: list[str]) -> list[str]:
    """``<d1.c1@shop.example>`` or ``d1.c1`` → ``d1``."""
    return [m.strip("<>").split("@")[0].split(".")[0] for m in message_ids]


def _ids_from_bytes(raws: list[bytes]) -> list[str]:
    parser = BytesParser(policy=policy.default)
    return _request_ids([str(parser.parsebytes(raw)["Message-ID"]) for raw in raws])


class TestInMemoryEmail(TransportContract):
    @pytest.fixture
    def transport(self) -> Pair:
        memory = rk.InMemoryTransport()
        return memory, lambda: _ids_from_bytes(memory.raw)


class TestMaildir(TransportContract):
    @pytest.fixture
    def transport(self, tmp_path: Path) -> Pair:
        folder = tmp_path / "box"

        def read() -> list[str]:
            md = mailbox.Maildir(folder, create=False)
            messages = sorted((md.get_message(k) for k in md.iterkeys()), key=lambda m: m["Date"])
            return _request_ids([str(m["Message-ID"]) for m in messages])

        return rk.MaildirTransport(folder), read


class TestSMTP(TransportContract):
    @pytest.fixture
    def transport(self) -> Iterator[Pair]:
        with smtp_server() as (handler, port):
            self.handler = handler
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

    def test_the_message_id_is_on_the_senders_domain(self, transport: Pair) -> None:
        """What arrives carries ``<message_id@sender's domain>``, the same on every try."""
        sender, _ = transport
        message = rk.OutgoingMessage(
            message_id="d4.c1",
            channel=rk.Channel.EMAIL,
            sender="shop@shop.example",
            to="c4@example.com",
            subject="s",
            text="t",
            request_id="d4",
            campaign_id="c1",
            created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        )
        sender.send(message)
        sender.send(message)
        raws = [m[2] for m in self.handler.messages]
        parser = BytesParser(policy=policy.default)
        ids = [parser.parsebytes(raw)["Message-ID"] for raw in raws]
        assert ids == ["<d4.c1@shop.example>"] * 2


class TestInMemorySms(TransportContract):
    channel = rk.Channel.SMS

    @pytest.fixture
    def transport(self) -> Pair:
        memory = rk.InMemoryTransport()
        return memory, lambda: [str(m.request_id) for m in memory.sent]


class TestSmsFile(TransportContract):
    channel = rk.Channel.SMS

    @pytest.fixture
    def transport(self, tmp_path: Path) -> Pair:
        path = tmp_path / "sms.jsonl"

        def read() -> list[str]:
            lines = path.read_text().splitlines() if path.exists() else []
            return _request_ids([json.loads(line)["message_id"] for line in lines])

        return SmsFileTransport(path), read


class TestHttpSms(TransportContract):
    channel = rk.Channel.SMS

    @pytest.fixture
    def transport(self) -> Iterator[Pair]:
        gateway = Gateway()
        gateway.thread.start()
        yield (
            HttpSmsTransport(gateway.url),
            lambda: _request_ids([str(body["reference"]) for _, body in gateway.requests]),
        )
        gateway.server.shutdown()
        gateway.server.server_close()


class TestInMemoryChat(TransportContract):
    channel = rk.Channel.CHAT

    @pytest.fixture
    def transport(self) -> Pair:
        memory = rk.InMemoryTransport()
        return memory, lambda: [str(m.request_id) for m in memory.sent]


class TestMessenger(TransportContract):
    channel = rk.Channel.CHAT

    @pytest.fixture
    def transport(self) -> Iterator[Pair]:
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
