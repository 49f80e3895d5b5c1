"""`reviewkit report` from the shell: a definition read from JSON with errors that name the
file and the reason, a rendered HTML file, and due reports sent once into a real Maildir —
by `report send-due` and by `dispatch`."""

from __future__ import annotations

import email
import json
import mailbox
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.cli import main


def _cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--db", str(db)])
    out, err = capsys.readouterr()
    return code, out, err


def _definition(tmp_path: Path, **changes: object) -> Path:
    data: dict[str, object] = {
        "name": "daily",
        "title": "Daily feedback",
        "metrics": ["nps", "funnel", "league", "comments"],
        "recurrence": {"every": "day", "at": "00:00"},
        "recipients": [
            {
                "address": "anna@shop.example",
                "name": "Anna",
                "scope": {"label": "Kraków", "segments": ["krk-1"]},
                "timezone": "UTC",
            },
            {"address": "ceo@shop.example", "timezone": "UTC", "language": "pl"},
        ],
        "min_sample": 1,
        # Made long ago: the latest scheduled time (today 00:00 UTC) is due at once.
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    data.update(changes)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _seed(db: Path) -> None:
    """Yesterday's answers (the day a daily report sent today covers)."""
    yesterday = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)
    with SQLiteStore(db) as store:
        campaign = store.add_campaign(rk.Campaign(name="nps"))
        for n, (segment, score) in enumerate([("krk-1", 10), ("krk-1", 3), ("waw-1", 9)]):
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email=f"c{n}@example.com", segment=segment),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
                status=rk.RequestStatus.SENT,
                sent_at=yesterday - timedelta(hours=1),
            )
            store.add_requests([request])
            store.add_answer(
                rk.Answer(
                    request_id=request.id,
                    campaign_id=campaign.id,
                    kind=rk.SurveyType.NPS,
                    score=score,
                    comment=f"comment {n}",
                    at=yesterday + timedelta(minutes=n),
                    segment=segment,
                )
            )
            store.record_engagement(request.id, rk.Engagement.ANSWERED, yesterday)


def test_add_list_replace_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A report is added from JSON, listed, refused a second time unless replaced, removed."""
    db = tmp_path / "r.sqlite3"
    path = _definition(tmp_path)
    assert _cli(capsys, db, "report", "add", str(path))[:2] == (
        0,
        "report 'daily' added (2 recipients)\n",
    )
    code, _, err = _cli(capsys, db, "report", "add", str(path))
    assert (code, err.strip()) == (1, "reviewkit: error: a report named 'daily' already exists")
    _definition(tmp_path, recipients=[{"address": "x@shop.example"}])
    code, out, _ = _cli(capsys, db, "report", "add", str(path), "--replace")
    assert (code, out.strip()) == (0, "report 'daily' replaced (1 recipients)")
    code, out, _ = _cli(capsys, db, "report", "list", "--format", "json")
    (listed,) = json.loads(out)
    assert (listed["name"], listed["schedule"], listed["recipients"]) == (
        "daily",
        "daily at 00:00",
        1,
    )
    assert _cli(capsys, db, "report", "remove", "daily")[0] == 0
    code, out, _ = _cli(capsys, db, "report", "list", "--format", "json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metrics": ["nps", "mood"]}, "unknown report metric 'mood'"),
        ({"recipients": [{"address": "a@x.pl", "timezone": "Mars/Base"}]}, "Mars/Base"),
        ({"recurrence": {"every": "year"}}, "expected Period @ $.recurrence.every"),
        ({"recurrence": {"at": "25:00"}}, "expected time @ $.recurrence.at"),
        ({"name": ""}, "needs a name"),
    ],
)
def test_a_bad_definition_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, object], message: str
) -> None:
    """A definition that cannot be read is refused with the file and the reason, exit 1."""
    db = tmp_path / "r.sqlite3"
    path = _definition(tmp_path, **changes)
    code, _, err = _cli(capsys, db, "report", "add", str(path))
    assert code == 1
    assert err.startswith(f"reviewkit: error: {path}: ")
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_not_json_and_missing_file_are_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not JSON, and one that is not there: one line each."""
    db = tmp_path / "r.sqlite3"
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    code, _, err = _cli(capsys, db, "report", "add", str(bad))
    assert code == 1
    assert "not JSON" in err
    code, _, err = _cli(capsys, db, "report", "add", str(tmp_path / "none.json"))
    assert (code, "no such file" in err) == (1, True)


def test_render_writes_a_standalone_html_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report render` writes one recipient's report, images inside the file."""
    db = tmp_path / "r.sqlite3"
    _seed(db)
    _cli(capsys, db, "report", "add", str(_definition(tmp_path)))
    out_file = tmp_path / "anna.html"
    code, out, _ = _cli(
        capsys, db, "report", "render", "daily", "--recipient", "anna@shop.example",
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0
    assert "Daily feedback: Kraków" in out
    page = out_file.read_text(encoding="utf-8")
    assert "comment 1" in page  # the worst comment of her store
    assert "comment 2" not in page  # another store's
    assert "cid:" not in page
    code, _, err = _cli(
        capsys, db, "report", "render", "daily", "--out", str(tmp_path / "no" / "x.html")
    )
    assert (code, "does not exist" in err) == (1, True)


def _maildir_messages(box: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(m.as_bytes()) for m in mailbox.Maildir(box)]


def test_send_due_sends_each_report_once_into_a_maildir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Due reports go out once per recipient and period; a second run sends nothing."""
    db = tmp_path / "r.sqlite3"
    box = tmp_path / "outbox"
    _seed(db)
    _cli(capsys, db, "report", "add", str(_definition(tmp_path)))
    code, out, _ = _cli(capsys, db, "report", "send-due", "--outbox", str(box), "--format", "json")
    assert code == 0
    assert json.loads(out) == {"planned": 2, "sent": 2, "failed": 0, "retried": 0}
    code, out, _ = _cli(capsys, db, "report", "send-due", "--outbox", str(box))
    assert (code, out.strip()) == (0, "planned 0, sent 0, failed 0, retried 0")
    messages = _maildir_messages(box)
    assert sorted(m["To"] for m in messages) == ["anna@shop.example", "ceo@shop.example"]
    for message in messages:
        assert message.get_content_type() == "multipart/mixed"
        assert any((p.get_filename() or "").endswith(".csv") for p in message.walk())


def test_dispatch_sends_due_reports(tmp_path: Path) -> None:
    """`reviewkit dispatch` sends due reports between its passes (a real process)."""
    db = tmp_path / "r.sqlite3"
    box = tmp_path / "outbox"
    _seed(db)
    assert main(["report", "add", str(_definition(tmp_path)), "--db", str(db)]) == 0
    done = subprocess.run(
        [
            sys.executable, "-m", "reviewkit", "dispatch", "--db", str(db), "--outbox", str(box),
            "--until-idle", "--max-wait", "0s", "--alerts-every", "off",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "reports: 2 sent, 0 failed" in done.stdout
    assert len(_maildir_messages(box)) == 2
