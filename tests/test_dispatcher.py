"""The dispatcher: windows, pacing, retries, failure modes, leases, test sends."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

import reviewkit as rk

from .conftest import WARSAW, make_campaign

D = rk.RequestStatus


def test_runs_to_completion_inside_the_window(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """Starting 16:58 Friday, two go out before 17:00 and the rest on Monday from 09:00."""
    reviewkit_clock.set(datetime(2026, 1, 9, 16, 58, tzinfo=WARSAW))  # a Friday
    make_campaign(service, actor, recipients=6, interval=timedelta(minutes=1))
    report = dispatcher.run()
    assert report.sent == 6
    assert report.completed == ("reviews",)
    times = [m.created_at.astimezone(WARSAW) for m in reviewkit_transport.sent]
    assert [t.strftime("%a %H:%M") for t in times] == [
        "Fri 16:58",
        "Fri 16:59",
        "Mon 09:00",
        "Mon 09:01",
        "Mon 09:02",
        "Mon 09:03",
    ]
    assert service.get(actor, "reviews").status is rk.CampaignStatus.COMPLETED


def test_status_waits_outside_the_window_and_sends_inside(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """At night the campaign is Waiting; when the window opens it is Sending again."""
    reviewkit_clock.set(datetime(2026, 1, 5, 22, 0, tzinfo=WARSAW))
    make_campaign(service, actor, recipients=2)
    report = dispatcher.dispatch_due()
    assert report.sent == 0
    # Tuesday 6 January is Epiphany, a public holiday in Poland.
    assert report.next_wakeup == datetime(2026, 1, 7, 9, 0, tzinfo=WARSAW)
    assert service.get(actor, "reviews").status is rk.CampaignStatus.WAITING
    reviewkit_clock.set(datetime(2026, 1, 7, 9, 0, tzinfo=WARSAW))
    assert dispatcher.dispatch_due().sent == 1
    assert service.get(actor, "reviews").status is rk.CampaignStatus.SENDING


def test_future_start_is_respected(
    service: rk.CampaignService, actor: rk.Actor, dispatcher: rk.Dispatcher
) -> None:
    """Nothing is sent before the campaign's start time; the wake-up is the start."""
    start = datetime(2026, 1, 7, 10, 0, tzinfo=WARSAW)
    make_campaign(service, actor, start_at=start)
    report = dispatcher.dispatch_due()
    assert report.sent == 0
    assert report.next_wakeup == start


def test_unpaced_campaign_sends_in_batches(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """With no interval, one pass sends up to the batch size."""
    make_campaign(service, actor, recipients=25, interval=timedelta(0))
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, batch_size=10)
    assert dispatcher.dispatch_due().sent == 10
    assert dispatcher.run().sent == 15


