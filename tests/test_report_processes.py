"""Reports under real concurrency and faults: `reviewkit report send-due` as several processes
at once, and one killed with SIGKILL mid-batch, against a real SQLite file and a real SMTP
server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from reviewkit.domain.reports import ReportRunStatus
from tests.smtp_server import smtp_server

RECIPIENTS = 6


def _shop(db: Path, tmp_path: Path) -> None:
    """Yesterday's answers, and a daily report due now for six store managers."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with rk.SQLiteStore(db) as store:
        campaign = store.add_campaign(rk.Campaign(name="c"))
        for n in range(RECIPIENTS * 3):
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email=f"c{n}@example.com", segment=f"s{n % RECIPIENTS}"),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
            )
            store.add_requests([request])
            store.add_answer(
                rk.Answer(
                    request_id=request.id,
                    campaign_id=campaign.id,
                    kind=rk.SurveyType.NPS,
                    score=n % 11,
                    at=yesterday.replace(hour=12),
                    segment=f"s{n % RECIPIENTS}",
                )
            )
    definition = {
        "name": "daily",
        "recurrence": {"every": "day", "at": "00:00"},
        "recipients": [
            {"address": f"m{k}@shop.example", "scope": {"label": f"s{k}", "segments": [f"s{k}"]}}
            for k in range(RECIPIENTS)
        ],
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    path = tmp_path / "daily.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    subprocess.run(_cli(db, "report", "add", str(path)), check=True, capture_output=True)


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reviewkit", *args, "--db", str(db)]


def _ids(received: list[tuple[str, list[str], bytes]]) -> list[str]:
    return [
        email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]
        for _, _, raw in received
    ]


def test_three_senders_at_once_send_each_report_once(tmp_path: Path) -> None:
    """Three `report send-due` processes started together: every manager gets one report."""
    db = tmp_path / "shop.sqlite3"
    _shop(db, tmp_path)
    with smtp_server() as (handler, port):
        handler.data_delay = 0.2
        smtp = ["--smtp", f"smtp+insecure://127.0.0.1:{port}?from=reports@shop.example"]
        workers = [
            subprocess.Popen(
                _cli(db, "report", "send-due", *smtp, "--no-charts", "--format", "json"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [w.communicate(timeout=120) for w in workers]
        received = list(handler.messages)
    assert all(w.returncode == 0 for w in workers), outputs
    summaries = [json.loads(out) for out, _ in outputs]
    assert sum(s["planned"] for s in summaries) == RECIPIENTS
    assert sum(s["sent"] for s in summaries) == RECIPIENTS
    recipients = sorted(rcpt for _, rcpts, _ in received for rcpt in rcpts)
    assert recipients == sorted(f"m{k}@shop.example" for k in range(RECIPIENTS))
    assert len(set(_ids(received))) == RECIPIENTS


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_the_report_in_flight(
    tmp_path: Path,
) -> None:
    """A server that takes a second per message: SIGKILL the sender while it sends; once its
    lease runs out a second sender sends the rest. Every manager gets the report; only the
    one in flight at the kill may arrive twice, with the same Message-ID."""
    db = tmp_path / "shop.sqlite3"
    _shop(db, tmp_path)
    with smtp_server() as (handler, port):
        handler.data_delay = 1.0
        smtp = ["--smtp", f"smtp+insecure://127.0.0.1:{port}?from=reports@shop.example"]
        first = subprocess.Popen(
            _cli(db, "report", "send-due", *smtp, "--no-charts", "--lease", "4s"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        deadline = time.monotonic() + 30
        while not handler.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        arrived_before = len(handler.messages)
        assert 1 <= arrived_before < RECIPIENTS
        time.sleep(4.5)  # the dead sender's lease runs out
        second = subprocess.run(
            _cli(db, "report", "send-due", *smtp, "--no-charts"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        time.sleep(1.2)  # the in-flight message of the killed sender lands too
        received = list(handler.messages)
    recipients = {rcpt for _, rcpts, _ in received for rcpt in rcpts}
    assert recipients == {f"m{k}@shop.example" for k in range(RECIPIENTS)}
    ids = _ids(received)
    repeated = len(ids) - len(set(ids))
    print(f"[killed report sender] messages {len(ids)}, repeated {repeated}")
    assert repeated <= 1
    with rk.SQLiteStore(db) as store:
        assert {r.status for r in store.list_report_runs()} == {ReportRunStatus.SENT}
