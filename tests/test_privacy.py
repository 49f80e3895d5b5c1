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


SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})


def _contact(store: rk.Store) -> dict[str, object]:
    """Anna Nowak: two requests (e-mail and SMS), answers with a comment, a task, an alert
    quoting her, a classification note, a suppression; and Ola, who stays."""
    one = store.add_campaign(rk.Campaign(name="one"))
    two = store.add_campaign(rk.Campaign(name="two", channel=rk.Channel.SMS))
    anna = rk.Request(
        campaign_id=one.id,
        recipient=rk.Recipient(email="anna.nowak@example.com", name="Anna Nowak",
                               transaction_id="ZAM-777", segment="krk-1",
                               fields={"loyalty": "gold-4411"}),
        channel=rk.Channel.EMAIL, address="anna.nowak@example.com",
        status=rk.RequestStatus.FAILED, sent_at=NOW,
        last_error="550 5.1.1 <anna.nowak@example.com>: mailbox full",
    )  # fmt: skip
    anna_sms = rk.Request(
        campaign_id=two.id, recipient=rk.Recipient(phone="+48500100999", name="Anna Nowak"),
        channel=rk.Channel.SMS, address="+48500100999", status=rk.RequestStatus.SENT, sent_at=NOW,
    )  # fmt: skip
    ola = rk.Request(
        campaign_id=one.id, recipient=rk.Recipient(email="ola@example.com", segment="krk-1"),
        channel=rk.Channel.EMAIL, address="ola@example.com", status=rk.RequestStatus.SENT,
        sent_at=NOW,
    )  # fmt: skip
    store.add_requests([anna, anna_sms, ola])
    for request, score, comment in ((anna, 2, "Kurier zgubił paczkę 8842"), (ola, 9, "Super")):
        store.add_answer(
            rk.Answer(request_id=request.id, campaign_id=one.id, kind=rk.SurveyType.NPS,
                      score=score, comment=comment, at=NOW, segment="krk-1")
        )  # fmt: skip
    store.add_task(
        rk.Task(title="Call Anna Nowak back", assignee="ola", created_at=NOW, request_id=anna.id)
    )
    from reviewkit.domain.alerts import Alert, AlertState, Evidence
    from reviewkit.domain.classifiers import Classification

    alert = Alert(
        fingerprint="fp", rule_id="r", rule_name="angry", state=AlertState.FIRING,
        started_at=NOW, updated_at=NOW,
        evidence=Evidence(summary='NPS answer 2 from Anna Nowak: "Kurier zgubił paczkę 8842"',
                          request_id=anna.id, customer="Anna Nowak",
                          comment="Kurier zgubił paczkę 8842", transaction_id="ZAM-777"),
    )  # fmt: skip
    store.save_alert(alert)
    store.add_classification(
        Classification(request_id=anna.id, campaign_id=one.id, classifier="complaint",
                       at=NOW, by="ola", note="Anna Nowak called about ZAM-777")
    )  # fmt: skip
    store.add_suppression(
        Suppression(channel=rk.Channel.EMAIL, address="anna.nowak@example.com",
                    reason=SuppressionReason.COMPLAINT, at=NOW, note="anna.nowak complained")
    )  # fmt: skip
    for channel, address in (
        (rk.Channel.EMAIL, "anna.nowak@example.com"),
        (rk.Channel.SMS, "+48500100999"),
    ):
        store.add_consent_change(
            rk.ConsentChange(channel=channel, address=address, name="publication",
                             granted=False, at=NOW, source="phone call", recorded_at=NOW)
        )  # fmt: skip
    return {"anna": anna, "anna_sms": anna_sms, "ola": ola, "one": one}


PERSONAL = [b"anna.nowak", b"Anna Nowak", b"ZAM-777", b"48500100999", b"gold-4411",
            "Kurier zgubił paczkę 8842".encode()]  # fmt: skip


