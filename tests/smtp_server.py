"""A real SMTP server on 127.0.0.1 (aiosmtpd) with scripted faults, for the tests."""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "shop", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    """Records what arrives; replies as scripted.

    - ``rcpt_replies[address]``: the reply to RCPT TO for that address (``"550 no such user"``)
    - ``data_replies``: replies for the next DATA commands, in order; ``"drop"`` closes the
      connection in the middle of DATA instead of replying.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.mail_replies: collections.deque[str] = collections.deque()
        self.data_replies: collections.deque[str] = collections.deque()
        self.sessions: set[int] = set()
        self.data_delay = 0.0
        self.pipelining = False
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:  # as Postfix, Exim and the big providers offer it
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.sessions.add(id(session))
        if self.mail_replies:
            return self.mail_replies.popleft()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)  # a slow, tarpitting server
        if self.data_replies:
            reply = self.data_replies.popleft()
            if reply == "drop":
                server.transport.close()
                return "250 never seen"
            return reply
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    *,
    auth: bool = False,
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    smtputf8: bool = False,
    pipelining: bool = False,
) -> Iterator[tuple[Handler, int]]:
    """Run a server; yield its handler and port."""
    handler = Handler()
    handler.pipelining = pipelining
    port = free_port()
    kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
    if auth:
        kwargs.update(
            authenticator=_authenticator,
            # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS socket is encrypted too.
            auth_require_tls=tls_context is not None and not implicit_tls,
        )
    if tls_context is not None and implicit_tls:
        kwargs["ssl_context"] = tls_context
    elif tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    if implicit_tls:
        # The controller's readiness probe wraps its socket with the server's context;
        # probe as a client instead (no verification: it only waits for the greeting).
        def probe() -> None:
            client = ssl.create_default_context()
            client.check_hostname = False
            client.verify_mode = ssl.CERT_NONE
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                client.wrap_socket(raw) as tls,
            ):
                tls.recv(1024)

        controller._trigger_server = probe  # type: ignore[method-assign]
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
