"""Tracking links in a web application: the open pixel, a tracked click, the review page
and one-click unsubscribe, each a few lines that hand the token to ``TrackingService``.

The application is plain WSGI (any framework's view looks the same: read the token from the
URL, call the service, answer). The script sends a campaign into memory, serves the app on
127.0.0.1, follows the links from the message like a mail program and a browser would, and
shows what the store recorded.

Run it: ``python examples/tracking_web.py``
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

import reviewkit as rk
from reviewkit.services.tracking import PIXEL_GIF

BASE = "http://127.0.0.1:{port}"
Start = Callable[[str, list[tuple[str, str]]], Any]


def tracking_app(
    tracking: rk.TrackingService,
) -> Callable[[dict[str, Any], Start], Iterable[bytes]]:
    """A WSGI app with the four endpoints reviewkit's links point to."""

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        kind, _, token = environ["PATH_INFO"].strip("/").partition("/")
        try:
            if kind == "o":  # the open pixel: always answer with the image
                tracking.opened(token)
                start("200 OK", [("Content-Type", "image/gif"), ("Cache-Control", "no-store")])
                return [PIXEL_GIF]
            if kind == "c":  # a tracked link
                start("302 Found", [("Location", tracking.clicked(token))])
                return [b""]
            if kind == "review":  # the shop's review form, submitted
                tracking.answered(token)
                start("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
                return ["Dziękujemy za opinię!".encode()]
            if kind == "u" and environ["REQUEST_METHOD"] == "POST":  # RFC 8058 one-click
                tracking.unsubscribed(token)
                start("200 OK", [("Content-Type", "text/plain")])
                return [b"Unsubscribed."]
        except rk.TokenError as exc:  # tampered, expired, wrong purpose: a clear refusal
            start("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"This link is not valid: {exc}".encode()]
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found."]

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    clock = rk.ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    store, outbox = rk.InMemoryStore(), rk.InMemoryTransport()
    signer = rk.LinkSigner({"k2026": "keep-this-secret-in-the-environment"})
    tracking = rk.TrackingService(store, clock, signer)
    server = make_server("127.0.0.1", 0, tracking_app(tracking), handler_class=QuietHandler)
    base = BASE.format(port=server.server_port)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    service = rk.CampaignService(store, clock)
    me = rk.Actor.system()
    service.create(
        me,
        name="reviews",
        sender="Shop <reviews@shop.example>",
        subject="How was order {{ recipient.transaction_id }}?",
        body="Review it: {{ links.answer }}\nUnsubscribe: {{ links.unsubscribe }}",
        html='<a href="{{ links.answer }}">Review</a><img src="{{ links.open }}" alt="">',
        start_at=clock.now(),
        answer_url=base + "/review/{token}",
        open_url=base + "/o/{token}",
        unsubscribe_url=base + "/u/{token}",
    )
    service.add_recipients(
        me,
        "reviews",
        [
            rk.Recipient(email="ala@example.com", transaction_id="Z-1"),
            rk.Recipient(email="ola@example.com", transaction_id="Z-2"),
        ],
    )
    service.schedule(me, "reviews")
    rk.Dispatcher(store, outbox, clock, links=signer).run()
    ala, ola = outbox.sent

    def link(text: str, kind: str) -> str:
        found = re.search(re.escape(base) + "/" + kind + r"/[^\s\"<>]+", text)
        assert found, text
        return found.group(0)

    assert ala.html is not None
    status, _, body = fetch("GET", link(ala.html, "o"))  # the mail program loads the pixel
    assert (status, body) == (200, PIXEL_GIF)
    (request,) = [d for d in store.requests if d.address == "ala@example.com"]
    click = tracking.click_link(base + "/c/{token}", request.id, "https://shop.example/p/7")
    status, headers, _ = fetch("GET", click)
    assert (status, headers["Location"]) == (302, "https://shop.example/p/7")
    status, _, body = fetch("GET", link(ala.text, "review"))
    print("review page says:", body.decode())
    unsubscribe = link(ola.headers["List-Unsubscribe"], "u")
    status, _, _ = fetch("POST", unsubscribe, b"List-Unsubscribe=One-Click")
    assert status == 200
    status, _, body = fetch("GET", link(ala.text, "review")[:-3] + "abc")
    print("a forged link gets", status, body.decode())
    assert status == 400
    server.shutdown()

    for d in store.requests:
        print(
            f"{d.recipient.transaction_id}: {d.category.value:<12} opened={d.opened_at is not None}"
            f" clicked={d.clicked_at is not None} answered={d.answered_at is not None}"
        )
    by_tx = {d.recipient.transaction_id: d for d in store.requests}
    assert by_tx["Z-1"].answered_at is not None
    assert by_tx["Z-1"].clicked_at is not None
    assert by_tx["Z-1"].opened_at is not None
    assert by_tx["Z-2"].category is rk.RequestCategory.UNSUBSCRIBED
    assert rk.SuppressionService(store, clock).check("ola@example.com") is not None


def fetch(method: str, url: str, data: bytes | None = None) -> tuple[int, Any, bytes]:
    """One HTTP request to the local server, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request(method, parts.path, body=data)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


if __name__ == "__main__":
    main()
