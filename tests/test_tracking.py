"""Tracking from signed links, consent at send time, reminders, manual requests and
contact sources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

import reviewkit as rk

from .conftest import make_campaign

D = rk.RequestStatus
C = rk.RequestCategory
SIGNER = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})


@pytest.fixture
def tracking(store: rk.Store, reviewkit_clock: rk.ManualClock) -> rk.TrackingService:
    return rk.TrackingService(store, reviewkit_clock, SIGNER)


@pytest.fixture
def linked_dispatcher(
    store: rk.Store, reviewkit_transport: rk.InMemoryTransport, reviewkit_clock: rk.ManualClock
) -> rk.Dispatcher:
    return rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="w", links=SIGNER)


def _token(text: str, path: str) -> str:
    found = re.search(rf"https://shop\.example/{path}/([A-Za-z0-9_\-.]+)", text)
    assert found, text
    return found.group(1)


LINKED = {
    "answer_url": "https://shop.example/review/{token}",
    "open_url": "https://shop.example/o/{token}",
    "unsubscribe_url": "https://shop.example/u/{token}",
    "body": "Review: {{ links.answer }}\nStop: {{ links.unsubscribe }}",
    "html": '<p><a href="{{ links.answer }}">Review</a><img src="{{ links.open }}" alt=""></p>',
}


def test_open_click_answer_and_unsubscribe_are_recorded_from_links(
    service: rk.CampaignService,
    actor: rk.Actor,
    linked_dispatcher: rk.Dispatcher,
    tracking: rk.TrackingService,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    store: rk.Store,
) -> None:
    make_campaign(service, actor, recipients=2, interval=timedelta(0), **LINKED)
    linked_dispatcher.run()
    first, second = reviewkit_transport.sent
    assert first.html is not None
    opened = tracking.opened(_token(first.html, "o"))
    assert opened.opened_at == reviewkit_clock.now()
    reviewkit_clock.advance(timedelta(minutes=5))
    again = tracking.opened(_token(first.html, "o"))
    assert again.opened_at == opened.opened_at  # the first time stays

    link = tracking.click_link(
        "https://shop.example/c/{token}", opened.id, "https://shop.example/p/1"
    )
    assert tracking.clicked(link.rsplit("/", 1)[1]) == "https://shop.example/p/1"
    answered = tracking.answered(_token(first.text, "review"))
    assert answered.answered_at == reviewkit_clock.now()
    assert answered.clicked_at is not None

    # The second customer never opened, but answering counts as opened.
    other = tracking.answered(_token(second.text, "review"))
    assert other.opened_at == other.answered_at

    tracking.unsubscribed(_token(second.text, "u"))
    view = rk.CollectionService(store, reviewkit_clock)
    page = view.page(actor, rk.RequestQuery(categories=[C.UNSUBSCRIBED]))
    assert [d.id for d in page.items] == [other.id]
    assert rk.SuppressionService(store, reviewkit_clock).check(other.address) is not None


def test_bad_tokens_change_nothing(
    service: rk.CampaignService,
    actor: rk.Actor,
    linked_dispatcher: rk.Dispatcher,
    tracking: rk.TrackingService,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    store: rk.Store,
) -> None:
    make_campaign(service, actor, recipients=1, **LINKED)
    linked_dispatcher.run()
    (message,) = reviewkit_transport.sent
    answer = _token(message.text, "review")
    before = list(service.requests(actor, "reviews"))
    tampered = answer[:-2] + ("A" if answer[-2] != "A" else "B") + answer[-1]
    with pytest.raises(rk.TokenError, match=r"tampered|not in its signed form"):
        tracking.answered(tampered)
    with pytest.raises(rk.TokenError, match="wrong purpose"):
        tracking.opened(answer)  # an answer link is not an open pixel
    with pytest.raises(rk.TokenError, match="unknown key"):
        rk.TrackingService(store, reviewkit_clock, rk.LinkSigner({"k9": "x" * 32})).answered(answer)
    reviewkit_clock.advance(timedelta(days=61))
    with pytest.raises(rk.TokenError, match="expired"):
        tracking.answered(answer)
    assert list(service.requests(actor, "reviews")) == before

    rotated = rk.LinkSigner(
        {"k2": "another-long-secret-0123456789", **SIGNER.keys},
        current="k2",
        ttl=timedelta(days=90),
    )
    reviewkit_clock.advance(timedelta(days=-60))
    assert rk.TrackingService(store, reviewkit_clock, rotated).answered(answer).answered_at


def test_a_request_without_the_required_consent_is_rejected_at_send_time(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
    store: rk.Store,
) -> None:
    service.create(
        actor,
        name="c",
        sender="shop@shop.example",
        subject="s",
        body="b",
        start_at=reviewkit_clock.now(),
    )
    service.edit(actor, "c", required_consents=("marketing",))
    when = reviewkit_clock.now() - timedelta(days=30)
    service.add_recipients(
        actor,
        "c",
        [
            rk.Recipient(
                email="yes@example.com",
                consents={"marketing": rk.Consent(granted=True, at=when, source="checkout")},
            ),
            rk.Recipient(email="no@example.com", consents={"marketing": False}),
            rk.Recipient(email="unknown@example.com"),
        ],
    )
    service.schedule(actor, "c")
    report = dispatcher.run()
    assert (report.sent, report.suppressed) == (1, 2)
    assert [m.to for m in reviewkit_transport.sent] == ["yes@example.com"]
    rejected = rk.CollectionService(store, reviewkit_clock).page(
        actor, rk.RequestQuery(categories=[C.REJECTED])
    )
    assert {d.address for d in rejected.items} == {"no@example.com", "unknown@example.com"}
    assert {d.reason for d in rejected.items} == {"no_consent"}
    assert {d.last_error for d in rejected.items} == {"no consent: marketing"}
    (kept,) = service.requests(actor, "c", {D.SENT})
    assert kept.recipient.consents["marketing"] == rk.Consent(
        granted=True, at=when, source="checkout"
    )


@pytest.mark.reviewkit_now("2026-01-05T09:00:00+01:00")  # a Monday
def test_reminders_go_after_n_days_at_most_k_times_in_the_window(
    service: rk.CampaignService,
    actor: rk.Actor,
    linked_dispatcher: rk.Dispatcher,
    tracking: rk.TrackingService,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Three customers: one answers, one unsubscribes, one ignores us and gets exactly two
    reminders, each in office hours on a working day."""
    make_campaign(
        service,
        actor,
        recipients=3,
        interval=timedelta(0),
        reminder=rk.Reminder(
            after=timedelta(days=2, hours=7),
            count=2,
            subject="Reminder: {{ recipient.transaction_id }}",
        ),
        **LINKED,
    )
    linked_dispatcher.run(max_wait=timedelta(hours=1))  # the requests; reminders are days away
    by_to = {m.to: m for m in reviewkit_transport.sent}
    tracking.answered(_token(by_to["customer0@example.com"].text, "review"))
    tracking.unsubscribed(_token(by_to["customer1@example.com"].text, "u"))
    # Sent Monday 09:00; the first reminder is due Wednesday 16:00, the second Friday 23:00,
    # outside the window: it waits for Monday 09:00.
    report = linked_dispatcher.run()
    reminders = [m for m in reviewkit_transport.sent if m.subject.startswith("Reminder")]
    assert [m.to for m in reminders] == ["customer2@example.com"] * 2
    assert report.reminded == 2
    zone = rk.load_zone("Europe/Warsaw")
    for m in reminders:
        local = m.created_at.astimezone(zone)
        assert local.weekday() < 5
        assert 9 <= local.hour < 17
    assert reminders[0].created_at - reviewkit_transport.sent[0].created_at >= timedelta(days=2)
    assert len({m.message_id for m in reviewkit_transport.sent}) == len(reviewkit_transport.sent)
    (ignored,) = [
        d for d in service.requests(actor, "reviews") if d.address == "customer2@example.com"
    ]
    assert (ignored.status, ignored.reminders_sent, ignored.remind_at) == (D.SENT, 2, None)
    assert ignored.sent_at is not None
    assert ignored.sent_at < reminders[0].created_at  # the first send time stays
    monday = datetime.fromisoformat("2026-01-12T09:00:00+01:00")
    assert reminders[1].created_at == monday
    assert service.get(actor, "reviews").status is rk.CampaignStatus.COMPLETED


