"""Faults of the disk and of other processes on a SQLite store: clear errors, nothing lost.

Each fault is real: another connection holding the write lock, a file system that fills up,
a read-only mount. After each, what was stored before is intact and the store works again
once the fault is gone.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore

from .faults import fill, read_only, small_disk

PAST = datetime(2020, 1, 1, tzinfo=UTC)


@contextmanager
def write_lock(db: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the database's write lock until the block ends."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def campaign(store: rk.Store, name: str = "reviews", recipients: int = 3) -> rk.Campaign:
    service = rk.CampaignService(store, rk.SystemClock())
    actor = rk.Actor.system()
    service.create(
        actor, name=name, sender="shop@example.com", subject="Hi", body="Hello", start_at=PAST
    )
    service.add_recipients(
        actor, name, (rk.Recipient(email=f"c{i}@example.com") for i in range(recipients))
    )
    return service.schedule(actor, name)


def requests(n: int, campaign_id: str, start: int = 0) -> list[rk.Request]:
    return [
        rk.Request(
            campaign_id=campaign_id,
            recipient=rk.Recipient(email=f"bulk{i}@example.com", name="x" * 200),
            channel=rk.Channel.EMAIL,
            address=f"bulk{i}@example.com",
            due_at=PAST,
        )
        for i in range(start, start + n)
    ]


# -- a write lock held past the busy timeout ---------------------------------------------------


def test_a_held_write_lock_is_a_busy_error_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    with SQLiteStore(db, timeout=0.2) as store:
        first = campaign(store)
        with write_lock(db):
            started = time.monotonic()
            with pytest.raises(rk.StorageBusyError, match=r"locked.*0\.2 s busy timeout") as caught:
                campaign(store, "second")
            assert time.monotonic() - started >= 0.2
            assert caught.value.transient
            assert isinstance(caught.value, rk.StorageError)
            # Readers are not blocked by a writer (write-ahead log).
            assert [c.name for c in store.list_campaigns()] == ["reviews"]
            assert store.count_requests(first.id)[rk.RequestStatus.PENDING] == 3
        campaign(store, "second")  # works again once the lock is gone
        assert sorted(c.name for c in store.list_campaigns()) == ["reviews", "second"]


def test_a_busy_error_inside_a_grouping_transaction_rolls_all_of_it_back(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    with SQLiteStore(db, timeout=0.1) as store:
        first = campaign(store)
        other = SQLiteStore(db, timeout=0.1)

        def both() -> None:
            with store.transaction():
                store.add_requests(requests(5, first.id))
                other.add_requests(requests(5, first.id, start=5))  # waits for store's lock

        with pytest.raises(rk.StorageBusyError):
            both()
        other.close()
        assert sum(store.count_requests(first.id).values()) == 3


def test_the_dispatcher_waits_out_a_held_lock_and_sends_each_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "r.sqlite3"
    transport = rk.InMemoryTransport()
    with SQLiteStore(db, timeout=0.1) as store:
        campaign(store, recipients=20)
        clock = rk.ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
        dispatcher = rk.Dispatcher(store, transport, clock, worker_id="w")
        results: list[rk.DispatchReport] = []
        worker = threading.Thread(target=lambda: results.append(dispatcher.run(until_idle=True)))
        with caplog.at_level(logging.WARNING, "reviewkit.dispatch"):
            with write_lock(db):
                # The lock is held during the first passes; the dispatcher must not give up.
                worker.start()
                time.sleep(1.0)
                held = len(transport.sent)
            worker.join(timeout=60)
        assert not worker.is_alive()
        counts = store.count_requests(store.get_campaign("reviews").id)
    assert held == 0
    assert "storage fault" in caplog.text
    assert Counter(m.to for m in transport.sent) == {f"c{i}@example.com": 1 for i in range(20)}
    assert counts[rk.RequestStatus.SENT] == 20
    assert results[0].sent == 20


class _FlakyStore(rk.InMemoryStore):
    """Refuses to record outcomes the first *n* times, as a locked database would."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.refusals = n

    def finish_requests(self, *args: object, **kwargs: object) -> list[str]:
        if self.refusals:
            self.refusals -= 1
            raise rk.StorageBusyError("database is locked")
        return super().finish_requests(*args, **kwargs)  # type: ignore[arg-type]


def test_an_outcome_that_cannot_be_recorded_is_kept_and_recorded_later() -> None:
    store = _FlakyStore(3)
    transport = rk.InMemoryTransport()
    campaign(store, recipients=5)
    clock = rk.ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    report = rk.Dispatcher(store, transport, clock, worker_id="w").run(until_idle=True)
    # Nothing was sent twice although recording failed after a send, three times.
    assert Counter(m.to for m in transport.sent) == {f"c{i}@example.com": 1 for i in range(5)}
    assert store.count_requests(store.get_campaign("reviews").id)[rk.RequestStatus.SENT] == 5
    assert report.sent == 5
    assert store.refusals == 0


