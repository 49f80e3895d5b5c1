"""`reviewkit alerts` and `reviewkit tasks` from the shell: rules from a file, evaluation over a
real SQLite file, notifications delivered as e-mails a mail client parses, silences, tasks
with a people file, and one clear line for every mistake."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.cli import main

NPS = rk.SurveyType.NPS


def _run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def _answers(db: Path, scores: list[int], comment: str = "The parcel was late") -> None:
    """Answers as the answer page in another process would have stored them."""
    now = datetime.now(UTC)
    with rk.SQLiteStore(db) as store:
        campaign = store.add_campaign(rk.Campaign(name=f"c{len(scores)}", created_at=now))
        for n, score in enumerate(scores):
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(
                    email=f"c{n}@example.com",
                    name=f"Customer {n}",
                    transaction_id=f"O-{n}",
                    segment="vip",
                ),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
            )
            store.add_requests([request])
            store.add_answer(
                rk.Answer(
                    request_id=request.id,
                    campaign_id=campaign.id,
                    kind=NPS,
                    score=score,
                    comment=comment,
                    at=now - timedelta(hours=1),
                    segment="vip",
                )
            )


def test_from_rules_to_an_e_mail_in_the_maildir(tmp_path: Path) -> None:
    """Rules added from a file fire on stored answers at `alerts evaluate`; `alerts deliver`
    writes one e-mail per receiver that the email package parses, with the comment; a second
    evaluate and deliver send nothing more."""
    db = tmp_path / "shop.sqlite3"
    _answers(db, [1, 9])
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            [
                {
                    "kind": "AnswerRule",
                    "name": "angry customer",
                    "survey": "nps",
                    "labels": {"team": "care"},
                },
                {
                    "kind": "LevelRule",
                    "name": "low vip",
                    "survey": "nps",
                    "worse_than": 0,
                    "window": 604800,
                    "by": "segment",
                },
            ]
        )
    )
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps([{"receiver": "care", "matchers": {"team": "care"}}]))
    added = _run("alerts", "rules", "add", str(rules), db=db)
    assert (added.returncode, added.stdout.strip()) == (0, "added 2 rules"), added.stderr
    evaluated = _run("alerts", "evaluate", "--routes", str(routes), "--format", "json", db=db)
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert [a["rule"] for a in result["fired"]] == ["angry customer"]
    listed = _run("alerts", "list", "--state", "firing", db=db)
    assert "angry customer" in listed.stdout
    outbox = tmp_path / "outbox"
    sent = _run(
        "alerts",
        "deliver",
        "--outbox",
        str(outbox),
        "--to",
        "care=care@shop.example",
        "--from",
        "Alerts <alerts@shop.example>",
        db=db,
    )
    assert (sent.returncode, sent.stdout.strip()) == (0, "1 notification delivered"), sent.stderr
    (raw,) = [bytes(m) for m in mailbox.Maildir(outbox, create=False)]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "care@shop.example"
    assert message["Subject"] == "[FIRING] angry customer (team=care)"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert 'Comment: "The parcel was late"' in body.get_content()
    again = _run("alerts", "evaluate", "--routes", str(routes), db=db)
    assert again.stdout.startswith("0 fired"), again.stdout
    none = _run("alerts", "deliver", "--outbox", str(outbox), "--to", "care=c@shop.example", db=db)
    assert none.stdout.strip() == "0 notifications delivered"


def test_dispatch_evaluates_alerts_and_mails_them_with_its_own_transport(tmp_path: Path) -> None:
    """`reviewkit dispatch` with rules in the database and `--alert-to` evaluates them and
    writes the notification into the same Maildir as the requests, once; `--alerts-every off`
    leaves the rules alone; a bad interval is one line."""
    db = tmp_path / "shop.sqlite3"
    _answers(db, [2])
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"kind": "AnswerRule", "name": "angry", "survey": "nps"}))
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps([{"receiver": "care"}]))
    assert _run("alerts", "rules", "add", str(rules), db=db).returncode == 0
    outbox = tmp_path / "outbox"
    off = _run("dispatch", "--outbox", str(outbox), "--until-idle", "--alerts-every", "off", db=db)
    assert off.returncode == 0, off.stderr
    assert "alerts" not in off.stdout, off.stdout
    dispatch = [
        "dispatch", "--outbox", str(outbox), "--until-idle", "--alert-routes", str(routes),
        "--alert-to", "care=care@shop.example", "--alert-from", "alerts@shop.example",
    ]  # fmt: skip
    first = _run(*dispatch, db=db)
    assert first.returncode == 0, first.stderr
    assert "alerts: 1 fired, 0 resolved, 1 notification delivered" in first.stdout
    again = _run(*dispatch, db=db)
    assert "alerts: 0 fired, 0 resolved, 0 notifications delivered" in again.stdout
    (raw,) = [bytes(m) for m in mailbox.Maildir(outbox, create=False)]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert (message["To"], message["Subject"]) == ("care@shop.example", "[FIRING] angry")
    bad = _run("dispatch", "--outbox", str(outbox), "--until-idle", "--alerts-every", "0s", db=db)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "--alerts-every" in bad.stderr, bad.stderr


def test_dispatch_opens_route_tasks_and_escalates_them_to_the_next_person(
    tmp_path: Path,
) -> None:
    """With `--alert-people`, a route's `task_within` opens a task for its receiver when the
    alert fires; once overdue, the next `dispatch` escalates it to the person's
    `escalate_to` and mails them an ESCALATED notification, once."""
    db = tmp_path / "shop.sqlite3"
    _answers(db, [1])
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"kind": "AnswerRule", "name": "angry", "survey": "nps"}))
    assert _run("alerts", "rules", "add", str(rules), db=db).returncode == 0
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps([{"receiver": "ola", "task_within": "1s"}]))
    people = tmp_path / "people.json"
    people.write_text(json.dumps([{"name": "ola", "escalate_to": "marta"}, {"name": "marta"}]))
    outbox = tmp_path / "outbox"
    dispatch = [
        "dispatch", "--outbox", str(outbox), "--until-idle", "--alert-routes", str(routes),
        "--alert-people", str(people), "--alert-to", "ola=ola@shop.example",
        "--alert-to", "marta=marta@shop.example", "--format", "json",
    ]  # fmt: skip
    first = _run(*dispatch, db=db)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["tasks_escalated"] == 0
    listed = json.loads(_run("tasks", "list", "--format", "json", db=db).stdout)
    assert [(t["assignee"], t["status"]) for t in listed] == [("ola", "open")]
    time.sleep(1.2)
    second = _run(*dispatch, db=db)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["tasks_escalated"] == 1
    third = _run(*dispatch, db=db)
    assert json.loads(third.stdout)["tasks_escalated"] == 0
    listed = json.loads(_run("tasks", "list", "--format", "json", db=db).stdout)
    assert [t["assignee"] for t in listed] == ["marta"]
    mails = sorted(
        (m["To"], m["Subject"])
        for m in (
            email.message_from_bytes(bytes(raw), policy=email.policy.default)
            for raw in mailbox.Maildir(outbox, create=False)
        )
    )
    assert mails == [
        ("marta@shop.example", "[ESCALATED] angry"),
        ("ola@shop.example", "[FIRING] angry"),
    ]


def test_silences_and_tasks_from_the_shell(tmp_path: Path) -> None:
    """A silence is listed and ended; a task opened for a person in the people file has a
    working-time deadline, is listed, done, and cannot be done twice."""
    db = tmp_path / "shop.sqlite3"
    _answers(db, [9])
    made = _run(
        "alerts",
        "silence",
        "--match",
        "store=Kraków",
        "--for",
        "2h",
        "--by",
        "ola",
        "--comment",
        "refit",
        db=db,
    )
    assert made.returncode == 0, made.stderr
    silence_id = made.stdout.split()[1]
    assert "store=Kraków" in _run("alerts", "silences", db=db).stdout
    assert _run("alerts", "unsilence", silence_id, db=db).returncode == 0
    assert _run("alerts", "silences", db=db).stdout.strip() == "no silences"

    people = tmp_path / "people.json"
    people.write_text(
        json.dumps(
            [
                {
                    "name": "ola",
                    "timezone": "Europe/Warsaw",
                    "days": "mon-fri",
                    "hours": "09:00-17:00",
                    "holidays": "PL",
                    "escalate_to": "marta",
                },
                {"name": "marta", "timezone": "Europe/Warsaw"},
            ]
        )
    )
    opened = _run(
        "tasks",
        "open",
        "--title",
        "Call Ala back",
        "--assignee",
        "ola",
        "--within",
        "4h",
        "--people",
        str(people),
        db=db,
    )
    assert opened.returncode == 0, opened.stderr
    task_id = opened.stdout.split()[1]
    listed = json.loads(_run("tasks", "list", "--format", "json", db=db).stdout)
    assert [(t["id"], t["assignee"], t["status"]) for t in listed] == [(task_id, "ola", "open")]
    assert listed[0]["deadline"] is not None
    done = _run("tasks", "done", task_id, "--by", "ola", "--note", "refunded", db=db)
    assert done.stdout.strip() == f"task {task_id} is done"
    twice = _run("tasks", "done", task_id, "--by", "ola", db=db)
    assert twice.returncode == 1
    assert twice.stderr.strip() == (
        "reviewkit: error: task 'Call Ala back' is done: it cannot become done"
    )


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({"r.json": "{not json"}, ["alerts", "rules", "add", "{tmp}/r.json"], "not JSON"),
        (
            {"r.json": '{"kind": "LevelRule", "name": "x", "survey": "nps"}'},
            ["alerts", "rules", "add", "{tmp}/r.json"],
            "cannot read a LevelRule",
        ),
        ({}, ["alerts", "rules", "add", "{tmp}/missing.json"], "No such file"),
        ({}, ["alerts", "rules", "remove", "nope"], "no alert rule 'nope'"),
        (
            {"routes.json": '[{"matchers": {}}]'},
            ["alerts", "evaluate", "--routes", "{tmp}/routes.json"],
            "route 1: an object with a",
        ),
        (
            {"routes.json": '[{"receiver": "x", "group_wait": "soon"}]'},
            ["alerts", "evaluate", "--routes", "{tmp}/routes.json"],
            "interval 'soon'",
        ),
        (
            {
                "routes.json": json.dumps(
                    [{"receiver": "x", "digest": {"at": "06:00", "hours": "08:00-17:00"}}]
                )
            },
            ["alerts", "evaluate", "--routes", "{tmp}/routes.json"],
            "outside the working hours",
        ),
        ({}, ["alerts", "silence", "--match", "a=b", "--for", "0s"], "positive duration"),
        ({}, ["alerts", "resolve", "nope"], "no alert 'nope'"),
        ({}, ["alerts", "deliver", "--outbox", "{tmp}/o", "--to", "care"], "RECEIVER=ADDRESS"),
        (
            {"p.json": '[{"name": "ola", "timezone": "Mars/Base"}]'},
            ["tasks", "open", "--title", "t", "--assignee", "ola", "--people", "{tmp}/p.json"],
            "person 1: unknown time zone",
        ),
        (
            {"p.json": '[{"name": "ola"}]'},
            ["tasks", "open", "--title", "t", "--assignee", "zoe", "--people", "{tmp}/p.json"],
            "no assignee 'zoe'",
        ),
        ({}, ["tasks", "done", "nope", "--by", "ola"], "no task with id 'nope'"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    """Every mistake is exit 1 and one line naming it, never a traceback."""
    db = tmp_path / "shop.sqlite3"
    rk.SQLiteStore(db).close()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*args, "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("reviewkit: error: ")
    assert message in err


def test_classify_from_the_shell(tmp_path: Path) -> None:
    """`reviewkit classify` cancels and blocklists a wrong address, recalls another request,
    and refuses an unknown classifier in one line."""
    db = tmp_path / "shop.sqlite3"
    now = datetime.now(UTC)
    with rk.SQLiteStore(db) as store:
        campaign = store.add_campaign(rk.Campaign(name="orders", created_at=now))
        requests = [
            rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email=f"c{n}@example.com", transaction_id=f"O-{n}"),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
            )
            for n in range(2)
        ]
        store.add_requests(requests)
    classifiers = tmp_path / "classifiers.json"
    classifiers.write_text(
        json.dumps(
            [
                {"name": "wrong address", "closes": True, "blocklist": True},
                {"name": "call back later", "recall_after": "30m", "recall_for": "168h"},
            ]
        )
    )
    wrong = _run(
        "classify",
        requests[0].id,
        "--as",
        "wrong address",
        "--by",
        "ola",
        "--classifiers",
        str(classifiers),
        db=db,
    )
    assert wrong.returncode == 0, wrong.stderr
    later = _run(
        "classify",
        requests[1].id,
        "--as",
        "call back later",
        "--by",
        "ola",
        "--classifiers",
        str(classifiers),
        db=db,
    )
    assert later.returncode == 0, later.stderr
    with rk.SQLiteStore(db) as store:
        assert store.get_request(requests[0].id).status is rk.RequestStatus.CANCELLED
        assert store.get_suppression(rk.Channel.EMAIL, "c0@example.com") is not None
        recalled = store.get_request(requests[1].id)
        assert recalled.due_at is not None
        assert recalled.due_at > now + timedelta(minutes=29)
        assert [c.classifier for c in store.classifications(request_id=requests[1].id)] == [
            "call back later"
        ]
    unknown = _run(
        "classify",
        requests[1].id,
        "--as",
        "lost",
        "--by",
        "ola",
        "--classifiers",
        str(classifiers),
        db=db,
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "reviewkit: error: no classifier 'lost' (classifiers: call back later, wrong address)"
    )
