"""Send N messages to a local SMTP server (aiosmtpd, its own process) through the dispatcher.

Baselines in the same run: a bare ``smtplib`` loop that reuses one connection and sends the
same messages prebuilt, and one that opens a connection per message. The server offers
PIPELINING (RFC 2920) as production servers do; the dispatcher is also run against one that
does not (smtplib never pipelines, so its time is the same on both).
"""

from __future__ import annotations

import smtplib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row
from benchmarks.sink import Sink
from reviewkit.adapters.accounts import SenderAccount
from reviewkit.adapters.mime import build_email_bytes
from reviewkit.adapters.smtp import SMTPTransport
from reviewkit.adapters.sqlite import SQLiteStore

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _messages(n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        message = rk.OutgoingMessage(
            message_id=f"bench{i}",
            channel=rk.Channel.EMAIL,
            sender="Shop <reviews@shop.example>",
            to=f"customer{i}@example.com",
            subject=f"How was order T{i}?",
            text=f"Hello Customer {i}, how did we do?\n",
            created_at=NOW,
            campaign_id="bench",
        )
        out.append((message.to, build_email_bytes(message)))
    return out


def _bare_reuse(port: int, prebuilt: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for to, raw in prebuilt:
        smtp.sendmail("reviews@shop.example", [to], raw)
    smtp.quit()
    return time.perf_counter() - start


def _bare_per_message(port: int, prebuilt: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for to, raw in prebuilt:
        smtp = smtplib.SMTP("127.0.0.1", port)
        smtp.sendmail("reviews@shop.example", [to], raw)
        smtp.quit()
    return time.perf_counter() - start


def _through_dispatcher(port: int, n: int, store: rk.Store, record_every: int | None) -> float:
    """Send *n* requests through a dispatcher; ``record_every=None`` keeps its default."""
    clock = rk.ManualClock(NOW)
    service = rk.CampaignService(store, clock)
    actor = rk.Actor.system()
    service.create(
        actor,
        name="bench",
        sender="main",
        subject="How was order {{ recipient.transaction_id }}?",
        body="Hello {{ recipient.name }}, how did we do?\n",
        start_at=NOW,
    )
    service.add_recipients(
        actor,
        "bench",
        (
            rk.Recipient(
                email=f"customer{i}@example.com", name=f"Customer {i}", transaction_id=f"T{i}"
            )
            for i in range(n)
        ),
    )
    service.schedule(actor, "bench")
    account = SenderAccount(
        name="main",
        host="127.0.0.1",
        port=port,
        security="none",
        from_address="reviews@shop.example",
        from_name="Shop",
    )
    recording = {} if record_every is None else {"record_every": record_every}
    dispatcher = rk.Dispatcher(store, SMTPTransport(account), clock, batch_size=500, **recording)
    start = time.perf_counter()
    report = dispatcher.run()
    elapsed = time.perf_counter() - start
    assert report.sent == n, report
    return elapsed


def run(n: int, repeat: int) -> list[Row]:
    del repeat  # each case is long enough at full size; one run each, interleaved
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pipelined, serial = Sink(folder, pipelining=True), Sink(folder)
        try:
            prebuilt = _messages(n)
            reuse = _bare_reuse(pipelined.port, prebuilt)
            per_message_n = max(n // 5, 100)
            per_message = _bare_per_message(pipelined.port, prebuilt[:per_message_n])
            memory = _through_dispatcher(pipelined.port, n, rk.InMemoryStore(), record_every=1)
            with SQLiteStore(folder / "a.sqlite3") as store:
                sqlite_batched = _through_dispatcher(pipelined.port, n, store, record_every=100)
            with SQLiteStore(folder / "b.sqlite3") as store:
                sqlite_default = _through_dispatcher(pipelined.port, n, store, record_every=None)
            with SQLiteStore(folder / "d.sqlite3") as store:
                sqlite_each = _through_dispatcher(pipelined.port, n, store, record_every=1)
            with SQLiteStore(folder / "c.sqlite3") as store:
                sqlite_serial = _through_dispatcher(serial.port, n, store, record_every=None)
            # The server's speed may drift: take the baseline's best of before and after.
            reuse = min(reuse, _bare_reuse(pipelined.port, prebuilt))
        finally:
            pipelined.stop()
            serial.stop()
    return [
        Row("smtp send", "bare smtplib, one connection", n, reuse),
        Row(
            "smtp send",
            "bare smtplib, connection per message",
            per_message_n,
            per_message,
            reuse * per_message_n / n,
            "what connection reuse is worth",
        ),
        Row("smtp send", "dispatcher, memory store", n, memory, reuse, "render+build+send+record"),
        Row("smtp send", "dispatcher, SQLite, record_every=100", n, sqlite_batched, reuse),
        Row(
            "smtp send",
            "dispatcher, SQLite (default)",
            n,
            sqlite_default,
            reuse,
            "record_every=10, record_within=200 ms; goal >= 0.80x",
        ),
        Row(
            "smtp send",
            "dispatcher, SQLite, record_every=1",
            n,
            sqlite_each,
            reuse,
            "each outcome its own transaction",
        ),
        Row(
            "smtp send",
            "dispatcher, SQLite (default), server without PIPELINING",
            n,
            sqlite_serial,
            reuse,
        ),
    ]
