"""Trigger rules and host events from the shell: `trigger add|list|remove`, `event report`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.cli_triggers import parse_condition


def reviewkit(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(*args: str, db: Path) -> str:
    done = reviewkit(*args, db=db)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_rule_added_in_the_shell_turns_events_into_requests(tmp_path: Path) -> None:
    """A rule with conditions and a delay, kept in the database, queues one request per
    entity for the events that match; listed as a table and as JSON; removed, it stops."""
    db = tmp_path / "r.sqlite3"
    ok("campaign", "create", "--name", "after tasks", "--survey", "csat", "--privacy-url",
       "https://shop.example/p", "--answer-url", "https://shop.example/a/{token}",
       db=db)  # fmt: skip
    out = ok("trigger", "add", "--id", "vip-closed", "--event", "task.closed", "--campaign",
             "after tasks", "--when", "customer.vip = true", "--when", "queue in care,sales",
             "--delay", "2h", db=db)  # fmt: skip
    assert out.startswith("added trigger rule 'vip-closed': on task.closed when ")
    (listed,) = json.loads(ok("trigger", "list", "--format", "json", db=db))
    assert listed["conditions"] == [
        {"attribute": "customer.vip", "op": "eq", "value": True},
        {"attribute": "queue", "op": "in", "value": ["care", "sales"]},
    ]
    assert listed["delay"] == 7200
    assert ok("trigger", "list", db=db).splitlines()[1].split()[:2] == ["vip-closed", "task.closed"]

    def event(entity: str, vip: str) -> list[str]:
        return ["event", "report", "--type", "task.closed", "--entity", entity, "--email",
                "jan@example.com", "--attr", f"customer.vip={vip}", "--attr", "queue=care",
                "--at", "2026-03-02T10:00", "--timezone", "Europe/Warsaw",
                "--format", "json"]  # fmt: skip

    (made,) = json.loads(ok(*event("T-1", "true"), db=db))["requests"]
    assert made["campaign"] == "after tasks"
    assert made["due_at"] == "2026-03-02T11:00:00+00:00"  # 10:00 Warsaw + 2 h, in UTC
    assert json.loads(ok(*event("T-1", "true"), db=db)) == {"requests": []}  # once per entity
    assert json.loads(ok(*event("T-9", "false"), db=db)) == {"requests": []}  # not a VIP
    with rk.SQLiteStore(db) as store:
        campaign = store.get_campaign("after tasks")
        (request,) = store.iter_requests(campaign.id)
    assert (request.id, request.recipient.transaction_id) == (made["request_id"], "T-1")

    assert ok("trigger", "remove", "vip-closed", db=db) == "removed trigger rule 'vip-closed'\n"
    assert json.loads(ok(*event("T-2", "true"), db=db)) == {"requests": []}
    assert "no request queued" in ok(*event("T-2", "true")[:-2], db=db)
    assert ok("trigger", "list", db=db) == "no trigger rules\n"


def test_a_rule_from_a_json_file(tmp_path: Path) -> None:
    """`trigger add --file` reads the rule as `trigger list --format json` writes it."""
    db = tmp_path / "r.sqlite3"
    rule = {"id": "delivered", "event": "order.delivered", "campaign": "orders",
            "conditions": [{"attribute": "country", "op": "in", "value": ["PL", "CZ"]}],
            "delay": 86400}  # fmt: skip
    (tmp_path / "rule.json").write_text(json.dumps(rule), encoding="utf-8")
    ok("trigger", "add", "--file", str(tmp_path / "rule.json"), db=db)
    (listed,) = json.loads(ok("trigger", "list", "--format", "json", db=db))
    assert listed == {**rule, "enabled": True}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["trigger", "add", "--id", "x", "--event", "e"], "needs --campaign"),
        (["trigger", "add", "--id", "x y", "--event", "e", "--campaign", "c"], "rule id 'x y'"),
        (["trigger", "add", "--id", "x", "--event", "e", "--campaign", "c", "--when", "a ~ b"],
         "ATTRIBUTE OP VALUE"),
        (["trigger", "add", "--id", "x", "--event", "e", "--campaign", "c", "--delay=-1h"],
         "-1h"),
        (["trigger", "add", "--file", "missing.json"], "cannot read missing.json"),
        (["trigger", "remove", "nothing"], "no trigger rule 'nothing'"),
        (["event", "report", "--type", "t", "--entity", "E", "--email", "a@example.com",
          "--attr", "novalue"], "KEY=VALUE"),
        (["event", "report", "--type", "t", "--entity", "E", "--email", "a@example.com",
          "--at", "2026-03-02T10:00", "--timezone", "Mars/Base"], "Mars/Base"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(args: list[str], words: str, tmp_path: Path) -> None:
    """Each mistake is one line naming what is wrong, exit status 1, nothing stored."""
    done = subprocess.run(
        [sys.executable, "-m", "reviewkit", *args, "--db", str(tmp_path / "r.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert words in done.stderr


def test_an_event_for_a_rule_naming_a_missing_campaign_says_so(tmp_path: Path) -> None:
    """A stored rule whose campaign was deleted: the event report names rule and campaign."""
    db = tmp_path / "r.sqlite3"
    ok("trigger", "add", "--id", "r1", "--event", "e", "--campaign", "gone", db=db)
    done = reviewkit("event", "report", "--type", "e", "--entity", "E", "--email",
                     "a@example.com", db=db)  # fmt: skip
    assert done.returncode == 1
    assert "trigger rule 'r1' names campaign 'gone', which does not exist" in done.stderr


@given(st.text(max_size=40))
def test_any_condition_text_reads_or_is_refused(text: str) -> None:
    """Whatever is typed after --when becomes a condition or a ValidationError."""
    try:
        condition = parse_condition(text)
    except rk.ValidationError as exc:
        message = str(exc)
        assert "--when" in message
    else:
        assert condition.attribute.strip()


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("customer.vip = true", "eq", True),
        ("score>=9", "gte", 9),
        ("status != 'closed'", "ne", "'closed'"),
        ("queue not in care, sales", "not_in", ["care", "sales"]),
        ('tags in ["a", "b"]', "in", ["a", "b"]),
        ("email exists", "exists", None),
    ],
)
def test_conditions_read_as_people_write_them(text: str, op: str, value: object) -> None:
    """Operators with or without spaces, JSON values, comma lists."""
    condition = parse_condition(text)
    assert (condition.op.value, condition.value) == (op, value)


@pytest.mark.parametrize(
    "condition",
    [
        rk.Condition("customer.vip", "eq", True),
        rk.Condition("queue", "not_in", ["care", "sales"]),
        rk.Condition("score", "gte", 9),
        rk.Condition("status", "ne", "zamknięte"),
        rk.Condition("email", "exists"),
    ],
)
def test_a_condition_is_shown_as_it_is_typed(condition: rk.Condition) -> None:
    """What `trigger add` and `trigger list` show reads back as the same condition."""
    from reviewkit.cli_triggers import condition_text

    assert parse_condition(condition_text(condition)) == condition
