"""Suppression is checked at send time: nothing goes to an address suppressed after queueing."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore

from .conftest import make_campaign
from .test_workers import finish, prepare, worker

D = rk.RequestStatus


@pytest.fixture
def suppressions(store: rk.Store, reviewkit_clock: rk.ManualClock) -> rk.SuppressionService:
    return rk.SuppressionService(store, reviewkit_clock)


def test_suppressed_after_queueing_is_not_sent(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    suppressions: rk.SuppressionService,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """An address unsubscribed after the request was queued ends Suppressed, with the reason."""
    make_campaign(service, actor, recipients=3)
    suppressions.suppress("CUSTOMER1@example.com", note="clicked unsubscribe")
    report = dispatcher.run()
    assert (report.sent, report.suppressed) == (2, 1)
    assert "customer1@example.com" not in {m.to for m in reviewkit_transport.sent}
    (held,) = service.requests(actor, "reviews", {D.SUPPRESSED})
    assert held.address == "customer1@example.com"
    assert held.last_error == "unsubscribed: clicked unsubscribe"
    assert held.attempts == 0
    assert service.get(actor, "reviews").status is rk.CampaignStatus.COMPLETED


def test_suppression_is_per_channel_idempotent_and_liftable(
    suppressions: rk.SuppressionService,
) -> None:
    """Suppressing twice keeps one entry (the latest); SMS is separate; lifting allows again."""
    suppressions.suppress("a@example.com", reason=rk.SuppressionReason.HARD_BOUNCE)
    again = suppressions.suppress("A@example.com", reason=rk.SuppressionReason.COMPLAINT)
    found = suppressions.check("a@EXAMPLE.com")
    assert found == again
    assert suppressions.check("a@example.com", channel=rk.Channel.SMS) is None
    assert suppressions.lift("a@example.com")
    assert not suppressions.lift("a@example.com")
    assert suppressions.check("a@example.com") is None


@given(
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and not {"\r", "\n"} & set(s))
)
def test_any_address_round_trips(address: str) -> None:
    """Whatever text is suppressed is found again, also under its case-folded spelling."""
    service = rk.SuppressionService(rk.InMemoryStore(), rk.SystemClock())
    service.suppress(address)
    assert service.check(address) is not None
    assert service.check(address.casefold()) is not None


def test_bad_address_is_refused(suppressions: rk.SuppressionService) -> None:
    """An empty address or one with a line break is a ValidationError."""
    with pytest.raises(rk.ValidationError, match="line break"):
        suppressions.suppress("a@example.com\nb@example.com")


def test_worker_process_skips_an_address_suppressed_after_queueing(tmp_path: Path) -> None:
    """A real worker process does not send to an address suppressed after it was queued."""
    db, outbox = tmp_path / "db.sqlite3", tmp_path / "outbox"
    campaign_id = prepare(db, 5)
    with SQLiteStore(db) as store:
        rk.SuppressionService(store, rk.SystemClock()).suppress(
            "c3@example.com", reason=rk.SuppressionReason.BLOCKLISTED
        )
    finish(worker(db, outbox, "w", "--max-wait", "0s"))
    box = mailbox.Maildir(outbox, create=False)
    sent_to = {box.get_message(key)["To"] for key in box.iterkeys()}
    assert sent_to == {"c0@example.com", "c1@example.com", "c2@example.com", "c4@example.com"}
    with SQLiteStore(db) as store:
        assert store.count_requests(campaign_id)[D.SUPPRESSED] == 1
