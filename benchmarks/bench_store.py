"""Insert N requests into SQLite through the library, then claim and mark them all.

Floors, in the same run and the same schema: a plain ``sqlite3`` ``executemany`` of the same
rows in one transaction, and a bare ``UPDATE … WHERE id IN (…)`` loop over the same batches.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row, peak_memory
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.adapters.sqlite import queries as q

BATCH = 1_000
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def recipients(n: int) -> Iterator[rk.Recipient]:
    for i in range(n):
        yield rk.Recipient(
            email=f"customer{i}@example.com", name=f"Customer {i}", transaction_id=f"T{i}"
        )


def floor_rows(campaign_id: str, n: int) -> Iterator[tuple[object, ...]]:
    for i in range(n):
        email = f"customer{i}@example.com"
        yield (
            uuid.uuid4().hex,
            campaign_id,
            "email",
            email,
            email,
            "pending",
            0,
            None,
            0,
            None,
            None,
            None,
            None,
            email,
            None,
            f"Customer {i}",
            f"T{i}",
            None,
            None,
            None,
            None,  # created_at
            0,  # scheduled_at
            None,
            None,
            None,
            None,
            0,  # reminders_sent
            None,
            None,
            None,
            None,
            None,  # chat_id
            None,  # delivered_at
            None,  # bounced_at
            None,  # complained_at
        )


def _library_insert(path: Path, n: int) -> tuple[float, SQLiteStore, str]:
    store = SQLiteStore(path)
    service = rk.CampaignService(store, rk.ManualClock(NOW))
    actor = rk.Actor.system()
    campaign = service.create(actor, name="bench")
    start = time.perf_counter()
    result = service.add_recipients(actor, "bench", recipients(n))
    elapsed = time.perf_counter() - start
    assert result.added == n
    return elapsed, store, campaign.id


def _floor_insert(path: Path, n: int) -> tuple[float, sqlite3.Connection]:
    SQLiteStore(path).close()  # the same schema and indexes
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "INSERT INTO campaigns (id, name, status, version, data) "
        "VALUES ('c', 'c', 'draft', 1, '{}')"
    )
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(q.INSERT_REQUEST, floor_rows("c", n))
    db.execute("COMMIT")
    return time.perf_counter() - start, db


def _library_claim_and_mark(store: SQLiteStore, campaign_id: str, *, batched: bool) -> int:
    done = 0
    lease = NOW + timedelta(minutes=5)
    sent = rk.RequestStatus.SENT
    while True:
        claimed = store.claim_requests(
            campaign_id, now=NOW, limit=BATCH, worker_id="w", lease_until=lease
        )
        if not claimed:
            return done
        if batched:
            outcomes = [rk.Outcome(request_id=d.id, status=sent) for d in claimed]
            assert not store.finish_requests(outcomes, worker_id="w", now=NOW)
        else:
            for d in claimed:
                outcome = rk.Outcome(request_id=d.id, status=sent)
                assert not store.finish_requests([outcome], worker_id="w", now=NOW)
        done += len(claimed)


def _floor_claim_and_mark(db: sqlite3.Connection) -> int:
    ids = [row[0] for row in db.execute("SELECT id FROM deliveries ORDER BY seq")]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        marks = ",".join("?" * len(chunk))
        db.execute("BEGIN")
        db.execute(f"UPDATE deliveries SET status = 'claimed' WHERE id IN ({marks})", chunk)
        db.execute("COMMIT")
        db.execute("BEGIN")
        db.execute(
            f"UPDATE deliveries SET status = 'sent', available_at = NULL WHERE id IN ({marks})",
            chunk,
        )
        db.execute("COMMIT")
    return len(ids)


def run(n: int, repeat: int) -> list[Row]:
    del repeat  # one run each: a million-row insert is long enough to be stable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor_insert, db = _floor_insert(folder / "floor.sqlite3", n)
        lib_insert, store, campaign_id = _library_insert(folder / "lib.sqlite3", n)
        start = time.perf_counter()
        assert _floor_claim_and_mark(db) == n
        floor_claim = time.perf_counter() - start
        start = time.perf_counter()
        assert _library_claim_and_mark(store, campaign_id, batched=True) == n
        lib_claim = time.perf_counter() - start
        assert store.count_requests(campaign_id)[rk.RequestStatus.SENT] == n
        # The same again, one transaction per outcome (the dispatcher's default, record_every=1).
        per_row_n = min(n, 20_000)
        _, store_b, campaign_b = _library_insert(folder / "lib-b.sqlite3", per_row_n)
        start = time.perf_counter()
        assert _library_claim_and_mark(store_b, campaign_b, batched=False) == per_row_n
        lib_claim_row = time.perf_counter() - start
        store_b.close()
        db.close()
        store.close()
        small = max(n // 10, 500)
        mem_small = peak_memory(lambda: _library_insert(folder / "m1.sqlite3", small)[1].close())
        mem_full = peak_memory(lambda: _library_insert(folder / "m2.sqlite3", n)[1].close())
    return [
        Row("sqlite insert", "floor: executemany", n, floor_insert),
        Row(
            "sqlite insert",
            "reviewkit add_recipients",
            n,
            lib_insert,
            floor_insert,
            f"peak {mem_full / 1024:.0f} KiB (n={small:,}: {mem_small / 1024:.0f} KiB)",
        ),
        Row("sqlite claim+mark", f"floor: UPDATE IN, batches of {BATCH}", n, floor_claim),
        Row("sqlite claim+mark", "reviewkit claim + finish_requests", n, lib_claim, floor_claim),
        Row(
            "sqlite claim+mark",
            "reviewkit claim + finish per row",
            per_row_n,
            lib_claim_row,
            floor_claim * per_row_n / n,
            "a transaction per outcome (record_every=1)",
        ),
    ]