def test_erase_leaves_counts_and_nothing_personal(store: rk.Store) -> None:
    """After erasing Anna: her export is empty, scores are unchanged, every quote of her is
    gone, and her address is still never sent to; Ola is untouched."""
    made = _contact(store)
    before = rk.ScoreService(store).scores(rk.SurveyType.NPS, by="segment", min_sample=1)
    done = PrivacyService(store, links=SIGNER).erase(
        email="Anna.Nowak@example.com", phone="500 100 999"
    )
    assert (done.requests, done.suppressions) == (2, 1)
    privacy = PrivacyService(store, links=SIGNER)
    assert privacy.export(email="anna.nowak@example.com", phone="+48500100999")["requests"] == []
    after = rk.ScoreService(store).scores(rk.SurveyType.NPS, by="segment", min_sample=1)
    assert after == before
    anna = store.get_request(made["anna"].id)  # type: ignore[attr-defined]
    assert (anna.recipient.email, anna.recipient.name, anna.address) == (
        None, None, f"erased:{anna.id}",
    )  # fmt: skip
    assert (anna.recipient.segment, anna.status, anna.last_error) == (
        "krk-1", rk.RequestStatus.FAILED, "erased",
    )  # fmt: skip
    assert [a.comment for a in store.answers_for(anna.id)] == [None]
    (task,) = store.list_tasks()
    assert task.title == "Task about an erased contact"
    (alert,) = store.list_alerts()
    assert "Anna" not in alert.evidence.summary
    assert alert.evidence.comment is None
    (note,) = [c.note for c in store.classifications(request_id=anna.id)]
    assert note is None
    assert store.get_suppression(rk.Channel.EMAIL, "anna.nowak@example.com") is None
    ola = store.get_request(made["ola"].id)  # type: ignore[attr-defined]
    assert ola.recipient.email == "ola@example.com"
    assert [a.comment for a in store.answers_for(ola.id)] == ["Super"]


def test_an_erased_address_is_still_never_sent_to(store: rk.Store) -> None:
    """A new campaign to the erased address: the request is suppressed, by the hash."""
    _contact(store)
    PrivacyService(store, links=SIGNER).erase(email="anna.nowak@example.com")
    clock = rk.ManualClock(NOW)
    service = rk.CampaignService(store, clock)
    actor = rk.Actor.system()
    service.create(actor, name="later", sender="s@shop.example", subject="s", body="b",
                   start_at=NOW)  # fmt: skip
    service.add_recipients(actor, "later", [rk.Recipient(email="ANNA.NOWAK@example.com")])
    service.schedule(actor, "later")
    transport = rk.InMemoryTransport()
    rk.Dispatcher(store, transport, clock, links=SIGNER).run()
    assert transport.sent == []
    (request,) = store.iter_requests(store.get_campaign("later").id)
    assert (request.status, request.reason) == (rk.RequestStatus.SUPPRESSED, "complaint")


def test_erase_leaves_no_trace_in_the_database_file(tmp_path: Path) -> None:
    """The SQLite file (and its write-ahead log) holds none of Anna's data after the erase."""
    path = tmp_path / "shop.sqlite3"
    with rk.SQLiteStore(path) as store:
        _contact(store)
        before = [p.read_bytes() for p in tmp_path.glob("shop.sqlite3*")]
        assert any(word in b"".join(before) for word in PERSONAL)
        PrivacyService(store, links=SIGNER).erase(
            email="anna.nowak@example.com", phone="+48500100999"
        )
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("shop.sqlite3*"))
    raw += b"".join(p.read_bytes() for p in tmp_path.glob("shop.sqlite3*"))
    for word in PERSONAL:
        assert word not in raw, word
    assert b"ola@example.com" in raw


def test_erase_needs_the_link_keys(store: rk.Store) -> None:
    """Without link keys there is no key for the hash: refused before anything changes."""
    _contact(store)
    with pytest.raises(rk.ConfigurationError, match="link keys"):
        PrivacyService(store).erase(email="anna.nowak@example.com")
    assert PrivacyService(store).export(email="anna.nowak@example.com")["requests"]


def test_contact_erase_from_the_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reviewkit contact erase` asks for --yes and the link keys, then erases."""
    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        _contact(store)
    args = ["contact", "erase", "--email", "anna.nowak@example.com", "--db", str(db)]
    assert main(args) == 1
    assert "add --yes" in capsys.readouterr().err
    monkeypatch.delenv("REVIEWKIT_LINK_KEYS", raising=False)
    assert main([*args, "--yes"]) == 1
    assert "no link keys" in capsys.readouterr().err
    monkeypatch.setenv("REVIEWKIT_LINK_KEYS", "k1:a-long-random-secret-0123456789")
    assert main([*args, "--yes"]) == 0
    assert capsys.readouterr().out.startswith("erased 1 requests; 1 suppressions")
