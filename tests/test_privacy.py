"""A contact's data on request: every request to their addresses across campaigns, with
engagement, answers and their history, classifications, tasks and suppressions — and nothing
of a neighbour whose address differs by an accent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.cli import main
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.services.privacy import PrivacyService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _request(
    store: rk.Store, campaign: rk.Campaign, email: str | None, phone: str | None = None
) -> rk.Request:
    channel = rk.Channel.EMAIL if email else rk.Channel.SMS
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(
            email=email, phone=phone, name="Żaneta", transaction_id=f"Z-{email or phone}"
        ),
        channel=channel,
        address=email or phone or "",
        status=rk.RequestStatus.SENT,
        sent_at=NOW,
    )
    store.add_requests([request])
    return request


def _shop(store: rk.Store) -> dict[str, rk.Request]:
    one = store.add_campaign(rk.Campaign(name="one"))
    two = store.add_campaign(rk.Campaign(name="two", channel=rk.Channel.SMS))
    made = {
        "mail": _request(store, one, "Zaneta@example.com"),
        "again": _request(store, two, None, "+48500100200"),
        "neighbour": _request(store, one, "żaneta@example.com"),
    }
    for score in (3, 9):
        store.add_answer(
            rk.Answer(request_id=made["mail"].id, campaign_id=one.id, kind=rk.SurveyType.NPS,
                      score=score, comment=f"changed to {score}", at=NOW + timedelta(minutes=score))
        )  # fmt: skip
    store.add_answer(
        rk.Answer(request_id=made["neighbour"].id, campaign_id=one.id, kind=rk.SurveyType.NPS,
                  score=1, comment="not hers", at=NOW)
    )  # fmt: skip
    store.add_task(
        rk.Task(title="Call the customer back", assignee="ola", created_at=NOW,
                request_id=made["mail"].id)
    )  # fmt: skip
    store.add_suppression(
        Suppression(channel=rk.Channel.EMAIL, address="zaneta@example.com",
                    reason=SuppressionReason.UNSUBSCRIBED, at=NOW)
    )  # fmt: skip
    return made


def test_the_export_holds_everything_of_the_contact_and_nothing_else(store: rk.Store) -> None:
    """Requests by e-mail (any letter case) and phone, answers with history, the task and
    the suppression; the neighbour with an accented address is not in it."""
    made = _shop(store)
    data = PrivacyService(store).export(email="ZANETA@example.com", phone="500 100 200")
    json.dumps(data)  # JSON-ready
    assert data["contact"] == {"email": "ZANETA@example.com", "phone": "+48500100200"}
    ids = {r["id"] for r in data["requests"]}
    assert ids == {made["mail"].id, made["again"].id}
    mail = next(r for r in data["requests"] if r["id"] == made["mail"].id)
    assert [(a["score"], a["current"]) for a in mail["answers"]] == [(3, False), (9, True)]
    assert mail["recipient"]["name"] == "Żaneta"
    assert [t["title"] for t in data["tasks"]] == ["Call the customer back"]
    assert [s["reason"] for s in data["suppressions"]] == ["unsubscribed"]
    assert "not hers" not in json.dumps(data, ensure_ascii=False)


def test_a_contact_must_be_named(store: rk.Store) -> None:
    """Neither an address nor a number, or a malformed one: a clear error."""
    with pytest.raises(rk.ValidationError, match="name the contact"):
        PrivacyService(store).export()
    with pytest.raises(rk.ValidationError):
        PrivacyService(store).export(email="not an address")


def test_contact_export_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reviewkit contact export` writes the JSON file; a missing folder is one line."""
    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        made = _shop(store)
    out = tmp_path / "zaneta.json"
    assert main(["contact", "export", "--email", "zaneta@example.com", "--output", str(out),
                 "--db", str(db)]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith("1 requests of the contact written to")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in data["requests"]] == [made["mail"].id]
    code = main(["contact", "export", "--phone", "+48500100200", "--output",
                 str(tmp_path / "no" / "x.json"), "--db", str(db)])  # fmt: skip
    assert (code, "does not exist" in capsys.readouterr().err) == (1, True)