def test_manual_request_now_or_later_and_never_twice(
    service: rk.CampaignService, actor: rk.Actor, reviewkit_clock: rk.ManualClock
) -> None:
    """A request by hand creates its campaign as a draft; the same transaction again is a
    clear conflict."""
    later = reviewkit_clock.now() + timedelta(days=1)
    made = service.request(
        actor, "manual", rk.Recipient(email="Jan@Example.com", transaction_id="Z-9"), at=later
    )
    assert (made.address, made.due_at, made.scheduled_at) == ("Jan@example.com", later, later)
    assert service.get(actor, "manual").status is rk.CampaignStatus.DRAFT
    with pytest.raises(rk.ConflictError, match="transaction 'Z-9'"):
        service.request(
            actor, "manual", rk.Recipient(email="other@example.com", transaction_id="Z-9")
        )
    with pytest.raises(rk.ValidationError, match="timezone-aware"):
        service.request(
            actor,
            "manual",
            rk.Recipient(email="a@example.com"),
            at=datetime(2026, 1, 1),  # noqa: DTZ001
        )
    with pytest.raises(rk.ValidationError, match="no e-mail address"):
        service.request(actor, "manual", rk.Recipient(phone="+48500100200"))


class CrmOrders:
    """A contact source as a host writes one: its orders table, finished since a time."""

    def __init__(self, orders: list[tuple[str, str, datetime]]) -> None:
        self.orders = orders

    def contacts(self, *, since: datetime | None = None) -> Iterable[rk.Recipient]:
        for email, order, finished in self.orders:
            if since is None or finished >= since:
                yield rk.Recipient(email=email, transaction_id=order, segment="crm")


def test_contact_source_adds_new_orders_only_once(
    service: rk.CampaignService, actor: rk.Actor, reviewkit_clock: rk.ManualClock
) -> None:
    now = reviewkit_clock.now()
    crm = CrmOrders(
        [("a@example.com", "O-1", now - timedelta(days=2)), ("b@example.com", "O-2", now)]
    )
    assert isinstance(crm, rk.ContactSource)
    service.create(actor, name="crm")
    assert service.add_from_source(actor, "crm", crm) == rk.AddResult(added=2, duplicates=0)
    crm.orders.append(("a@example.com", "O-3", now + timedelta(days=1)))
    result = service.add_from_source(actor, "crm", crm, since=now - timedelta(days=1))
    assert result == rk.AddResult(added=1, duplicates=1)
    assert {d.recipient.transaction_id for d in service.requests(actor, "crm")} == {
        "O-1",
        "O-2",
        "O-3",
    }