def test_a_dispatcher_stopped_with_unrecorded_outcomes_names_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _FlakyStore(10**6)
    transport = rk.InMemoryTransport()
    campaign(store, recipients=2)
    clock = rk.ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    with caplog.at_level(logging.WARNING, "reviewkit.dispatch"):
        rk.Dispatcher(store, transport, clock, worker_id="w", record_every=1).run(max_passes=3)
    assert len(transport.sent) == 1  # one send, then every pass fails to record it
    assert "could not be recorded" in caplog.text
    ids = [d.id for d in store.iter_requests(store.get_campaign("reviews").id)]
    assert any(i in caplog.text for i in ids)


# -- a full disk ------------------------------------------------------------------------------


def test_a_full_disk_is_a_clear_error_keeps_whole_batches_and_recovers(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        spare = disk / "spare"
        spare.write_bytes(b"\0" * 300_000)
        store = SQLiteStore(disk / "r.sqlite3")
        first = campaign(store)
        added = 0

        def add_until_full() -> None:
            nonlocal added
            while True:
                store.add_requests(requests(200, first.id, start=added))
                added += 200

        with pytest.raises(rk.StorageFullError, match="disk is full") as caught:
            add_until_full()
        assert caught.value.transient
        assert added > 0
        # The failed batch left nothing behind; every earlier batch is whole.
        assert sum(store.count_requests(first.id).values()) == 3 + added
        spare.unlink()
        store.add_requests(requests(200, first.id, start=added))
        assert sum(store.count_requests(first.id).values()) == 3 + added + 200
        store.close()
        with SQLiteStore(disk / "r.sqlite3") as again:
            assert sum(again.count_requests(first.id).values()) == 3 + added + 200


def test_a_database_cannot_be_created_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "256k") as disk:
        fill(disk)
        with pytest.raises(rk.StorageFullError, match="the disk is full"):
            SQLiteStore(disk / "new.sqlite3")


# -- read-only files and folders --------------------------------------------------------------


def _stored(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    with SQLiteStore(folder / "r.sqlite3") as store:
        campaign(store, recipients=4)
    return folder


def test_a_read_only_folder_is_read_with_readonly_and_refused_for_writing(tmp_path: Path) -> None:
    with read_only(_stored(tmp_path)) as folder:
        db = folder / "r.sqlite3"
        with pytest.raises(rk.StorageError, match=r"r\.sqlite3"):
            SQLiteStore(db)
        with SQLiteStore(db, readonly=True) as store:
            found = store.get_campaign("reviews")
            assert store.count_requests(found.id)[rk.RequestStatus.PENDING] == 4
            with pytest.raises(rk.StorageReadOnlyError, match="read-only"):
                store.save_campaign(found.apply(rk.CampaignEvent.PAUSE))
        assert sorted(p.name for p in folder.iterdir()) == ["r.sqlite3"]


def test_a_read_only_file_is_refused_for_writing_with_the_reason(tmp_path: Path) -> None:
    folder = _stored(tmp_path)
    with read_only(folder / "r.sqlite3") as db:
        with SQLiteStore(db) as store:  # opens: nothing needs writing yet
            found = store.get_campaign("reviews")
            with pytest.raises(rk.StorageReadOnlyError, match=r"cannot be written.*permissions"):
                store.save_campaign(found.apply(rk.CampaignEvent.PAUSE))
        with SQLiteStore(db, readonly=True) as store:
            assert store.get_campaign("reviews").status is rk.CampaignStatus.SCHEDULED


def test_a_readonly_store_sees_other_processes_writes(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    with SQLiteStore(db) as writer, SQLiteStore(db, readonly=True) as reader:
        campaign(writer, "one")
        assert [c.name for c in reader.list_campaigns()] == ["one"]
        campaign(writer, "two")
        assert sorted(c.name for c in reader.list_campaigns()) == ["one", "two"]
        with pytest.raises(rk.StorageReadOnlyError):
            reader.add_requests([])


def test_a_readonly_store_does_not_create_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(rk.NotFoundError, match="no reviewkit database"):
        SQLiteStore(tmp_path / "missing.sqlite3", readonly=True)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_a_readonly_store_refuses_a_schema_it_would_have_to_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    SQLiteStore(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA user_version = 1")
    with pytest.raises(rk.StorageError, match="open it once for writing"):
        SQLiteStore(db, readonly=True)


def test_the_dispatcher_backs_off_one_then_two_seconds_in_real_time(tmp_path: Path) -> None:
    # Across the night the clocks go back: the waits are still real seconds.
    db = tmp_path / "r.sqlite3"
    with SQLiteStore(db, timeout=0.05) as store:
        campaign(store, recipients=1)
        clock = rk.ManualClock(datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC), zone="Europe/Warsaw")
        with write_lock(db):
            rk.Dispatcher(store, rk.InMemoryTransport(), clock, worker_id="w").run(max_passes=2)
        assert clock.now() - datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC) == timedelta(seconds=3)
