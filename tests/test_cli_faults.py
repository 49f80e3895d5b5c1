"""The command line under real faults, in real processes: a write lock held by another process,
a full disk, a read-only database, SIGTERM and SIGKILL during an import. Each ends with one
clear line on stderr (never a traceback), the right exit status, nothing lost and nothing sent
twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reviewkit.adapters.sqlite import SQLiteStore

from .faults import fill, read_only, small_disk
from .test_workers import message_ids, prepare


def reviewkit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reviewkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_one_clear_line(stderr: str, *expected: str) -> None:
    assert "Traceback" not in stderr, stderr
    line = stderr.strip()
    assert line.startswith("reviewkit: error: "), stderr
    assert "\n" not in line, stderr
    for part in expected:
        assert part in line, stderr


@contextmanager
def lock_held_by_another_process(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the database's write lock until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        holder.stdin.close()
        holder.stdout.close()
        holder.wait(timeout=10)


def write_csv(path: Path, rows: int, start: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,transaction_id,city\n")
        for i in range(start, start + rows):
            out.write(f"c{i}@example.com,Customer number {i},T{i:08d},{'Warszawa' * 4}\n")
    return path


def stored(db: Path) -> tuple[int, int]:
    """(requests, distinct addresses) in the database, read as another process would."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as raw:
        query = "SELECT count(*), count(DISTINCT address) FROM deliveries"
        total, distinct = raw.execute(query).fetchone()
        return total, distinct


# -- a write lock held by another process --------------------------------------------------


