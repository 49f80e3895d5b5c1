"""The command line's logs: quiet by default, `-v`/`--log-level` for what is done,
`--log-format json` for a collector, and no secret in them at any level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import reviewkit as rk

from .smtp_server import PASSWORD, USER, smtp_server

LINK_SECRET = "a-link-secret-nobody-may-read"


def _campaign(db: Path) -> None:
    with rk.SQLiteStore(db) as store:
        service = rk.CampaignService(store, rk.SystemClock())
        actor = rk.Actor.system()
        service.create(
            actor,
            name="spring",
            sender="opinie@sklep.example",
            subject="How was it?",
            body="Hello {{ recipient.name }}: {{ links.unsubscribe }}",
            unsubscribe_url="https://sklep.example/u/{token}",
            start_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        service.add_recipients(
            actor,
            "spring",
            [rk.Recipient(email=f"c{n}@example.com", name=f"C{n}") for n in range(3)],
        )
        rk.SuppressionService(store, rk.SystemClock()).suppress("c2@example.com")
        service.schedule(actor, "spring")


def _dispatch(db: Path, port: int, *options: str) -> subprocess.CompletedProcess[str]:
    url = f"smtp+insecure://{USER}@127.0.0.1:{port}?from=opinie@sklep.example"
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", "dispatch", "--db", str(db), "--smtp", url,
         "--until-idle", "--max-wait", "1s", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "REVIEWKIT_SMTP_PASSWORD": PASSWORD,
            "REVIEWKIT_LINK_KEYS": f"k1:{LINK_SECRET}",
        },
    )  # fmt: skip


def test_quiet_by_default_and_what_is_done_with_v(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    _campaign(db)
    with smtp_server(auth=True) as (handler, port):
        quiet = _dispatch(db, port)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert len(handler.messages) == 2
    db2 = tmp_path / "r2.sqlite3"
    _campaign(db2)
    with smtp_server(auth=True) as (_, port):
        told = _dispatch(db2, port, "-vv")
    assert told.returncode == 0, told.stderr
    assert "claimed 3 request(s) of campaign 'spring'" in told.stderr
    assert "not sent: unsubscribed" in told.stderr
    assert told.stderr.count(" sent\n") == 2
    for secret in (PASSWORD, LINK_SECRET):
        assert secret not in told.stderr
    assert "c0@example.com" not in told.stderr  # requests are named by id in the logs


def test_json_lines_for_a_collector(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    _campaign(db)
    with smtp_server(auth=True) as (_, port):
        done = _dispatch(db, port, "--log-level", "debug", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert entries
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["logger"] == "reviewkit.dispatch" and e["level"] == "info" for e in entries)
    datetime.fromisoformat(entries[0]["time"])
    assert PASSWORD not in done.stderr
    assert LINK_SECRET not in done.stderr
