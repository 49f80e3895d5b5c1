"""Claims and sends per second with 1, 2, 4 and 8 dispatcher processes, on PostgreSQL and
on SQLite, in the same run.

Each worker is a process with its own store and a :class:`~reviewkit.InMemoryTransport`
(so the figure is the store's: claiming, recording outcomes, pacing checks), started and
connected before the clock starts; the clock stops when the last worker finds nothing left.
The ratio is SQLite's time over PostgreSQL's: above 1, PostgreSQL drains the same requests
faster. PostgreSQL is a throwaway server in a temporary folder, durability off on both
(SQLite's ``synchronous = NORMAL`` in WAL mode; the server's ``fsync = off``), as a
benchmark of the code rather than of the disk.
"""

from __future__ import annotations

import multiprocessing
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
            actor, name="load", sender="shop@example.com", subject="Hi", body="Hello",
            start_at=PAST,
        )  # fmt: skip
        service.add_recipients(
            actor,
            "load",
            (rk.Recipient(email=f"c{i}@example.com", transaction_id=f"T{i}") for i in range(n)),
        )
        service.schedule(actor, "load")
        return str(campaign.id)


def _work(db: str, name: str, ready: Any, go: Any, sent: Any) -> None:
    with _open(db) as store:
        dispatcher = rk.Dispatcher(
            store, rk.InMemoryTransport(), rk.SystemClock(), worker_id=name, batch_size=100
        )
        ready.release()
        go.wait()
        report = dispatcher.run(until_idle=True, max_wait=timedelta(seconds=1))
        with sent.get_lock():
            sent.value += report.sent


def _drain(db: str, n: int, workers: int) -> float:
    campaign_id = _prepare(db, n)
    context = multiprocessing.get_context("spawn")
    ready, go, sent = context.Semaphore(0), context.Event(), context.Value("i", 0)
    processes = [
        context.Process(target=_work, args=(db, f"w{i}", ready, go, sent)) for i in range(workers)
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
    return rows
