"""Alerts under real faults: `reviewkit alerts evaluate` and `alerts deliver` as processes,
killed with SIGKILL, against a real SQLite file and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import reviewkit as rk
from reviewkit.domain.notifications import NotificationStatus
from tests.smtp_server import smtp_server

TEAMS = 5


def _shop(db: Path, answers_per_team: int) -> None:
    """One rule and one route per team; every team gets bad answers."""
    now = datetime.now(UTC)
    with rk.SQLiteStore(db) as store:
        campaign = store.add_campaign(rk.Campaign(name="c", created_at=now))
        for team in range(TEAMS):
            store.add_alert_rule(
                rk.AnswerRule(
                    name=f"angry at t{team}",
                    survey="nps",
                    labels={"team": f"t{team}"},
                    filters=rk.AnswerFilter(segments=[f"s{team}"]),
                )
            )
        with store.transaction():
            for n in range(TEAMS * answers_per_team):
                request = rk.Request(
                    campaign_id=campaign.id,
                    recipient=rk.Recipient(
                        email=f"c{n}@example.com", transaction_id=f"O-{n}", segment=f"s{n % TEAMS}"
                    ),
                    channel=rk.Channel.EMAIL,
                    address=f"c{n}@example.com",
                )
                store.add_requests([request])
                store.add_answer(
                    rk.Answer(
                        request_id=request.id,
                        campaign_id=campaign.id,
                        kind=rk.SurveyType.NPS,
                        score=1,
                        at=now,
                        segment=f"s{n % TEAMS}",
                    )
                )


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reviewkit", *args, "--db", str(db)]


def test_a_killed_evaluation_leaves_nothing_and_the_next_one_notifies_once(
    tmp_path: Path,
) -> None:
    """SIGKILL during `alerts evaluate` rolls it back whole; the next run fires every alert and
    queues one notification each, and a further run queues none."""
    db = tmp_path / "shop.sqlite3"
    _shop(db, answers_per_team=800)
    routes = tmp_path / "routes.json"
    routes.write_text(
        json.dumps([{"receiver": f"r{t}", "matchers": {"team": f"t{t}"}} for t in range(TEAMS)])
    )
    victim = subprocess.Popen(
        _cli(db, "alerts", "evaluate", "--routes", str(routes)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.8)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    with rk.SQLiteStore(db) as store:
        done_before = len(store.list_notifications())
    assert done_before in (0, TEAMS * 800), done_before  # all or nothing
    subprocess.run(
        _cli(db, "alerts", "evaluate", "--routes", str(routes)),
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        _cli(db, "alerts", "evaluate", "--routes", str(routes)),
        check=True,
        capture_output=True,
        timeout=120,
    )
    with rk.SQLiteStore(db) as store:
        notifications = store.list_notifications()
        alerts = store.list_alerts([rk.AlertState.FIRING])
    assert len(alerts) == TEAMS * 800
    assert len(notifications) == TEAMS * 800
    assert len({n.alert.fingerprint for n in notifications}) == TEAMS * 800


def test_a_deliverer_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_in_flight(
    tmp_path: Path,
) -> None:
    """Five receivers, a server that takes a second per message: SIGKILL the deliverer while
    it sends; once its leases run out a second deliverer sends the rest. Every receiver gets
    its message; only the one in flight at the kill may arrive twice, with the same
    Message-ID."""
    db = tmp_path / "shop.sqlite3"
    _shop(db, answers_per_team=1)
    routes = tmp_path / "routes.json"
    routes.write_text(
        json.dumps([{"receiver": f"r{t}", "matchers": {"team": f"t{t}"}} for t in range(TEAMS)])
    )
    subprocess.run(
        _cli(db, "alerts", "evaluate", "--routes", str(routes)),
        check=True,
        capture_output=True,
        timeout=60,
    )
    to = [arg for t in range(TEAMS) for arg in ("--to", f"r{t}=r{t}@shop.example")]
    with smtp_server() as (handler, port):
        handler.data_delay = 1.0
        smtp = ["--smtp", f"smtp+insecure://127.0.0.1:{port}?from=alerts@shop.example"]
        first = subprocess.Popen(
            _cli(db, "alerts", "deliver", *smtp, *to, "--lease", "3s"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        time.sleep(2.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        arrived_before = len(handler.messages)
        assert 1 <= arrived_before < TEAMS
        time.sleep(3.5)  # the dead worker's leases run out
        second = subprocess.run(
            _cli(db, "alerts", "deliver", *smtp, *to),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        time.sleep(1.2)  # the in-flight message of the killed worker lands too
        received = list(handler.messages)
    recipients = [rcpt for _, rcpts, _ in received for rcpt in rcpts]
    assert sorted(set(recipients)) == sorted(f"r{t}@shop.example" for t in range(TEAMS))
    ids = [
        email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]
        for _, _, raw in received
    ]
    repeated = len(ids) - len(set(ids))
    print(f"[killed deliverer] messages {len(ids)}, repeated {repeated}")
    assert repeated <= 1
    with rk.SQLiteStore(db) as store:
        statuses = {n.status for n in store.list_notifications()}
    assert statuses == {NotificationStatus.SENT}


def test_deliver_without_due_notifications_sends_nothing(tmp_path: Path) -> None:
    """An empty outbox is not an error."""
    db = tmp_path / "shop.sqlite3"
    rk.SQLiteStore(db).close()
    done = subprocess.run(
        _cli(db, "alerts", "deliver", "--outbox", str(tmp_path / "o"), "--to", "a=a@example.com"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "0 notifications delivered")
