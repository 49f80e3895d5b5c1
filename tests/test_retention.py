"""Retention: past their time, requests are anonymised (counts and scores stay), comments and
engagement times cleared, a batch per transaction; newer data and suppressions stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.domain.retention import DEFAULT_RETENTION, PurgeResult, RetentionPolicy
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.services.retention import RetentionChore, RetentionService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def _request(store: rk.Store, campaign: rk.Campaign, n: int, age: timedelta) -> rk.Request:
    at = NOW - age
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(email=f"c{n}@example.com", name=f"Customer {n}", segment="s"),
        channel=rk.Channel.EMAIL,
        address=f"c{n}@example.com",
        status=rk.RequestStatus.SENT,
        scheduled_at=at,
        created_at=at,
        sent_at=at,
        opened_at=at + timedelta(hours=1),
        delivered_at=at,
    )
    store.add_requests([request])
    store.add_answer(
        rk.Answer(request_id=request.id, campaign_id=campaign.id, kind=rk.SurveyType.NPS,
                  score=n % 11, comment=f"comment {n}", at=at + timedelta(hours=2), segment="s")
    )  # fmt: skip
    return request


def _shop(store: rk.Store) -> dict[str, list[rk.Request]]:
    campaign = store.add_campaign(rk.Campaign(name="c"))
    return {
        "ancient": [_request(store, campaign, n, 4 * YEAR) for n in range(7)],
        "old": [_request(store, campaign, 10 + n, 2 * YEAR + timedelta(days=30)) for n in range(3)],
        "recent": [_request(store, campaign, 20 + n, timedelta(days=30)) for n in range(2)],
    }


def test_a_purge_keeps_each_kind_its_time(store: rk.Store) -> None:
    """Defaults: 4-year-old requests lose personal data (their comments with it), 2-year-old
    answers their comments, year-old requests their engagement times; scores and counts are
    unchanged; a second purge finds nothing."""
    made = _shop(store)
    store.add_suppression(
        Suppression(channel=rk.Channel.EMAIL, address="c0@example.com",
                    reason=SuppressionReason.UNSUBSCRIBED, at=NOW - 4 * YEAR)
    )  # fmt: skip
    scores = rk.ScoreService(store).scores(rk.SurveyType.NPS, min_sample=1)
    purge = RetentionService(store, rk.ManualClock(NOW), batch=3)
    assert purge.purge() == PurgeResult(requests=7, comments=3, engagement=10)
    assert purge.purge() == PurgeResult()
    assert rk.ScoreService(store).scores(rk.SurveyType.NPS, min_sample=1) == scores
    for request in made["ancient"]:
        stored = store.get_request(request.id)
        assert (stored.recipient.email, stored.recipient.name) == (None, None)
        assert stored.recipient.segment == "s"
        assert stored.address == f"erased:{request.id}"
    for request in made["old"]:
        stored = store.get_request(request.id)
        assert stored.recipient.email == request.recipient.email
        assert [a.comment for a in store.answers_for(request.id)] == [None]
        assert (stored.opened_at, stored.delivered_at, stored.sent_at) == (
            None, None, request.sent_at,
        )  # fmt: skip
    for request in made["recent"]:
        assert store.get_request(request.id) == request
        (answer,) = store.answers_for(request.id)
        assert answer.comment is not None
    # The address that asked not to be contacted stays so, in clear: it is needed to obey.
    assert store.get_suppression(rk.Channel.EMAIL, "c0@example.com") is not None


def test_none_keeps_a_kind_for_good(store: rk.Store) -> None:
    """A policy keeping personal data and comments only clears engagement."""
    made = _shop(store)
    policy = RetentionPolicy(personal_data=None, comments=None, engagement=YEAR)
    result = RetentionService(store, rk.ManualClock(NOW), policy).purge()
    assert result == PurgeResult(engagement=10)
    old = made["ancient"][0]
    assert store.get_request(old.id).recipient.email == old.recipient.email


def test_a_policy_shorter_than_a_day_is_refused() -> None:
    """Retention counted in hours would purge what a worker is still sending."""
    with pytest.raises(rk.ValidationError, match="at least a day"):
        RetentionPolicy(comments=timedelta(hours=3))
    assert DEFAULT_RETENTION.personal_data == 3 * YEAR


def test_the_purge_runs_as_a_daily_chore(store: rk.Store) -> None:
    """Inside a dispatcher, the purge runs and schedules itself a day later."""
    _shop(store)
    chore = RetentionChore(RetentionService(store, rk.ManualClock(NOW)))
    assert chore.run(NOW) == NOW + timedelta(days=1)
    assert chore.last is not None
    assert chore.last.requests == 7


def test_retention_purge_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reviewkit retention purge` with its own spans; a bad span is one line."""
    from reviewkit.cli import main

    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        _shop(store)
    code = main(["retention", "purge", "--personal-data", "off", "--comments", "3000d",
                 "--engagement", "3000d", "--db", str(db)])  # fmt: skip
    assert (code, capsys.readouterr().out.strip()) == (
        0, "anonymised 0 requests; cleared 0 comments and 0 engagement times",
    )  # fmt: skip
    code = main(["retention", "purge", "--comments", "2h", "--db", str(db)])
    assert (code, "at least a day" in capsys.readouterr().err) == (1, True)


def test_dispatch_purges_when_asked(tmp_path: Path) -> None:
    """`reviewkit dispatch --retention` runs the default purge between its passes and says
    what it did; without it nothing is purged."""
    import json
    import subprocess
    import sys

    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        made = _shop(store)

    def dispatch(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reviewkit", "dispatch", "--outbox", str(tmp_path / "out"),
             "--until-idle", "--db", str(db), *extra],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    plain = dispatch()
    assert plain.returncode == 0, plain.stderr
    assert "retention" not in plain.stdout
    with rk.SQLiteStore(db) as store:
        assert store.get_request(made["ancient"][0].id).address == "c0@example.com"
    done = dispatch("--retention", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["retention"] == {
        "anonymised": 7, "comments": 3, "engagement": 10
    }  # fmt: skip
    with rk.SQLiteStore(db) as store:
        assert store.get_request(made["ancient"][0].id).address.startswith("erased:")
        assert store.get_request(made["recent"][0].id).address == "c20@example.com"