def test_transient_failures_retry_with_backoff_and_same_message_id(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A 4xx is retried after the backoff; the retry carries the same Message-ID."""
    make_campaign(service, actor, recipients=1)
    reviewkit_transport.fail_next(2)
    first = dispatcher.dispatch_due()
    assert first.retried == 1
    request = next(service.requests(actor, "reviews"))
    assert request.status is D.PENDING
    assert request.attempts == 1
    assert request.due_at == reviewkit_clock.now() + timedelta(minutes=1)
    assert "451" in (request.last_error or "")
    dispatcher.run()
    request = next(service.requests(actor, "reviews"))
    assert request.status is D.SENT
    assert request.attempts == 3
    assert reviewkit_transport.attempts == 3
    assert [m.message_id for m in reviewkit_transport.sent] == [request.message_id]


def test_transient_failures_give_up_after_the_limit(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """After max_attempts transient failures the request is Failed; a campaign whose only
    request failed has failed too."""
    make_campaign(service, actor, recipients=1)
    reviewkit_transport.fail_next(10)
    dispatcher = rk.Dispatcher(
        store, reviewkit_transport, reviewkit_clock, retry=rk.RetryPolicy(max_attempts=3)
    )
    report = dispatcher.run()
    assert (report.retried, report.failed) == (2, 1)
    request = next(service.requests(actor, "reviews"))
    assert request.status is D.FAILED
    assert "gave up after 3 attempts" in (request.last_error or "")
    campaign = service.get(actor, "reviews")
    assert campaign.status is rk.CampaignStatus.FAILED
    assert campaign.failure_reason == "every request failed (1); none was sent"
    assert report.failed_campaigns == ("reviews",)


def test_permanent_failure_fails_only_that_delivery(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A 5xx for one recipient fails that request, no retry; the others are sent."""
    make_campaign(service, actor, recipients=3)
    reviewkit_transport.fail_next(1, kind=rk.PermanentSendError)
    report = dispatcher.run()
    assert (report.sent, report.failed, report.retried) == (2, 1, 0)
    assert reviewkit_transport.attempts == 3


def test_account_error_fails_the_campaign_and_keeps_deliveries_pending(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """Bad credentials fail the campaign with the reason; no request is lost or failed."""
    make_campaign(service, actor, recipients=3)
    reviewkit_transport.fail_next(1, kind=rk.AccountError)
    report = dispatcher.run()
    assert report.failed_campaigns == ("reviews",)
    campaign = service.get(actor, "reviews")
    assert campaign.status is rk.CampaignStatus.FAILED
    assert "535" in (campaign.failure_reason or "")
    counts = service.counts(actor, "reviews")
    assert counts[D.PENDING] == 3
    assert counts[D.FAILED] == 0
    # The operator fixes the account and resumes: everything goes out.
    service.resume(actor, "reviews")
    assert dispatcher.run().sent == 3


def test_expired_lease_is_taken_over_and_the_stale_worker_cannot_overwrite(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A claim past its lease goes to another worker; the first worker's late outcome is refused."""
    campaign = make_campaign(service, actor, recipients=1)
    now = reviewkit_clock.now()
    (claim,) = store.claim_requests(
        campaign.id, now=now, limit=5, worker_id="w1", lease_until=now + timedelta(minutes=5)
    )
    assert (
        store.claim_requests(
            campaign.id, now=now, limit=5, worker_id="w2", lease_until=now + timedelta(minutes=5)
        )
        == []
    )
    later = now + timedelta(minutes=6)
    (taken,) = store.claim_requests(
        campaign.id, now=later, limit=5, worker_id="w2", lease_until=later + timedelta(minutes=5)
    )
    assert taken.id == claim.id
    failed = rk.Outcome(request_id=claim.id, status=D.FAILED)
    assert store.finish_requests([failed], worker_id="w1", now=later) == [claim.id]
    sent = rk.Outcome(request_id=taken.id, status=D.SENT)
    assert store.finish_requests([sent], worker_id="w2", now=later) == []
    assert store.get_request(taken.id).status is D.SENT


def test_recipient_timezone_window(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """With respect_recipient_timezone, each recipient gets the window on their own clock."""
    reviewkit_clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW))
    make_campaign(
        service,
        actor,
        recipients=0,
        schedule=False,
        interval=timedelta(0),
        respect_recipient_timezone=True,
    )
    service.add_recipients(
        actor,
        "reviews",
        [
            rk.Recipient(email="warsaw@example.com"),
            rk.Recipient(email="ny@example.com", timezone="America/New_York"),
        ],
    )
    service.schedule(actor, "reviews")
    dispatcher.run()
    by_to = {m.to: m.created_at for m in reviewkit_transport.sent}
    assert by_to["warsaw@example.com"] == datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW)
    new_york = rk.load_zone("America/New_York")
    assert by_to["ny@example.com"] == datetime(2026, 1, 5, 9, 0, tzinfo=new_york)


def test_test_send_goes_to_the_actor_and_touches_no_delivery(
    service: rk.CampaignService,
    actor: rk.Actor,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A test send renders for the acting user, marks the subject, and changes no request."""
    make_campaign(service, actor, recipients=2, schedule=False)
    before = service.counts(actor, "reviews")
    message = service.send_test(actor, "reviews", reviewkit_transport)
    assert message.to == "owner@shop.example"
    assert message.subject.startswith("[TEST] How was order TEST")
    assert reviewkit_transport.sent == [message]
    assert service.counts(actor, "reviews") == before


def test_test_send_needs_an_address(
    service: rk.CampaignService, reviewkit_transport: rk.InMemoryTransport
) -> None:
    """A user with no e-mail gets a clear error instead of a silent no-op."""
    nobody = rk.Actor.system()
    make_campaign(service, nobody, schedule=False)
    with pytest.raises(rk.ValidationError, match="no e-mail address for a test send"):
        service.send_test(nobody, "reviews", reviewkit_transport)


def test_paused_campaign_sends_nothing(
    service: rk.CampaignService, actor: rk.Actor, dispatcher: rk.Dispatcher
) -> None:
    """A paused campaign is skipped by the dispatcher."""
    make_campaign(service, actor)
    service.pause(actor, "reviews")
    assert dispatcher.run().sent == 0
    assert service.counts(actor, "reviews")[D.PENDING] == 3


def test_send_delay_lets_an_operator_withdraw_a_request(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A request waits out the send delay; one withdrawn meanwhile is never sent."""
    make_campaign(
        service, actor, recipients=3, interval=timedelta(0), send_delay=timedelta(minutes=10)
    )
    first = dispatcher.dispatch_due()
    assert first.sent == 0
    assert first.next_wakeup == reviewkit_clock.now() + timedelta(minutes=10)
    withdrawn = next(service.requests(actor, "reviews"))
    service.remove_requests(actor, "reviews", [withdrawn.id])
    dispatcher.run()
    assert len(reviewkit_transport.sent) == 2
    assert withdrawn.address not in {m.to for m in reviewkit_transport.sent}
    assert min(m.created_at for m in reviewkit_transport.sent) == first.next_wakeup


class _LimitedTransport(rk.InMemoryTransport):
    """An in-memory transport whose one account allows a message a minute."""

    def pacing(self, sender: str | None) -> tuple[str, timedelta] | None:
        return ("shared", timedelta(minutes=1))


def test_account_rate_limit_holds_across_campaigns(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store, reviewkit_clock: rk.ManualClock
) -> None:
    """Two unpaced campaigns on one limited account together send one message a minute."""
    make_campaign(service, actor, name="a", recipients=2, interval=timedelta(0))
    make_campaign(service, actor, name="b", recipients=2, interval=timedelta(0))
    transport = _LimitedTransport()
    rk.Dispatcher(store, transport, reviewkit_clock).run()
    times = sorted(m.created_at for m in transport.sent)
    assert len(times) == 4
    assert all((b - a) >= timedelta(minutes=1) for a, b in itertools.pairwise(times))


def test_connections_are_kept_through_pacing_gaps_and_closed_before_long_sleeps(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A 30 s pacing gap keeps the transport open; a weekend in between closes it first."""
    reviewkit_clock.set(datetime(2026, 1, 9, 16, 59, tzinfo=WARSAW))  # a Friday
    make_campaign(service, actor, recipients=3, interval=timedelta(seconds=30))
    dispatcher.run()
    assert len(reviewkit_transport.sent) == 3
    # Closed before sleeping to Monday, and once when the run ends; not between 16:59:00 and
    # 16:59:30.
    assert reviewkit_transport.closed == 2


def test_each_pass_says_what_it_waits_for_and_why(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A pass's next_wait names the campaign, the instant and the reason: its start, its
    shut window, its pacing, a request not yet due; described in the campaign's time."""
    now = reviewkit_clock.now()  # a working Monday, 09:00 in Warsaw
    make_campaign(service, actor, name="later", recipients=1, start_at=now + timedelta(days=4))
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock)
    wait = dispatcher.dispatch_due().next_wait
    assert wait == rk.Wait(
        at=now + timedelta(days=4), campaign="later", reason=rk.WaitReason.START,
        timezone="Europe/Warsaw",
    )  # fmt: skip
    assert wait.describe() == "campaign 'later': starts Fri 2026-01-09 09:00 CET"

    make_campaign(service, actor, name="paced", recipients=2, interval=timedelta(minutes=5))
    seen: list[rk.DispatchReport] = []
    dispatcher.run(max_passes=1, progress=seen.append)
    (report,) = seen
    assert report.sent == 1
    assert report.next_wait is not None
    assert (report.next_wait.campaign, report.next_wait.reason) == ("paced", rk.WaitReason.PACING)
    assert report.next_wait.at == now + timedelta(minutes=5)

    reviewkit_clock.set(datetime(2026, 1, 5, 17, 30, tzinfo=WARSAW))  # after hours
    wait = dispatcher.dispatch_due().next_wait
    assert wait is not None
    assert (wait.campaign, wait.reason) == ("paced", rk.WaitReason.WINDOW)
    # Tuesday 6 January is a public holiday in Poland.
    assert wait.describe() == "campaign 'paced': window shut, next opening Wed 2026-01-07 09:00 CET"


def test_a_send_delay_is_a_request_not_yet_due(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """With a send delay the dispatcher waits for the request's due time, saying so."""
    make_campaign(service, actor, recipients=1, send_delay=timedelta(minutes=10))
    wait = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock).dispatch_due().next_wait
    assert wait is not None
    assert wait.reason is rk.WaitReason.DUE
    assert wait.at == reviewkit_clock.now() + timedelta(minutes=10)


def test_until_idle_returns_when_the_next_send_is_far_even_with_busy_chores(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A chore that runs every minute does not keep `run(max_wait=…)` waiting for a send
    hours away: the next send decides."""

    class EveryMinute:
        runs = 0

        def run(self, now: datetime) -> datetime:
            self.runs += 1
            return now + timedelta(minutes=1)

    reviewkit_clock.set(datetime(2026, 1, 5, 18, 0, tzinfo=WARSAW))  # after hours
    make_campaign(service, actor, recipients=1)
    chore = EveryMinute()
    dispatcher = rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, chores=[chore])
    report = dispatcher.run(until_idle=True, max_wait=timedelta(minutes=1))
    assert (report.sent, chore.runs) == (0, 1)
    assert reviewkit_clock.now() == datetime(2026, 1, 5, 18, 0, tzinfo=WARSAW)


class _Watching(rk.InMemoryTransport):
    """Notes, at each send, how many earlier requests the store already has as sent; each
    send takes *seconds* of real time."""

    def __init__(self, store: rk.Store, campaign: str, seconds: float) -> None:
        super().__init__()
        self.store = store
        self.campaign = campaign
        self.seconds = seconds
        self.recorded_before: list[int] = []

    def send(self, message: rk.OutgoingMessage) -> None:
        import time

        campaign = self.store.get_campaign(self.campaign)
        self.recorded_before.append(self.store.count_requests(campaign.id)[rk.RequestStatus.SENT])
        time.sleep(self.seconds)
        super().send(message)


def test_outcomes_are_recorded_in_small_groups_never_waiting_long(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Fast sends are recorded ten at a time (the default group); when sends are slow (over
    `record_within`),
    each outcome is recorded before the next send, so a kill repeats at most one."""
    make_campaign(service, actor, recipients=25, interval=timedelta(0))
    fast = _Watching(store, "reviews", 0)
    # A generous time bound: a busy machine's pause must not cut a group short here.
    rk.Dispatcher(store, fast, reviewkit_clock, record_within=timedelta(minutes=1)).run()
    assert fast.recorded_before == [0] * 10 + [10] * 10 + [20] * 5

    make_campaign(service, actor, name="slow", recipients=4, interval=timedelta(0))
    slow = _Watching(store, "slow", 0.25)
    rk.Dispatcher(store, slow, reviewkit_clock, record_within=timedelta(seconds=0.2)).run()
    assert slow.recorded_before == [0, 1, 2, 3]
