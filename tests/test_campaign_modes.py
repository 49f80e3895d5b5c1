"""One-off and always-on campaigns, how they end, and statuses that are true when read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

import reviewkit as rk

from .conftest import WARSAW, make_campaign, office_window

S = rk.CampaignStatus


def _always_on(service: rk.CampaignService, actor: rk.Actor) -> rk.Campaign:
    service.create(
        actor,
        name="after every order",
        mode=rk.CampaignMode.ALWAYS_ON,
        sender="Shop <reviews@shop.example>",
        subject="How was order {{ recipient.transaction_id }}?",
        body="Hello {{ recipient.name }}",
        timezone="Europe/Warsaw",
        window=office_window(),
        start_at=service.clock.now(),
    )
    return service.schedule(actor, "after every order")


class _Orders:
    """A contact source: the host's orders finished since a time."""

    def __init__(self, emails: list[str]) -> None:
        self.emails = emails

    def contacts(self, *, since: datetime | None = None) -> Iterable[rk.Recipient]:
        return [rk.Recipient(email=e, transaction_id=e) for e in self.emails]


def test_always_on_campaign_keeps_accepting_requests_after_a_quiet_hour(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Drained, an always-on campaign stays active; every way in still adds requests."""
    _always_on(service, actor)  # scheduled with no request yet
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    assert dispatcher.run().completed == ()
    service.request(actor, "after every order", rk.Recipient(email="a@example.com"))
    assert dispatcher.run().sent == 1
    reviewkit_clock.advance(timedelta(hours=1))  # a quiet hour: nothing pending
    report = dispatcher.run()
    assert (report.completed, report.failed_campaigns) == ((), ())
    assert service.get(actor, "after every order").status is S.SENDING
    service.add_recipients(actor, "after every order", [rk.Recipient(email="b@example.com")])
    service.add_from_source(actor, "after every order", _Orders(["c@example.com"]))
    triggers = rk.TriggerService(
        service, [rk.TriggerRule(id="closed", event="order.done", campaign="after every order")]
    )
    triggers.report(
        actor,
        rk.HostEvent(
            type="order.done", entity_id="O-9", recipient=rk.Recipient(email="d@example.com")
        ),
    )
    assert dispatcher.run().sent == 3
    assert sorted(m.to for m in reviewkit_transport.sent) == [f"{x}@example.com" for x in "abcd"]
    assert service.get(actor, "after every order").active
    service.cancel(actor, "after every order")  # only an operator ends it
    assert service.get(actor, "after every order").status is S.CANCELLED


def test_one_off_campaign_completes_and_can_be_reopened(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Completed is read-only; reopen makes a draft to add to and schedule again."""
    make_campaign(service, actor, recipients=2)
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    assert dispatcher.run().completed == ("reviews",)
    more = [rk.Recipient(email="late@example.com", transaction_id="T-late")]
    with pytest.raises(rk.CampaignReadOnlyError, match="completed"):
        service.add_recipients(actor, "reviews", more)
    assert service.reopen(actor, "reviews").status is S.DRAFT
    assert service.add_recipients(actor, "reviews", more).added == 1
    service.schedule(actor, "reviews")
    assert dispatcher.run().sent == 1
    assert service.get(actor, "reviews").status is S.COMPLETED
    assert service.counts(actor, "reviews")[rk.RequestStatus.SENT] == 3


def test_reopen_refuses_a_campaign_that_is_not_completed(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """Only a completed campaign reopens; the error says from where it may."""
    make_campaign(service, actor)
    with pytest.raises(rk.IllegalTransitionError, match="cannot reopen"):
        service.reopen(actor, "reviews")


def test_status_is_true_at_the_moment_it_is_read(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A worker asleep over the weekend leaves Sending stored; reading says Waiting."""
    friday = datetime(2026, 1, 9, 16, 59, tzinfo=WARSAW)
    reviewkit_clock.set(friday - timedelta(days=1))
    make_campaign(service, actor, recipients=3, interval=timedelta(minutes=5), start_at=friday)
    assert service.get(actor, "reviews").status is S.SCHEDULED  # before its start
    reviewkit_clock.set(friday)
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    report = dispatcher.dispatch_due()
    assert report.sent == 1
    assert store.get_campaign("reviews").status is S.SENDING  # what the worker wrote
    reviewkit_clock.set(datetime(2026, 1, 10, 12, 0, tzinfo=WARSAW))  # Saturday noon
    assert service.get(actor, "reviews").status is S.WAITING
    assert [c.status for c in service.list(actor)] == [S.WAITING]
    assert [c.name for c in service.list(actor, {S.WAITING})] == ["reviews"]
    assert service.list(actor, {S.SENDING}) == []
    assert store.get_campaign("reviews").status is S.SENDING  # reading wrote nothing
    reviewkit_clock.set(datetime(2026, 1, 12, 9, 30, tzinfo=WARSAW))  # Monday
    assert service.get(actor, "reviews").status is S.SENDING
    service.pause(actor, "reviews")
    assert service.get(actor, "reviews").status is S.PAUSED  # an operator's status stays


def test_campaign_whose_every_request_failed_has_failed(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Nothing sent and something failed: Failed, with the count; a retry can still send."""
    make_campaign(service, actor, recipients=3)
    reviewkit_transport.fail_next(3, kind=rk.PermanentSendError)
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    report = dispatcher.run()
    assert (report.failed, report.failed_campaigns, report.completed) == (3, ("reviews",), ())
    campaign = service.get(actor, "reviews")
    assert campaign.status is S.FAILED
    assert campaign.failure_reason == "every request failed (3); none was sent"
    assert service.retry_failed(actor, "reviews") == 3
    assert dispatcher.run().completed == ("reviews",)
    assert service.counts(actor, "reviews")[rk.RequestStatus.SENT] == 3


def test_campaign_with_one_request_sent_completes_despite_failures(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A campaign that was carried out, even partly, is Completed; its failures stay visible."""
    make_campaign(service, actor, recipients=3)
    reviewkit_transport.fail_next(2, kind=rk.PermanentSendError)
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    assert dispatcher.run().completed == ("reviews",)
    assert service.counts(actor, "reviews")[rk.RequestStatus.FAILED] == 2


def test_campaign_whose_every_request_was_suppressed_completes(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Suppressed requests are not failures: nothing to send is a completed campaign."""
    make_campaign(service, actor, recipients=1)
    rk.SuppressionService(store, reviewkit_clock).suppress(
        "customer0@example.com", reason=rk.SuppressionReason.BLOCKLISTED
    )
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w")
    report = dispatcher.run()
    assert (report.suppressed, report.completed) == (1, ("reviews",))


def test_mode_round_trips_through_the_store(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store
) -> None:
    """The mode is stored with the campaign and can be edited on a draft."""
    service.create(actor, name="c", mode=rk.CampaignMode.ALWAYS_ON)
    assert store.get_campaign("c").mode is rk.CampaignMode.ALWAYS_ON
    service.edit(actor, "c", mode=rk.CampaignMode.ONE_OFF)
    assert store.get_campaign("c").always_on is False
