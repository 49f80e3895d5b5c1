"""Consents over time: given or withdrawn after the requests were made, obeyed before every
send and every read of the published reviews, kept with their source and time, exported
with the contact's data, and forgotten with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

import reviewkit as rk
from reviewkit.cli import main
from reviewkit.domain.consent import Consent, effective_consents
from reviewkit.services.privacy import PrivacyService
from reviewkit.services.publication import PublicationService

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday


def _request(
    store: rk.Store,
    campaign: rk.Campaign,
    email: str,
    consents: dict[str, Consent] | None = None,
) -> rk.Request:
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(email=email, name="Anna Nowak", consents=consents or {}),
        channel=rk.Channel.EMAIL,
        address=email,
        created_at=NOW - timedelta(days=1),
    )
    store.add_requests([request])
    return request


def test_a_withdrawal_takes_a_published_review_down(store: rk.Store) -> None:
    """Anna consented at checkout and her review was approved; she withdraws on the phone:
    the feed drops it, it cannot be approved again, and it is back once she consents anew."""
    clock = rk.ManualClock(NOW)
    campaign = store.add_campaign(rk.Campaign(name="after each order"))
    request = _request(
        store,
        campaign,
        "anna@example.com",
        {"publication": Consent(granted=True, at=NOW - timedelta(days=1), source="checkout")},
    )
    answer = store.add_answer(
        rk.Answer(request_id=request.id, campaign_id=campaign.id, kind=rk.SurveyType.NPS,
                  score=10, comment="Szybko i miło", at=NOW)
    )  # fmt: skip
    reviews = PublicationService(store, clock)
    reviews.approve(answer.id, by="ola")
    assert [r.answer_id for r in reviews.feed()] == [answer.id]
    consents = rk.ConsentService(store, clock)
    clock.advance(timedelta(hours=1))
    (change,) = consents.withdraw("publication", email="Anna@Example.com", source="phone call")
    assert (change.address, change.granted, change.at) == ("Anna@example.com", False, clock.now())
    assert reviews.feed() == []
    with pytest.raises(rk.ValidationError, match="not consented"):
        reviews.approve(answer.id, by="ola")
    clock.advance(timedelta(hours=1))
    consents.grant("publication", email="anna@example.com", source="customer account")
    assert [r.answer_id for r in reviews.feed()] == [answer.id]


def test_the_dispatcher_obeys_consents_given_and_withdrawn_after_queueing(
    store: rk.Store,
) -> None:
    """A campaign needs the marketing consent: a request queued without it is sent once it
    is granted; one queued with it is not sent after it is withdrawn (Suppressed, no
    consent)."""
    clock = rk.ManualClock(NOW)
    campaign = store.add_campaign(
        rk.Campaign(
            name="offers",
            required_consents=("marketing",),
            status=rk.CampaignStatus.SCHEDULED,
            start_at=NOW - timedelta(days=1),
        )
    )
    granted_later = _request(store, campaign, "granted@example.com")
    withdrawn = _request(
        store,
        campaign,
        "withdrawn@example.com",
        {"marketing": Consent(granted=True, at=NOW - timedelta(days=1), source="checkout")},
    )
    consents = rk.ConsentService(store, clock)
    consents.grant("marketing", email="granted@example.com", source="newsletter form")
    consents.withdraw("marketing", email="withdrawn@example.com", source="unsubscribed by phone")
    transport = rk.InMemoryTransport()
    rk.Dispatcher(store, transport, clock).run(until_idle=True)
    assert [m.to for m in transport.sent] == ["granted@example.com"]
    assert store.get_request(granted_later.id).status is rk.RequestStatus.SENT
    gone = store.get_request(withdrawn.id)
    assert gone.status is rk.RequestStatus.SUPPRESSED
    assert "no consent: marketing" in (gone.last_error or "")


def test_history_tells_every_change_oldest_first_and_the_export_holds_it(
    store: rk.Store,
) -> None:
    """The history holds the consent a request came with and every change since, each with
    its source, oldest first; `current` is the latest word per consent; the contact's export
    carries the history; an erasure forgets it."""
    clock = rk.ManualClock(NOW)
    campaign = store.add_campaign(rk.Campaign(name="after each order"))
    _request(
        store,
        campaign,
        "anna@example.com",
        {"publication": Consent(granted=True, at=NOW - timedelta(days=1), source="checkout")},
    )
    consents = rk.ConsentService(store, clock)
    consents.withdraw("publication", email="anna@example.com", source="phone call",
                      at=NOW - timedelta(hours=2))  # fmt: skip
    consents.grant("marketing", email="anna@example.com", phone="500 100 200", source="account")
    history = consents.history(email="anna@example.com", phone="+48500100200")
    assert [(c.name, c.granted, c.source, c.channel) for c in history] == [
        ("publication", True, "checkout", "email"),
        ("publication", False, "phone call", "email"),
        ("marketing", True, "account", "email"),
        ("marketing", True, "account", "sms"),
    ]
    assert {name: c.granted for name, c in consents.current(email="anna@example.com").items()} == {
        "publication": False,
        "marketing": True,
    }
    signer = rk.LinkSigner({"k1": "a-long-secret-only-the-shop-knows"})
    privacy = PrivacyService(store, links=signer)
    exported = privacy.export(email="anna@example.com")
    assert [(c["name"], c["granted"], c["source"]) for c in exported["consents"]] == [
        ("publication", True, "checkout"),
        ("publication", False, "phone call"),
        ("marketing", True, "account"),
    ]
    privacy.erase(email="anna@example.com", phone="+48500100200")
    assert consents.history(email="anna@example.com", phone="+48500100200") == []


def test_consents_must_name_a_contact_a_consent_and_a_real_time(store: rk.Store) -> None:
    """No address, a malformed one, a bad consent name or a time without a zone: one
    ValidationError each, and nothing is kept."""
    consents = rk.ConsentService(store, rk.ManualClock(NOW))
    with pytest.raises(rk.ValidationError, match="name the contact"):
        consents.grant("publication")
    with pytest.raises(rk.ValidationError, match="not valid"):
        consents.grant("publication", email="anna@")
    with pytest.raises(rk.ValidationError, match="consent name"):
        consents.grant("a,b", email="anna@example.com")
    with pytest.raises(rk.ValidationError, match="time"):
        consents.grant("publication", email="anna@example.com", at=datetime(2026, 12, 1))  # noqa: DTZ001
    assert consents.history(email="anna@example.com") == []


_CHANGES = st.lists(
    st.tuples(st.sampled_from(["publication", "marketing"]), st.booleans(), st.integers(0, 50)),
    max_size=12,
)


@given(_CHANGES, st.sampled_from([None, 0, 25, 60]))
def test_the_latest_word_wins(changes: list[tuple[str, bool, int]], given_at: int | None) -> None:
    """Whatever the order of the changes, each consent ends as its latest change says (by
    time, then by when it was written down), unless the consent the request came with is
    later still."""
    base = {
        "publication": Consent(
            granted=True, at=None if given_at is None else NOW + timedelta(minutes=given_at)
        )
    }
    log = [
        rk.ConsentChange(channel="email", address="a@example.com", name=name, granted=granted,
                         at=NOW + timedelta(minutes=minute),
                         recorded_at=NOW + timedelta(hours=1, seconds=n))
        for n, (name, granted, minute) in enumerate(changes)
    ]  # fmt: skip
    result = effective_consents(base, list(reversed(log)))
    for name in ("publication", "marketing"):
        theirs = [c for c in log if c.name == name]
        last = max(theirs, key=lambda c: (c.at, c.recorded_at), default=None)
        before = base.get(name)
        if last is None:
            assert result.get(name) == before
        elif before is not None and before.at is not None and before.at > last.at:
            assert result[name] == before
        else:
            assert result[name].granted is last.granted


def test_consents_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`contact withdraw` and `contact grant` record, `contact consents` lists them oldest
    first (JSON too); a time without an offset or no address is one line, exit 1."""
    db = str(tmp_path / "shop.sqlite3")
    assert main(["contact", "grant", "marketing", "--phone", "500 100 200",
                 "--at", "2026-12-01T09:00+01:00", "--db", db]) == 0  # fmt: skip
    assert main(["contact", "withdraw", "marketing", "--phone", "+48500100200",
                 "--source", "phone call", "--db", db]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["contact", "consents", "--phone", "500100200", "--format", "json",
                 "--db", db]) == 0  # fmt: skip
    listed = json.loads(capsys.readouterr().out)
    assert [(c["granted"], c["source"], c["address"]) for c in listed] == [
        (True, None, "+48500100200"),
        (False, "phone call", "+48500100200"),
    ]
    assert main(["contact", "grant", "marketing", "--email", "a@example.com",
                 "--at", "2026-12-01T09:00", "--db", db]) == 1  # fmt: skip
    assert main(["contact", "withdraw", "marketing", "--db", db]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2, errors
    assert "offset" in errors[0]
    assert "name the contact" in errors[1]
