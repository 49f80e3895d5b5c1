"""Claims and sends per second with 1, 2, 4 and 8 dispatcher processes, on PostgreSQL and
on SQLite, in the same run; then the same processes sending through SMTP against
django-post-office's multi-process sender, on the same PostgreSQL server and the same SMTP
server (when ``django`` and ``django-post-office`` are installed).

Each worker is a process with its own store and a :class:`~reviewkit.InMemoryTransport`
(so the figure is the store's: claiming, recording outcomes, pacing checks), started and
connected before the clock starts; the clock stops when the last worker finds nothing left.
The ratio is SQLite's time over PostgreSQL's: above 1, PostgreSQL drains the same requests
faster. PostgreSQL is a throwaway server in a temporary folder, durability off on both
(SQLite's ``synchronous = NORMAL`` in WAL mode; the server's ``fsync = off``), as a
benchmark of the code rather than of the disk.

In the SMTP race both sides send the same N messages (a subject and a line of text per
customer) to one local server that records every recipient, so that a message sent twice is
counted; the ratio is django-post-office's time over reviewkit's.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import reviewkit as rk
from benchmarks.common import Row

PAST = datetime(2020, 1, 1, tzinfo=UTC)


def _open(db: str) -> Any:
    if db.startswith("postgresql://"):
        from reviewkit.adapters.postgres import PostgresStore

        return PostgresStore(db, pool_size=1)
    from reviewkit.adapters.sqlite import SQLiteStore

    return SQLiteStore(db)


def _prepare(db: str, n: int) -> str:
    with _open(db) as store:
        service = rk.CampaignService(store, rk.SystemClock())
        actor = rk.Actor.system()
        campaign = service.create(
            actor, name="load", sender="Shop <reviews@shop.example>",
            subject="How was order {{ recipient.transaction_id }}?",
            body="Hello {{ recipient.name }}, how did we do with order "
            "{{ recipient.transaction_id }}?",
            start_at=PAST,
        )  # fmt: skip
        service.add_recipients(
            actor,
            "load",
            (
                rk.Recipient(email=f"c{i}@example.com", name=f"C{i}", transaction_id=f"T{i}")
                for i in range(n)
            ),
        )
        service.schedule(actor, "load")
        return str(campaign.id)


def _transport(smtp_port: int) -> Any:
    if not smtp_port:
        return rk.InMemoryTransport()
    from reviewkit.adapters.accounts import SenderAccount
    from reviewkit.adapters.smtp import SMTPTransport

    return SMTPTransport(
        SenderAccount(
            name="main", host="127.0.0.1", port=smtp_port, security="none",
            from_address="reviews@shop.example", from_name="Shop",
        )
    )  # fmt: skip


def _work(db: str, name: str, smtp_port: int, ready: Any, go: Any, sent: Any) -> None:
    with _open(db) as store:
        dispatcher = rk.Dispatcher(
            store, _transport(smtp_port), rk.SystemClock(), worker_id=name, batch_size=100
        )
        ready.release()
        go.wait()
        report = dispatcher.run(until_idle=True, max_wait=timedelta(seconds=1))
        with sent.get_lock():
            sent.value += report.sent


def _drain(db: str, n: int, workers: int, smtp_port: int = 0) -> float:
    campaign_id = _prepare(db, n)
    context = multiprocessing.get_context("spawn")
    ready, go, sent = context.Semaphore(0), context.Event(), context.Value("i", 0)
    processes = [
        context.Process(target=_work, args=(db, f"w{i}", smtp_port, ready, go, sent))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    assert all(p.exitcode == 0 for p in processes)
    assert sent.value == n, (sent.value, n)
    with _open(db) as store:
        assert store.count_requests(campaign_id)[rk.RequestStatus.SENT] == n
    return elapsed


def _post_office(url: str, port: int, n: int, processes: int) -> float | None:
    """django-post-office's time for the same sending, or None when it is not installed."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.contest_post_office", url, str(port), str(n),
         str(processes)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        if "No module named 'django" in done.stderr or "post_office" in done.stderr:
            return None
        raise RuntimeError(f"django-post-office failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sent"] == n, result
    return float(result["seconds"])


def _smtp_race(server: Any, folder: Path, n: int, worker_counts: tuple[int, ...]) -> list[Row]:
    from benchmarks.sink import Sink

    sink = Sink(folder)
    rows = []
    try:
        for workers in worker_counts:
            url = server.create_database(f"smtp_{workers}")
            ours = _drain(url, n, workers, smtp_port=sink.port)
            received = sink.received()
            assert len(received) == n, (len(received), n)
            repeats = len(received) - len(set(received))
            sink.clear()
            theirs = _post_office(server.create_database(f"po_{workers}"), sink.port, n, workers)
            their_repeats = None
            if theirs is not None:
                got = sink.received()
                their_repeats = len(got) - len(set(got))
                assert len(set(got)) == n, (len(set(got)), n)
                sink.clear()
            note = (
                "django-post-office not installed"
                if theirs is None
                else f"baseline: django-post-office send_queued, {theirs:.2f} s"
            )
            rows.append(
                Row(
                    "workers: SMTP",
                    f"{workers} process(es), PostgreSQL",
                    n,
                    ours,
                    baseline_seconds=theirs,
                    note=f"{note}; repeated: {repeats} vs {their_repeats}",
                )
            )
    finally:
        sink.stop()
    return rows


def run(n: int, worker_counts: tuple[int, ...]) -> list[Row]:
    try:
        from tests import pg_server
    except ImportError:  # pragma: no cover - run from an installed package
        return [Row("workers", "skipped: needs the tests folder", 0, 0.0)]
    rows = []
    with pg_server.running() as server, tempfile.TemporaryDirectory() as tmp:
        if isinstance(server, str):
            return [Row("workers", "skipped: no PostgreSQL", 0, 0.0, note=server[:60])]
        for workers in worker_counts:
            url = server.create_database(f"bench_{workers}")
            postgres = _drain(url, n, workers)
            sqlite = _drain(str(Path(tmp) / f"bench_{workers}.sqlite3"), n, workers)
            rows.append(
                Row(
                    "workers: claim+send",
                    f"{workers} process(es), PostgreSQL",
                    n,
                    postgres,
                    baseline_seconds=sqlite,
                    note=f"baseline: SQLite, {sqlite:.2f} s ({n / sqlite:,.0f}/s)",
                )
            )
        rows += _smtp_race(server, Path(tmp), n, worker_counts)
    return rows
