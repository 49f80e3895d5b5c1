"""The answer page in front of the internet: deleted requests, hostile bodies, framing,
repeated posts, a database that cannot answer."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.services.answers import MAX_ANSWERS
from reviewkit.web import make_app

from .conftest import make_campaign
from .test_web import SIGNER, call, setup  # noqa: F401 - the fixture


class _CountingInput(io.BytesIO):
    """A request body that counts what the application read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def post_raw(app: Any, path: str, length: str | None, body: bytes) -> tuple[str, int]:
    """POST *body* declaring *length*; return the status and how many bytes were read."""
    stream = _CountingInput(body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "wsgi.input": stream,
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    seen: list[str] = []
    b"".join(app(environ, lambda status, headers: seen.append(status)))
    return seen[0], stream.taken


@pytest.fixture
def sent(setup: Any, store: rk.Store) -> tuple[Any, dict[str, str], rk.Request]:  # noqa: F811
    """One survey request sent; the app, its links by name, the request."""
    app, links, request_id, _ = setup
    return app, links, store.get_request(request_id)


# -- a deleted campaign -----------------------------------------------------------------------


def test_a_deleted_campaign_closes_the_page_and_still_takes_the_unsubscribe(
    sent: Any,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    app, links, request = sent
    service.delete(actor, "reviews")
    status, _, page = call(app, "GET", links["4"])
    assert status == "410 Gone"
    assert "This survey is closed." in page
    status, _, page = call(app, "POST", links["4"], b"score=5")
    assert status == "410 Gone"
    status, _, page = call(app, "POST", links["u"], b"List-Unsubscribe=One-Click")
    assert status == "200 OK"
    suppression = store.get_suppression(rk.Channel.EMAIL, request.address)
    assert suppression is not None
    assert suppression.reason is rk.SuppressionReason.UNSUBSCRIBED
    # A later campaign to the same address does not reach it.
    make_campaign(service, actor, name="later", recipients=1, interval=timedelta(0))
    reviewkit_transport.sent.clear()
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock).run()
    assert [m.to for m in reviewkit_transport.sent] == []
    counts = service.counts(actor, "later")
    assert counts[rk.RequestStatus.SUPPRESSED] == 1


def test_an_unsubscribe_token_without_its_address_says_the_request_is_gone(
    sent: Any, service: rk.CampaignService, actor: rk.Actor, reviewkit_clock: rk.ManualClock
) -> None:
    app, _, request = sent
    bare = SIGNER.sign(rk.TokenPurpose.UNSUBSCRIBE, request.id, now=reviewkit_clock.now())
    service.delete(actor, "reviews")
    status, _, page = call(app, "POST", f"/u/{bare}", b"")
    assert status == "410 Gone"
    assert "This request no longer exists." in page


def test_the_unsubscribe_link_carries_only_its_own_address(
    sent: Any, reviewkit_clock: rk.ManualClock
) -> None:
    _, links, request = sent
    token = links["u"].rsplit("/", 1)[1]
    found = SIGNER.verify(token, purpose=rk.TokenPurpose.UNSUBSCRIBE, now=reviewkit_clock.now())
    assert found.extra == f"email:{request.address}"
    assert found.request_id == request.id


# -- the request body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "status"),
    [
        ("-1", "400 Bad Request"),
        ("-99999999", "400 Bad Request"),
        ("abc", "400 Bad Request"),
        ("16385", "413 Content Too Large"),
        (str(200 * 1024 * 1024), "413 Content Too Large"),
    ],
)
def test_a_hostile_content_length_reads_nothing(sent: Any, length: str, status: str) -> None:
    app, links, _ = sent
    got, taken = post_raw(app, links["4"], length, b"score=4&comment=" + b"x" * 1_000_000)
    assert (got, taken) == (status, 0)


@given(
    length=st.one_of(st.none(), st.integers(-(2**40), 2**40).map(str), st.text(max_size=12)),
    body=st.binary(max_size=40_000),
)
def test_never_more_than_the_cap_is_read_whatever_the_headers(
    length: str | None, body: bytes
) -> None:
    app = make_app(
        rk.AnswerService(
            rk.InMemoryStore(), rk.ManualClock(datetime(2026, 3, 2, tzinfo=UTC)), SIGNER
        )
    )
    status, taken = post_raw(app, "/a/not-a-token", length, body)
    assert taken <= 16_384
    assert status in ("400 Bad Request", "413 Content Too Large")


def test_a_real_server_answers_a_negative_length_at_once(sent: Any) -> None:
    app, links, _ = sent

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    with make_server("127.0.0.1", 0, app, handler_class=Quiet) as server:
        thread = threading.Thread(target=server.handle_request)
        thread.start()
        with socket.create_connection(server.server_address, timeout=10) as client:
            head = (
                f"POST {links['4']} HTTP/1.0\r\nHost: x\r\nContent-Length: -1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            )
            client.sendall(head.encode() + b"score=4&comment=" + b"x" * 1000)
            reply = b""
            while piece := client.recv(65_536):
                reply += piece
        thread.join(timeout=10)
    assert reply.startswith(b"HTTP/1.0 400 Bad Request")
    assert b"X-Frame-Options: DENY" in reply


# -- framing and scripts ------------------------------------------------------------------------


def test_every_page_forbids_framing_and_scripts_and_allows_its_own_style(sent: Any) -> None:
    app, links, _ = sent
    responses = [
        call(app, "GET", links["4"]),
        call(app, "GET", links["u"]),
        call(app, "GET", "/thanks"),
        call(app, "GET", "/a/forged"),
        call(app, "POST", links["4"], b"score=5"),
    ]
    for status, headers, page in responses:
        assert headers["X-Frame-Options"] == "DENY", status
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # falls back to 'none'
        assert "unsafe-inline" not in policy
        if isinstance(page, str) and "<style>" in page:
            style = page.split("<style>", 1)[1].split("</style>", 1)[0]
            digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
            assert f"style-src 'sha256-{digest}'" in policy


# -- repeated posts -----------------------------------------------------------------------------


def test_repeated_posts_keep_a_bounded_history(sent: Any, store: rk.Store) -> None:
    app, links, request = sent
    for _ in range(5):  # a reload or a double click adds nothing
        assert call(app, "POST", links["4"], b"score=4")[0] == "303 See Other"
    assert len(store.answers_for(request.id)) == 1
    for i in range(MAX_ANSWERS - 1):
        assert call(app, "POST", links["4"], f"score=4&comment=n{i}".encode())[0] == "303 See Other"
    assert len(store.answers_for(request.id)) == MAX_ANSWERS
    status, _, page = call(app, "POST", links["4"], b"score=1&comment=again")
    assert status == "422 Unprocessable Entity"
    assert "the last answer stays" in page
    history = store.answers_for(request.id)
    assert len(history) == MAX_ANSWERS
    (current,) = [a for a in history if a.current]
    assert current.comment == f"n{MAX_ANSWERS - 2}"


# -- a database that cannot answer ---------------------------------------------------------------


class _LockedStore(rk.InMemoryStore):
    def get_request(self, request_id: str) -> rk.Request:
        raise rk.StorageBusyError("database is locked")


def test_a_storage_fault_is_a_503_with_retry_after() -> None:
    clock = rk.ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
    app = make_app(rk.AnswerService(_LockedStore(), clock, SIGNER))
    token = SIGNER.sign(rk.TokenPurpose.ANSWER, "0" * 32, now=clock.now())
    status, headers, page = call(app, "GET", f"/a/{token}")
    assert status == "503 Service Unavailable"
    assert headers["Retry-After"] == "60"
    assert "try again" in page