def test_a_held_lock_fails_writes_clearly_and_reads_still_work(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    prepare(db, 3)
    rows = write_csv(tmp_path / "rows.csv", 50)
    with lock_held_by_another_process(db):
        create = reviewkit(
            "campaign", "create", "--db", str(db), "--name", "x", "--busy-timeout", "0.3"
        )
        imported = reviewkit(
            "import", str(rows), "--campaign", "load", "--db", str(db), "--busy-timeout", "0.3"
        )
        show = reviewkit("campaign", "show", "load", "--db", str(db), "--busy-timeout", "0.3")
    assert create.returncode == 1
    assert_one_clear_line(create.stderr, "is locked", "0.3 s busy timeout")
    assert imported.returncode == 1
    assert_one_clear_line(imported.stderr, "is locked")
    assert show.returncode == 0, show.stderr
    assert "requests   pending 3" in show.stdout
    assert stored(db) == (3, 3)  # the import stored nothing


def test_a_worker_waits_out_a_held_lock_and_sends_each_message_once(tmp_path: Path) -> None:
    db, outbox = tmp_path / "r.sqlite3", tmp_path / "outbox"
    prepare(db, 30)
    with lock_held_by_another_process(db):
        worker = start(
            "dispatch", "--db", str(db), "--outbox", str(outbox), "--until-idle",
            "--busy-timeout", "0.3",
        )  # fmt: skip
        time.sleep(2.5)
        assert worker.poll() is None  # still there, waiting
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    assert "storage fault, trying again" in err
    assert "is locked" in err
    assert "sent 30" in out
    ids = message_ids(outbox)
    assert len(ids) == 30
    assert set(ids.values()) == {1}


# -- a full disk --------------------------------------------------------------------------------


def test_an_import_onto_a_full_disk_stops_clearly_with_whole_transactions_kept(
    tmp_path: Path,
) -> None:
    rows = write_csv(tmp_path / "rows.csv", 40_000)
    with small_disk(tmp_path / "disk", "8m") as disk:
        db = disk / "r.sqlite3"
        result = reviewkit("import", str(rows), "--campaign", "load", "--create", "--db", str(db))
        assert result.returncode == 1
        assert_one_clear_line(result.stderr, "disk is full")
        total, distinct = stored(db)
        assert total == distinct
        assert 0 < total < 40_000
        assert total % 1000 == 0
        again = reviewkit("campaign", "show", "load", "--db", str(db))
        assert again.returncode == 0, again.stderr


def test_a_worker_on_a_full_disk_waits_for_space_and_sends_each_message_once(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    with small_disk(tmp_path / "disk", "2m") as disk:
        db = disk / "r.sqlite3"
        prepare(db, 20)
        with sqlite3.connect(db) as raw:  # an empty log: the next write needs new space
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ballast = fill(disk)
        worker = start("dispatch", "--db", str(db), "--outbox", str(outbox), "--until-idle")
        time.sleep(2.5)
        assert worker.poll() is None, worker.communicate()
        ballast.unlink()
        out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    assert "storage fault, trying again" in err
    assert "disk is full" in err
    ids = message_ids(outbox)
    assert len(ids) == 20
    assert set(ids.values()) == {1}
    assert "sent 20" in out


# -- a read-only database -----------------------------------------------------------------------


def test_a_read_only_database_is_shown_and_listed_and_writes_fail_clearly(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    prepare(folder / "r.sqlite3", 4)
    with read_only(folder) as view:
        db = str(view / "r.sqlite3")
        show = reviewkit("campaign", "show", "load", "--db", db, "--format", "json")
        listing = reviewkit("requests", "list", "--db", db, "--since", "2000-01-01")
        scores = reviewkit("scores", "--db", db)
        export = reviewkit(
            "requests", "export", "--db", db, "--output", str(tmp_path / "out.csv"),
            "--since", "2000-01-01",
        )  # fmt: skip
        pause = reviewkit("campaign", "pause", "load", "--db", db)
        create = reviewkit("campaign", "create", "--name", "x", "--db", db)
        assert sorted(p.name for p in view.iterdir()) == ["r.sqlite3"]
    for done in (show, listing, scores, export):
        assert done.returncode == 0, done.stderr
    assert '"pending": 4' in show.stdout
    assert "4 requests written" in export.stdout
    for refused in (pause, create):
        assert refused.returncode == 1
        assert_one_clear_line(refused.stderr, "r.sqlite3")


def test_a_read_only_command_refuses_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "typo.sqlite3"
    for args in (("campaign", "show", "x"), ("requests", "list"), ("scores",)):
        result = reviewkit(*args, "--db", str(db))
        assert result.returncode == 1
        assert_one_clear_line(result.stderr, "no reviewkit database", "typo.sqlite3")
    assert not db.exists()


def test_reviewkit_db_names_the_default_database(tmp_path: Path) -> None:
    db = tmp_path / "env.sqlite3"
    prepare(db, 2)
    result = subprocess.run(
        [sys.executable, "-m", "reviewkit", "campaign", "show", "load"],
        capture_output=True,
        text=True,
        env={**os.environ, "REVIEWKIT_DB": str(db)},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "pending 2" in result.stdout


# -- signals during an import -------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _import_under_way(db: Path, rows: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """An import of *rows* checked by worker processes, stopped once it has stored some."""
    process = start("import", str(rows), "--campaign", "load", "--create", "--db", str(db))
    deadline = time.monotonic() + 60
    checkers: set[int] = set()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the import ended before it could be stopped: {process.communicate()}")
        checkers |= _children(process.pid)
        if db.exists() and len(checkers) >= 2:
            try:
                if stored(db)[0] >= 2_000:
                    return process, checkers
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.05)
    pytest.fail("the import stored nothing within a minute")


@pytest.fixture
def big_csv(tmp_path: Path) -> tuple[Path, int]:
    rows = 60_000  # over 4 MiB: checked in worker processes
    path = write_csv(tmp_path / "big.csv", rows)
    assert path.stat().st_size > 4 * 1024 * 1024
    return path, rows


def test_sigterm_stops_an_import_cleanly_and_a_rerun_adds_exactly_the_rest(
    tmp_path: Path, big_csv: tuple[Path, int]
) -> None:
    path, rows = big_csv
    db = tmp_path / "r.sqlite3"
    process, checkers = _import_under_way(db, path)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err
    assert "import stopped by SIGTERM" in err
    assert "adds the rest" in err
    time.sleep(0.5)
    assert not [pid for pid in checkers if _alive(pid)]
    kept, distinct = stored(db)
    assert kept == distinct
    assert kept % 1000 == 0
    assert 0 < kept < rows
    again = reviewkit("import", str(path), "--campaign", "load", "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert f"{rows - kept} accepted" in again.stdout
    assert f"{kept} duplicates" in again.stdout
    assert stored(db) == (rows, rows)


def test_the_checking_processes_die_with_a_killed_import(
    tmp_path: Path, big_csv: tuple[Path, int]
) -> None:
    path, rows = big_csv
    db = tmp_path / "r.sqlite3"
    process, checkers = _import_under_way(db, path)
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while [pid for pid in checkers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in checkers if _alive(pid)]
    kept, distinct = stored(db)
    assert kept == distinct
    assert kept % 1000 == 0
    again = reviewkit("import", str(path), "--campaign", "load", "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert stored(db) == (rows, rows)
    with SQLiteStore(db, readonly=True) as store:
        assert store.get_campaign("load").name == "load"


def test_a_worker_without_link_keys_stops_clearly_and_blames_no_campaign(tmp_path: Path) -> None:
    db, outbox = str(tmp_path / "r.sqlite3"), str(tmp_path / "outbox")
    steps = [
        ("campaign", "create", "--name", "links", "--from", "shop@example.com",
         "--subject", "Hi", "--unsubscribe-url", "https://shop.example/u/{token}",
         "--start", "2020-01-01T00:00"),
        ("campaign", "add-recipient", "links", "--email", "ala@example.com"),
        ("campaign", "schedule", "links"),
    ]  # fmt: skip
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ links.unsubscribe }}")
    for step in steps:
        extra = ("--body-file", str(body)) if step[1] == "create" else ()
        done = reviewkit(*step, *extra, "--db", db)
        assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if k != "REVIEWKIT_LINK_KEYS"}
    result = subprocess.run(
        [sys.executable, "-m", "reviewkit", "dispatch", "--db", db, "--outbox", outbox,
         "--until-idle"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert_one_clear_line(result.stderr, "no LinkSigner", "'links'")
    show = reviewkit("campaign", "show", "links", "--db", db)
    assert "failure" not in show.stdout
    assert "pending 1" in show.stdout
