"""Outcome classifiers: flags, recall inside the window and only for its span, move to another
campaign, blocklist, messages and tasks that follow, success counts, and bad definitions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.errors import ValidationError

WARSAW = rk.load_zone("Europe/Warsaw")
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=WARSAW)
ME = rk.Actor.system(email="owner@shop.example")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Store]:
    if request.param == "memory":
        yield rk.InMemoryStore()
    else:
        sqlite = rk.SQLiteStore(tmp_path / "c.sqlite3")
        yield sqlite
        sqlite.close()


def _shop(store: rk.Store, clock: rk.ManualClock) -> rk.CampaignService:
    campaigns = rk.CampaignService(store, clock)
    for name in ("orders", "win back", "apology sms"):
        campaigns.create(
            ME,
            name=name,
            sender="s@shop.example",
            subject="How was it?",
            body="Tell us.",
            timezone="Europe/Warsaw",
            window=rk.SendWindow(weekdays="mon-fri", hours="09:00-17:00"),
            start_at=clock.now(),
        )
    campaigns.add_recipients(
        ME,
        "orders",
        [
            rk.Recipient(email="ala@example.com", name="Ala", transaction_id="O-1"),
            rk.Recipient(email="olek@example.com", name="Olek", transaction_id="O-2"),
        ],
    )
    campaigns.schedule(ME, "orders")
    return campaigns


CLASSIFIERS = [
    rk.Classifier(
        name="call back later", recall_after=timedelta(minutes=30), recall_for=timedelta(days=7)
    ),
    rk.Classifier(name="wrong address", closes=True, blocklist=True),
    rk.Classifier(name="not interested now", move_to="win back"),
    rk.Classifier(
        name="complaint",
        private=True,
        send=["apology sms"],
        task=rk.TaskTemplate(assignee="care", within=timedelta(hours=4)),
    ),
    rk.Classifier(name="resolved", closes=True, success=True),
    rk.Classifier(name="chat only", channels=["chat"]),
]


def _service(
    store: rk.Store, clock: rk.ManualClock, campaigns: rk.CampaignService
) -> rk.ClassifierService:
    tasks = rk.TaskService(store, clock, assignees=[rk.Assignee(name="care")])
    return rk.ClassifierService(store, clock, campaigns, ME, classifiers=CLASSIFIERS, tasks=tasks)


def test_call_back_later_sends_again_inside_the_window_until_its_span_ends(
    store: rk.Store,
) -> None:
    """Classified at 16:45 on a Monday, the request is due at 17:15 and goes out at 09:00 next
    day (the window is shut at night); after seven days recalls stop."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    outbox = rk.InMemoryTransport()
    rk.Dispatcher(store, outbox, clock).dispatch_due()
    (ala, _olek) = campaigns.requests(ME, "orders")
    assert ala.status is rk.RequestStatus.SENT
    outcomes = _service(store, clock, campaigns)
    clock.set(datetime(2026, 12, 7, 16, 45, tzinfo=WARSAW))
    outcomes.classify(ala.id, "call back later", by="ola", note="busy, call after work")
    again = store.get_request(ala.id)
    assert again.status is rk.RequestStatus.PENDING
    assert again.due_at == datetime(2026, 12, 7, 17, 15, tzinfo=WARSAW)
    clock.set(datetime(2026, 12, 7, 17, 30, tzinfo=WARSAW))
    assert rk.Dispatcher(store, outbox, clock).dispatch_due().sent == 0  # the window is shut
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=WARSAW))
    rk.Dispatcher(store, outbox, clock).dispatch_due()
    assert [m.to for m in outbox.sent].count("ala@example.com") == 2
    assert len({m.message_id for m in outbox.sent if m.to == "ala@example.com"}) == 1
    clock.set(datetime(2026, 12, 14, 16, 50, tzinfo=WARSAW))  # 7 days after the first
    outcomes.classify(ala.id, "call back later", by="ola")
    assert store.get_request(ala.id).status is rk.RequestStatus.SENT  # no more recalls
    assert [c.classifier for c in outcomes.history(ala.id)] == ["call back later"] * 2


