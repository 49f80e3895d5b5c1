"""Campaigns from the shell alone: list, show why requests failed, retry them, delete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .smtp_server import smtp_server


def reviewkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True, timeout=120
    )


def ok(*args: str, status: int = 0) -> str:
    done = reviewkit(*args)
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_list_show_reasons_retry_and_delete_from_the_shell(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "r.sqlite3")]
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "email,name\nala@example.com,Ala\nola@example.com,Ola\nghost@example.com,Ghost\n",
        encoding="utf-8",
    )
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}")
    settings = ["--from", "opinie@sklep.example", "--subject", "How was it?"]
    settings += ["--body-file", str(body), "--timezone", "Europe/Warsaw"]
    ok("campaign", "create", "--name", "spring", *settings, *db)
    ok("import", str(rows), "--campaign", "spring", *db)
    ok("campaign", "schedule", "spring", "--start", "2020-01-01T09:00", *db)
    with smtp_server() as (handler, port):
        handler.rcpt_replies["ghost@example.com"] = "550 5.1.1 no such user"
        url = f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example"
        out = ok("dispatch", "--smtp", url, "--until-idle", *db, status=3)  # requests failed
        assert "sent 2, failed 1" in out
        assert len(handler.messages) == 2

        listed = json.loads(ok("campaign", "list", "--format", "json", *db))
        (spring,) = listed
        assert (spring["name"], spring["status"]) == ("spring", "completed")
        assert (spring["counts"]["sent"], spring["counts"]["failed"]) == (2, 1)
        assert spring["next_due"] is None
        table = ok("campaign", "list", *db)
        assert table.splitlines()[0].split()[:3] == ["name", "status", "channel"]
        assert "spring" in table.splitlines()[1]

        shown = ok("campaign", "show", "spring", *db)
        assert "why requests did not go out:" in shown
        assert "1  failed" in shown
        assert "550 5.1.1 no such user" in shown
        reasons = json.loads(ok("campaign", "show", "spring", "--format", "json", *db))["reasons"]
        assert reasons == [{"status": "failed", "reason": reasons[0]["reason"], "count": 1}]
        assert "550" in reasons[0]["reason"]

        handler.rcpt_replies.clear()  # the mailbox exists now
        out = ok("campaign", "retry-failed", "spring", *db)
        assert "1 failed requests back in the queue" in out
        out = ok("dispatch", "--smtp", url, "--until-idle", *db)
        assert "sent 1, failed 0" in out
        assert len(handler.messages) == 3

    out = ok("campaign", "delete", "spring", *db)
    assert "deleted campaign 'spring' and its 3 requests" in out
    assert json.loads(ok("campaign", "list", "--format", "json", *db)) == []


def test_requests_list_and_export_say_why_a_request_failed(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "r.sqlite3")]
    body = tmp_path / "body.txt"
    body.write_text("Hello")
    ok("campaign", "create", "--name", "c", "--from", "opinie@sklep.example", "--subject", "Hi",
       "--body-file", str(body), "--start", "2020-01-01T00:00", *db)  # fmt: skip
    ok("campaign", "add-recipient", "c", "--email", "ghost@example.com", *db)
    ok("campaign", "add-recipient", "c", "--email", "ala@example.com", *db)
    ok("campaign", "schedule", "c", *db)
    with smtp_server() as (handler, port):
        handler.rcpt_replies["ghost@example.com"] = "550 5.1.1 no such user"
        ok("dispatch", "--smtp", f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example",
           "--until-idle", *db, status=3)  # fmt: skip
    since = ["--since", "2000-01-01", "--category", "all"]
    table = ok("requests", "list", *since, *db)
    assert table.splitlines()[0].split()[-1] == "reason"
    assert "550 5.1.1 no such user" in table
    rows = json.loads(ok("requests", "list", *since, "--format", "json", *db))["rows"]
    reasons = {row["email"]: row["reason"] for row in rows}
    assert "550 5.1.1 no such user" in reasons["ghost@example.com"]
    assert reasons["ala@example.com"] == ""
    ok("requests", "export", *since, "--output", str(tmp_path / "out.csv"), *db)
    exported = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "550 5.1.1 no such user" in exported


def test_a_test_send_reaches_the_operator_and_changes_nothing(tmp_path: Path) -> None:
    """`campaign test-send` renders the message for a sample recipient and sends it, marked
    [TEST], through a real SMTP server; no request is created; a mistake is one line."""
    db = ["--db", str(tmp_path / "r.sqlite3")]
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}, order {{ recipient.transaction_id }}")
    settings = ["--from", "opinie@sklep.example", "--subject", "How was order "
                "{{ recipient.transaction_id }}?", "--body-file", str(body)]  # fmt: skip
    ok("campaign", "create", "--name", "spring", *settings, *db)
    with smtp_server() as (handler, port):
        url = f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example"
        out = ok("campaign", "test-send", "spring", "--to", "me@sklep.example", "--smtp", url, *db)
    assert out.strip() == "test message '[TEST] How was order TEST?' sent to me@sklep.example"
    ((_, recipients, raw),) = handler.messages
    assert recipients == ["me@sklep.example"]
    assert b"Subject: [TEST] How was order TEST?" in raw
    assert b"X-Reviewkit-Test: yes" in raw
    listed = json.loads(ok("campaign", "list", "--format", "json", *db))
    assert sum(listed[0]["counts"].values()) == 0
    missing = reviewkit("campaign", "test-send", "autumn", "--to", "me@sklep.example",
                        "--outbox", str(tmp_path / "out"), *db)  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    assert "autumn" in missing.stderr
    bad = reviewkit("campaign", "test-send", "spring", "--to", "not an address",
                    "--outbox", str(tmp_path / "out"), *db)  # fmt: skip
    assert bad.returncode == 1
    assert "not valid" in bad.stderr


def test_times_are_shown_in_the_zone_asked_for(tmp_path: Path) -> None:
    """`requests list` labels its times with the zone; the export carries the offset."""
    db = ["--db", str(tmp_path / "r.sqlite3")]
    ok("campaign", "create", "--name", "winter", "--timezone", "Europe/Warsaw", *db)
    ok("request", "send", "--campaign", "winter", "--email", "ala@example.com",
       "--transaction", "Z-1", "--at", "2026-01-20T08:30:00+00:00", *db)  # fmt: skip
    table = ok("requests", "list", "--campaign", "winter", "--timezone", "Europe/Warsaw", *db)
    assert "2026-01-20 09:30 CET" in table
    in_utc = ok("requests", "list", "--campaign", "winter", "--timezone", "UTC", *db)
    assert "2026-01-20 08:30 UTC" in in_utc
    out = tmp_path / "requests.csv"
    ok("requests", "export", "--campaign", "winter", "--timezone", "Europe/Warsaw",
       "--output", str(out), *db)  # fmt: skip
    assert "2026-01-20T09:30:00+01:00" in out.read_text(encoding="utf-8-sig")


def test_edit_changes_only_the_settings_given(tmp_path: Path) -> None:
    """`campaign edit` changes what it is given and keeps every other setting; a completed
    campaign, an empty edit and bad values are one-line refusals that change nothing."""
    from reviewkit.adapters.sqlite import SQLiteStore

    db = ["--db", str(tmp_path / "r.sqlite3")]
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}")
    ok("campaign", "create", "--name", "spring", "--from", "opinie@sklep.example",
       "--subject", "How was it?", "--body-file", str(body), "--timezone", "Europe/Warsaw",
       "--days", "mon-fri", "--hours", "09:00-17:00", "--holidays", "PL", *db)  # fmt: skip
    made = json.loads(ok("campaign", "create", "--name", "autumn", "--format", "json", *db))
    assert (made["name"], made["status"], made["timezone"]) == ("autumn", "draft", "UTC")
    out = ok("campaign", "edit", "spring", "--subject", "And now?", "--interval", "45s",
             "--holidays", "none", "--reminder", "2d", "--reminders", "2", "--survey", "csat",
             "--privacy-url", "https://sklep.example/p", "--answer-url",
             "https://sklep.example/a/{token}", "--start", "2026-03-02T09:00", *db)  # fmt: skip
    assert out.startswith("edited campaign 'spring' (draft): ")
    with SQLiteStore(tmp_path / "r.sqlite3") as store:
        campaign = store.get_campaign("spring")
    assert (campaign.subject, campaign.body) == ("And now?", "Hello {{ recipient.name }}")
    assert campaign.interval.total_seconds() == 45
    assert campaign.window.holidays is None
    assert sorted(campaign.window.weekdays) == [0, 1, 2, 3, 4]  # kept
    assert campaign.reminder is not None
    assert (campaign.reminder.after.days, campaign.reminder.count) == (2, 2)
    assert campaign.survey is not None
    assert (campaign.survey.type.value, campaign.survey.expiry_days) == ("csat", 7)
    assert campaign.start_at is not None
    assert campaign.start_at.isoformat() == "2026-03-02T08:00:00+00:00"  # Warsaw's 09:00
    edited = json.loads(
        ok("campaign", "edit", "spring", "--reminder", "off", "--expiry-days", "3",
           "--format", "json", *db)
    )  # fmt: skip
    assert (edited["name"], edited["status"], edited["reminder"]) == ("spring", "draft", None)
    assert edited["survey"]["expiry_days"] == 3
    with SQLiteStore(tmp_path / "r.sqlite3") as store:
        again = store.get_campaign("spring")
    assert again.reminder is None
    assert again.survey is not None
    assert (again.survey.type.value, again.survey.expiry_days) == ("csat", 3)

    for bad, words in [
        ([], "nothing to change"),
        (["--timezone", "Mars/Base"], "Mars/Base"),
        (["--interval", "soon"], "soon"),
        (["--hours", "17:00-09:00"], "17:00-09:00"),
    ]:
        done = reviewkit("campaign", "edit", "spring", *bad, *db)
        assert done.returncode == 1, bad
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert words in done.stderr
    ok("campaign", "cancel", "spring", *db)
    done = reviewkit("campaign", "edit", "spring", "--subject", "Too late", *db)
    assert done.returncode == 1
    assert "can no longer be edited" in done.stderr
    with SQLiteStore(tmp_path / "r.sqlite3") as store:
        assert store.get_campaign("spring").subject == "And now?"


def test_dispatch_says_what_it_waits_for_in_the_campaigns_time(tmp_path: Path) -> None:
    """`dispatch` tells on standard error what it waits for before a long wait (in the
    campaign's local time); `--until-idle` ends with a `next:` line and JSON `next`; a
    SIGTERM while waiting stops it cleanly."""
    import signal
    from datetime import datetime, timedelta

    from reviewkit.domain.window import load_zone

    db = ["--db", str(tmp_path / "r.sqlite3")]
    body = tmp_path / "body.txt"
    body.write_text("Hello")
    warsaw = load_zone("Europe/Warsaw")
    tomorrow = datetime.now(warsaw).date() + timedelta(days=1)
    day = tomorrow.strftime("%a").lower()  # open only tomorrow: shut all of today
    ok("campaign", "create", "--name", "spring", "--from", "opinie@sklep.example",
       "--subject", "Hi", "--body-file", str(body), "--timezone", "Europe/Warsaw",
       "--days", day, "--hours", "09:00-17:00", *db)  # fmt: skip
    ok("campaign", "add-recipient", "spring", "--email", "ala@example.com", *db)
    (draft,) = json.loads(ok("campaign", "list", "--format", "json", *db))
    assert draft["next_send"] is None  # a draft sends nothing until scheduled
    ok("campaign", "schedule", "spring", "--start", "2020-01-01T09:00", *db)
    opening = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=warsaw)
    (scheduled,) = json.loads(ok("campaign", "list", "--format", "json", *db))
    assert scheduled["next_send"] == opening.isoformat()
    assert f"{opening:%Y-%m-%d %H:%M %Z}" in ok("campaign", "list", *db)
    said = f"campaign 'spring': window shut, next opening {opening:%a %Y-%m-%d %H:%M %Z}"

    out = ok("dispatch", "--outbox", str(tmp_path / "out"), "--until-idle", *db)
    assert out.splitlines()[-1] == f"next: {said}"
    summary = json.loads(
        ok("dispatch", "--outbox", str(tmp_path / "out"), "--until-idle", "--format", "json", *db)
    )
    assert summary["next"] == {
        "campaign": "spring", "reason": "window", "at": opening.isoformat()
    }  # fmt: skip

    with subprocess.Popen(
        [sys.executable, "-m", "reviewkit", "dispatch", "--outbox", str(tmp_path / "out"), *db],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        assert worker.stderr is not None
        line = worker.stderr.readline()
        assert line == f"dispatch: waiting: {said}\n"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 143
        assert "stopped by SIGTERM" in worker.stderr.read()
