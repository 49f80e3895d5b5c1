"""The PostgreSQL store with real processes on a real server: many workers send each request
once, killed workers and a restarted server lose nothing, pacing holds across processes,
two hosts upgrading at once migrate once, and the command line works on a URL."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk

from . import pg_server
from .test_workers import finish, message_ids, open_db, prepare, worker

psycopg = pytest.importorskip("psycopg")

from reviewkit.adapters.postgres import SCHEMA_VERSION, PostgresStore  # noqa: E402


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """A failed test's dispatcher processes are killed, not left retrying against a server
    that is about to stop."""
    yield
    for pid in _dispatchers():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _dispatchers() -> list[int]:
    """The ids of this process's children that run ``reviewkit dispatch``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().split(b"\0")
                if int(fields[1]) == os.getpid() and b"dispatch" in command[3:5]:
                    found.append(int(entry.name))
    return found


def _sent_outbox(outbox: Path) -> int:
    return len(os.listdir(outbox / "new")) if (outbox / "new").exists() else 0


def test_eight_processes_send_every_request_exactly_once(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """8 workers drain 20,000 due requests from one database; each Message-ID arrives once."""
    outbox = tmp_path / "outbox"
    campaign_id = prepare(postgres_url, 20_000)
    started = time.monotonic()
    workers = [
        worker(postgres_url, outbox, f"w{i}", "--max-wait", "1s", "--batch-size", "100")
        for i in range(8)
    ]
    outputs = [finish(w) for w in workers]
    elapsed = time.monotonic() - started
    ids = message_ids(outbox)
    assert len(ids) == 20_000
    assert max(ids.values()) == 1, [m for m, c in ids.items() if c > 1][:5]
    with open_db(postgres_url) as store:
        assert store.count_requests(campaign_id)[rk.RequestStatus.SENT] == 20_000
        assert store.get_campaign(campaign_id).status is rk.CampaignStatus.COMPLETED
    sent_by = [int(out.split("sent ")[1].split(",")[0]) for out in outputs]
    assert sum(sent_by) == 20_000
    assert sum(1 for n in sent_by if n) >= 4, sent_by  # the work really was shared
    with capsys.disabled():
        print(f"\n[postgres] 8 workers sent 20,000 in {elapsed:.1f} s; per worker {sent_by}")


def test_killed_workers_lose_nothing(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL two of four workers mid-batch, then a new one: every request is sent, and only
    sends not yet recorded when the kill came can repeat."""
    outbox = tmp_path / "outbox"
    campaign_id = prepare(postgres_url, 4_000)
    lease = ("--lease", "3s", "--batch-size", "50")
    workers = [worker(postgres_url, outbox, f"w{i}", *lease, "--max-wait", "10s") for i in range(4)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _sent_outbox(outbox) < 800:
        time.sleep(0.01)
    victims = workers[:2]
    assert all(v.poll() is None for v in victims), "the workers ended before the kill"
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
    for victim in victims:
        victim.communicate(timeout=30)
    for survivor in workers[2:]:
        finish(survivor)
    finish(worker(postgres_url, outbox, "rescuer", *lease, "--max-wait", "10s"))
    ids = message_ids(outbox)
    duplicates = sum(ids.values()) - len(ids)
    with capsys.disabled():
        print(f"\n[postgres, 2 of 4 workers killed] repeated messages: {duplicates}")
    assert len(ids) == 4_000
    assert duplicates <= 20  # at most one unrecorded group (10 by default) of each victim
    with open_db(postgres_url) as store:
        counts = store.count_requests(campaign_id)
        assert counts[rk.RequestStatus.SENT] == 4_000
        assert counts[rk.RequestStatus.CLAIMED] == counts[rk.RequestStatus.PENDING] == 0


def test_a_server_restart_mid_run_loses_nothing(
    postgres: pg_server.Server,
    postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The server is stopped and started again while four workers send: they wait, reconnect
    and finish; every request is sent, repeats at most the sends in flight, counted.

    A claim whose commit the cut left in doubt stays with its worker until the lease ends;
    then another worker takes it (the lease is short here so that the run sees it)."""
    outbox = tmp_path / "outbox"
    campaign_id = prepare(postgres_url, 3_000)
    options = ("--batch-size", "20", "--lease", "3s", "--max-wait", "20s")
    workers = [worker(postgres_url, outbox, f"w{i}", *options) for i in range(4)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _sent_outbox(outbox) < 600:
        time.sleep(0.01)
    assert all(w.poll() is None for w in workers), "the workers ended before the restart"
    postgres.restart()
    errors = []
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        errors.append(err)
    ids = message_ids(outbox)
    duplicates = sum(ids.values()) - len(ids)
    with capsys.disabled():
        print(f"\n[postgres restarted mid-run] repeated messages: {duplicates}")
    assert len(ids) == 3_000
    assert duplicates <= 40  # a group each worker sent but could not record before the cut
    # Each worker either reconnected within its pool's wait, or logged the storage fault
    # and tried again; none gave up.
    told = [line for err in errors for line in err.splitlines() if "WARNING" in line]
    with capsys.disabled():
        print("\n".join(told[:8]))
    with open_db(postgres_url) as store:
        assert store.count_requests(campaign_id)[rk.RequestStatus.SENT] == 3_000


def test_pacing_holds_across_processes(postgres_url: str, tmp_path: Path) -> None:
    """Three workers on a campaign with a 1 s interval never send two messages within 1 s."""
    outbox = tmp_path / "outbox"
    campaign_id = prepare(postgres_url, 6, interval=timedelta(seconds=1))
    for w in [worker(postgres_url, outbox, f"w{i}", "--max-wait", "5s") for i in range(3)]:
        finish(w)
    with open_db(postgres_url) as store:
        sent = sorted(d.sent_at for d in store.iter_requests(campaign_id) if d.sent_at is not None)
    assert len(sent) == 6
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1.0, gaps


def test_a_waiting_worker_wakes_when_requests_arrive(postgres_url: str, tmp_path: Path) -> None:
    """A dispatcher with nothing to do sleeps on LISTEN: a request added by another process
    is sent at once, not at the next poll a minute later."""
    outbox = tmp_path / "outbox"
    with open_db(postgres_url) as store:
        service = rk.CampaignService(store, rk.SystemClock())
        service.create(
            rk.Actor.system(),
            name="load",
            sender="shop@example.com",
            subject="Hello",
            body="Hello",
            start_at=datetime(2020, 1, 1, tzinfo=UTC),
            mode=rk.CampaignMode.ALWAYS_ON,
        )
        service.schedule(rk.Actor.system(), "load")
    waiting = subprocess.Popen(
        [sys.executable, "-m", "reviewkit", "dispatch", "--db", postgres_url,
         "--outbox", str(outbox), "--poll", "60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        time.sleep(3)  # the worker has found nothing to do and is waiting
        added = time.monotonic()
        with open_db(postgres_url) as store:
            rk.CampaignService(store, rk.SystemClock()).add_recipients(
                rk.Actor.system(), "load", [rk.Recipient(email="late@example.com")]
            )
        while time.monotonic() - added < 30 and _sent_outbox(outbox) == 0:
            time.sleep(0.05)
        took = time.monotonic() - added
    finally:
        waiting.send_signal(signal.SIGTERM)
        _, err = waiting.communicate(timeout=30)
    assert _sent_outbox(outbox) == 1, err
    assert took < 10, took


def test_two_hosts_upgrading_at_once_migrate_once(postgres: pg_server.Server) -> None:
    """Stores opened at the same moment on an empty database: one creates the schema, the
    others wait for it and find it done."""
    url = postgres.create_database("migrate_race")
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            PostgresStore(url, pool_size=1).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with PostgresStore(url) as store:
        assert store.schema_version == SCHEMA_VERSION


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    """A database written by a newer reviewkit is not touched."""
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute("UPDATE reviewkit_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(rk.StorageError, match="newer than this reviewkit"):
        PostgresStore(postgres_url)


def test_an_unreachable_server_is_a_clear_error() -> None:
    """No server at the address: a StorageError naming it, without the password."""
    with pytest.raises(rk.StorageError, match=r"postgresql://shop:\*\*\*@127\.0\.0\.1") as caught:
        PostgresStore("postgresql://shop:secret@127.0.0.1:1/reviewkit", timeout=1)
    assert "secret" not in str(caught.value)


def test_the_command_line_runs_on_a_url(postgres_url: str, tmp_path: Path) -> None:
    """campaign create, import, dispatch and requests list with --db postgresql://…"""
    csv = tmp_path / "orders.csv"
    csv.write_text("email,name,transaction_id\na@example.com,A,T1\nb@example.com,B,T2\n")
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}, how was it?")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reviewkit", *args, "--db", postgres_url],
            capture_output=True,
            text=True,
            timeout=120,
        )

    start = datetime(2020, 1, 6, 9, tzinfo=UTC).isoformat()
    steps = [
        ("campaign", "create", "--name", "orders", "--from", "shop@example.com",
         "--subject", "How was it?", "--body-file", str(body), "--start", start,
         "--hours", "00:00-24:00", "--days", "mon-sun"),
        ("import", str(csv), "--campaign", "orders"),
        ("campaign", "schedule", "orders"),
        ("dispatch", "--outbox", str(tmp_path / "outbox"), "--until-idle", "--max-wait", "5s"),
    ]  # fmt: skip
    for step in steps:
        done = run(*step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    listed = run("requests", "list", "--campaign", "orders", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count('"status": "sent"') == 2, listed.stdout
    assert len(message_ids(tmp_path / "outbox")) == 2


def test_the_command_line_reports_an_unreachable_server_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reviewkit", "requests", "list",
         "--db", "postgresql://shop:secret@127.0.0.1:1/reviewkit", "--busy-timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot connect to PostgreSQL" in done.stderr
    assert "secret" not in done.stderr


def test_claims_scores_and_alerts_read_indexes(postgres_url: str) -> None:
    """With statistics gathered over many requests and answers, a claim walks the due index,
    a score reads primary-key ranges of the rollups, and an alert rule's reads use indexes:
    never a whole table."""
    import json

    from reviewkit.adapters.postgres.store import QUERIES, _psycopg_sql

    with PostgresStore(postgres_url) as store:
        busy = store.add_campaign(rk.Campaign(name="busy"))
        quiet = store.add_campaign(rk.Campaign(name="quiet"))
        requests = [
            rk.Request(
                campaign_id=(busy if n % 10 else quiet).id,
                recipient=rk.Recipient(email=f"c{n}@example.com", segment=f"s{n % 7}"),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
            )
            for n in range(20_000)
        ]
        store.add_requests(requests)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        with store.transaction():
            for n, request in enumerate(requests[:5_000]):
                store.add_answer(
                    rk.Answer(
                        request_id=request.id,
                        campaign_id=request.campaign_id,
                        kind=rk.SurveyType.NPS,
                        score=n % 11,
                        at=start + timedelta(minutes=37 * n),
                        segment=request.recipient.segment,
                    )
                )
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute("ANALYZE")

        def plan(sql: str, params: dict[str, object] | tuple[object, ...]) -> str:
            rows = raw.execute(("EXPLAIN " + _psycopg_sql(sql)).encode(), params).fetchall()
            return " | ".join(row[0] for row in rows)

        claim = plan(
            QUERIES.CLAIM_DUE,
            {"campaign": quiet.id, "now": 0, "limit": 100, "worker": "w", "lease": 1},
        )
        assert "deliveries_due" in claim, claim
        assert "Seq Scan" not in claim, claim
        ranges = json.dumps([[0, 2**62]])
        rollups = plan(
            QUERIES.ROLLUP_SUMS.format(group="a.segment_key", filters=""),
            {"ranges": ranges, "kind": "nps", "span": 86_400_000_000},
        )
        assert "answer_rollups_pkey" in rollups, rollups
        assert "Seq Scan" not in rollups, rollups
        # What alert rules read: a group's newest answers, the answers since a time, and the
        # notifications that are due.
        recent = plan(
            QUERIES.RECENT_ANSWERS.format(
                group="a.segment",
                group_match="a.segment = CAST(:group AS text)",
                join="",
                where="a.at >= :since",
            ),
            {"kind": "nps", "group": "s3", "since": 0, "limit": 20},
        )
        assert "answers_by_segment" in recent, recent
        since = plan(QUERIES.ANSWERS_SINCE, (2**62, 100))
        assert "Seq Scan" not in since, since
        raw.execute("SET enable_seqscan = off")  # the outbox is empty here: could it use one?
        due = plan(QUERIES.DUE_NOTIFICATIONS, {"now": 0, "limit": 100})
        assert "alert_notifications_due" in due, due


def test_a_notice_before_the_first_sleep_still_wakes_it(postgres_url: str) -> None:
    """The clock listens from the moment it is made: requests added by another process
    before its first sleep end that sleep at once, instead of at the lease's end."""
    from reviewkit.adapters.postgres import NotifiedClock

    with PostgresStore(postgres_url) as mine, PostgresStore(postgres_url) as theirs:
        clock = NotifiedClock(mine)
        campaign = theirs.add_campaign(rk.Campaign(name="c"))
        theirs.add_requests(
            [rk.Request(campaign_id=campaign.id, recipient=rk.Recipient(email="a@example.com"),
                        channel=rk.Channel.EMAIL, address="a@example.com")]
        )  # fmt: skip
        started = time.monotonic()
        clock.sleep_until(clock.now() + timedelta(seconds=30))
        assert time.monotonic() - started < 5
        started = time.monotonic()  # and nothing is left over to wake the next sleep
        clock.sleep_until(clock.now() + timedelta(seconds=1))
        assert time.monotonic() - started >= 0.9