def test_wrong_address_closes_and_blocklists(store: rk.Store) -> None:
    """A pending request is cancelled and its address is never sent to again."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    (ala, _olek) = campaigns.requests(ME, "orders")
    _service(store, clock, campaigns).classify(ala.id, "wrong address", by="ola")
    closed = store.get_request(ala.id)
    assert closed.status is rk.RequestStatus.CANCELLED
    assert closed.last_error == "classified 'wrong address'"
    suppression = store.get_suppression(rk.Channel.EMAIL, "ala@example.com")
    assert suppression is not None
    assert suppression.reason is rk.SuppressionReason.BLOCKLISTED


def test_move_to_another_campaign(store: rk.Store) -> None:
    """The customer is asked again in "win back"; the request here is closed."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    (ala, _olek) = campaigns.requests(ME, "orders")
    _service(store, clock, campaigns).classify(ala.id, "not interested now", by="host")
    assert store.get_request(ala.id).status is rk.RequestStatus.CANCELLED
    (moved,) = campaigns.requests(ME, "win back")
    assert (moved.address, moved.recipient.transaction_id) == ("ala@example.com", "O-1")


def test_a_complaint_sends_a_message_opens_a_task_and_is_private(store: rk.Store) -> None:
    """The apology goes out through its campaign, care gets a task naming the customer, and
    the classification is private to whoever gave it."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    (ala, _olek) = campaigns.requests(ME, "orders")
    service = _service(store, clock, campaigns)
    made = service.classify(ala.id, "complaint", by="ola", note="parcel broken")
    assert made.private_to == "ola"
    (apology,) = campaigns.requests(ME, "apology sms")
    assert apology.address == "ala@example.com"
    (task,) = store.list_tasks()
    assert (task.title, task.assignee, task.request_id) == ("complaint: Ala", "care", ala.id)
    assert task.notes[0].text == "parcel broken"


def test_success_counts_use_each_requests_latest_classification(store: rk.Store) -> None:
    """Ala resolved after a call back, Olek not yet: 1 success of 2 classified."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    (ala, olek) = campaigns.requests(ME, "orders")
    service = _service(store, clock, campaigns)
    service.classify(ala.id, "call back later", by="ola")
    clock.advance(timedelta(hours=1))
    service.classify(ala.id, "resolved", by="ola")
    service.classify(olek.id, "call back later", by="ola")
    assert service.successes(ala.campaign_id) == (1, 2)


def test_mistakes_are_refused_and_change_nothing(store: rk.Store) -> None:
    """An unknown classifier, one for another channel, or an unknown request: an error, and
    nothing is recorded."""
    clock = rk.ManualClock(MONDAY_9)
    campaigns = _shop(store, clock)
    (ala, _olek) = campaigns.requests(ME, "orders")
    service = _service(store, clock, campaigns)
    with pytest.raises(ValidationError, match="no classifier 'lost'"):
        service.classify(ala.id, "lost", by="ola")
    with pytest.raises(ValidationError, match="not for the email channel"):
        service.classify(ala.id, "chat only", by="ola")
    with pytest.raises(rk.NotFoundError):
        service.classify("nope", "resolved", by="ola")
    assert service.history(ala.id) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " "}, "needs a name"),
        ({"name": "x", "channels": []}, "no channel"),
        ({"name": "x", "recall_after": timedelta(0)}, "must be positive"),
        ({"name": "x", "recall_after": timedelta(minutes=5), "closes": True}, "cannot both"),
        ({"name": "x", "recall_for": timedelta(days=1)}, "needs recall_after"),
    ],
)
def test_bad_classifiers_are_refused(kwargs: dict[str, object], message: str) -> None:
    """A classifier that contradicts itself is refused when it is made."""
    with pytest.raises(ValidationError, match=message):
        rk.Classifier(**kwargs)  # type: ignore[arg-type]


def test_a_task_classifier_needs_a_task_service() -> None:
    """Opening tasks without a TaskService is a configuration mistake, said at once."""
    store = rk.InMemoryStore()
    clock = rk.ManualClock(MONDAY_9)
    with pytest.raises(ValidationError, match="give the service a TaskService"):
        rk.ClassifierService(
            store, clock, rk.CampaignService(store, clock), ME, classifiers=[CLASSIFIERS[3]]
        )
