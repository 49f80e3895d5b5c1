"""Reviews that may be published: only with the customer's publication consent and a
moderator's approval of that very answer; an erased contact or a changed answer takes the
review down; the feed's HTML is text only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.domain.consent import Consent
from reviewkit.domain.publication import ModerationState, author_name
from reviewkit.services.privacy import PrivacyService
from reviewkit.services.publication import PublicationService

NOW = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Warsaw


def _answer(
    store: rk.Store, name: str | None, consent: bool | None, score: int, comment: str
) -> tuple[rk.Answer, rk.Request]:
    found = store.list_campaigns()
    campaign = found[0] if found else store.add_campaign(rk.Campaign(name="c"))
    consents = {} if consent is None else {"publication": Consent(granted=consent, at=NOW)}
    email = f"{(name or 'anon').split()[0].lower()}{score}@example.com"
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(email=email, name=name, consents=consents),
        channel=rk.Channel.EMAIL,
        address=email,
    )
    store.add_requests([request])
    answer = store.add_answer(
        rk.Answer(request_id=request.id, campaign_id=campaign.id, kind=rk.SurveyType.NPS,
                  score=score, comment=comment, at=NOW - timedelta(minutes=score))
    )  # fmt: skip
    return answer, request


def test_only_consented_and_approved_answers_are_published(store: rk.Store) -> None:
    """Awaiting lists consented answers with comments; approval without consent is refused;
    the feed holds the approved ones, newest first, signed with a first name and initial."""
    reviews = PublicationService(store, rk.ManualClock(NOW))
    anna, _ = _answer(store, "Anna Nowak-Kowalska", True, 10, "Szybko i miło")
    jan, _ = _answer(store, "Jan", True, 9, "Polecam")
    ewa, _ = _answer(store, "Ewa Lis", False, 8, "Nie publikować")
    nobody, _ = _answer(store, None, None, 7, "Bez zgody")
    assert {a.id for a, _ in reviews.awaiting()} == {anna.id, jan.id}
    with pytest.raises(rk.ValidationError, match="not consented to publication"):
        reviews.approve(ewa.id, by="ola")
    with pytest.raises(rk.ValidationError, match="not consented"):
        reviews.approve(nobody.id, by="ola")
    reviews.approve(anna.id, by="ola")
    reviews.approve(jan.id, by="ola")
    assert reviews.awaiting() == []
    feed = reviews.feed(timezone="Europe/Warsaw")
    assert [(r.author, r.score, r.day) for r in feed] == [
        ("Jan", 9, date(2026, 12, 1)),
        ("Anna N.", 10, date(2026, 12, 1)),
    ]


def test_hiding_needs_a_reason_and_takes_the_review_down(store: rk.Store) -> None:
    """A hidden review leaves the feed; hiding without a reason is refused."""
    reviews = PublicationService(store, rk.ManualClock(NOW))
    anna, _ = _answer(store, "Anna Nowak", True, 10, "Pani Kasia była super")
    reviews.approve(anna.id, by="ola")
    with pytest.raises(rk.ValidationError, match="needs a reason"):
        reviews.hide(anna.id, by="ola", reason=" ")
    decision = reviews.hide(anna.id, by="ola", reason="names a member of staff")
    assert decision.state is ModerationState.HIDDEN
    assert reviews.feed() == []
    assert store.moderations_of([anna.id])[anna.id].reason == "names a member of staff"


def test_an_erasure_or_a_new_answer_takes_it_down(store: rk.Store) -> None:
    """The feed checks consent every time (an erased contact has none left); a changed
    answer needs a new approval."""
    reviews = PublicationService(store, rk.ManualClock(NOW))
    anna, _ = _answer(store, "Anna Nowak", True, 10, "Świetnie")
    jan, _ = _answer(store, "Jan Kos", True, 9, "Dobrze")
    ola, _ = _answer(store, "Ola Lis", True, 8, "Ok")
    for answer in (anna, jan, ola):
        reviews.approve(answer.id, by="mod")
    signer = rk.LinkSigner({"k": "a-long-random-secret-0123456789"})
    PrivacyService(store, links=signer).erase(email="jan9@example.com")
    store.add_answer(
        rk.Answer(request_id=ola.request_id, campaign_id=ola.campaign_id, kind=rk.SurveyType.NPS,
                  score=3, comment="Zmieniam zdanie", at=NOW)
    )  # fmt: skip
    assert [r.author for r in reviews.feed()] == ["Anna N."]
    with pytest.raises(rk.ValidationError, match="replaced by a newer answer"):
        reviews.approve(ola.id, by="mod")


def test_the_feed_as_json_and_as_escaped_html(store: rk.Store) -> None:
    """JSON carries score, scale, comment, author and date; HTML shows markup as text."""
    reviews = PublicationService(store, rk.ManualClock(NOW))
    anna, _ = _answer(store, "Anna <b>Nowak</b>", True, 10, '<script>alert("x")</script> 10/10')
    reviews.approve(anna.id, by="ola")
    (item,) = json.loads(reviews.feed_json())
    assert item == {
        "kind": "nps", "score": 10, "out_of": 10,
        "comment": '<script>alert("x")</script> 10/10', "author": "Anna N.", "date": "2026-11-30",
    }  # fmt: skip
    fragment = reviews.feed_html(timezone="Europe/Warsaw")
    assert "<script" not in fragment
    assert "&lt;script&gt;" in fragment
    assert '<time datetime="2026-12-01">' in fragment


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Anna Nowak", "Anna N."), ("anna maria nowak", "anna N."), ("Jan", "Jan"), (None, "Customer"),
     ("  ", "Customer")],
)  # fmt: skip
def test_authors_are_a_first_name_and_an_initial(name: str | None, shown: str) -> None:
    """Never a full surname."""
    assert author_name(name) == shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Anna <b>Nowak</b>", "Anna N."), ("anna@example.com", "annaexamplecom"),
     ("<script>", "Customer"), ("!!! ???", "Customer"), ("Łucja Żak", "Łucja Ż.")],
)  # fmt: skip
def test_an_author_name_keeps_only_letters(name: str, shown: str) -> None:
    """Markup and symbols never reach the signature."""
    assert author_name(name) == shown


def test_moderation_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """awaiting → approve → feed, and hide without --reason is a usage error."""
    from reviewkit.cli import main

    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        anna, _ = _answer(store, "Anna Nowak", True, 10, "Szybko")
    assert main(["reviews", "awaiting", "--format", "json", "--db", str(db)]) == 0
    (waiting,) = json.loads(capsys.readouterr().out)
    assert waiting["answer_id"] == anna.id
    assert main(["reviews", "approve", anna.id, "--by", "ola", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["reviews", "feed", "--db", str(db)]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert (item["author"], item["comment"]) == ("Anna N.", "Szybko")
    with pytest.raises(SystemExit) as usage:
        main(["reviews", "hide", anna.id, "--by", "ola", "--db", str(db)])
    assert usage.value.code == 2
