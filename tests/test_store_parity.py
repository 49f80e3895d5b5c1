"""The in-memory store and SQLite behave alike: one scripted scenario, every result compared."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore

from .conftest import WARSAW, add_answer, office_window

ACTOR = rk.Actor.system(email="owner@shop.example")
FRIDAY = datetime(2026, 1, 9, 16, 58, tzinfo=WARSAW)


def _recipient(n: int) -> rk.Recipient:
    return rk.Recipient(
        email=f"c{n}@example.com", name=f"C{n}", transaction_id=f"T{n}", segment="ab"[n % 2]
    )


def scenario(store: rk.Store) -> list[Any]:
    """Run one working week of a campaign on *store*; return everything observable."""
    clock = rk.ManualClock(FRIDAY - timedelta(hours=2))
    outbox = rk.InMemoryTransport()
    service = rk.CampaignService(store, clock)
    seen: list[Any] = []
    service.create(
        ACTOR,
        name="orders",
        sender="Shop <reviews@shop.example>",
        subject="Order {{ recipient.transaction_id }}",
        body="Hello {{ recipient.name }}",
        timezone="Europe/Warsaw",
        window=office_window(),
        interval=timedelta(minutes=1),
        start_at=FRIDAY,
        reminder=rk.Reminder(after=timedelta(days=2), count=1),
    )
    # T1 has no due time, T2 and T3 were asked for at given times, T3 the earliest.
    service.add_recipients(ACTOR, "orders", [_recipient(1)])
    service.request(ACTOR, "orders", _recipient(2), at=FRIDAY - timedelta(minutes=30))
    service.request(ACTOR, "orders", _recipient(3), at=FRIDAY - timedelta(hours=1))
    service.add_recipients(ACTOR, "orders", [_recipient(n) for n in range(4, 9)])
    service.add_recipients(ACTOR, "orders", [_recipient(4)])  # a duplicate
    withdrawn = next(
        d.id for d in service.requests(ACTOR, "orders") if d.recipient.transaction_id == "T8"
    )
    service.remove_requests(ACTOR, "orders", [withdrawn])
    rk.SuppressionService(store, clock).suppress("c7@example.com")
    service.schedule(ACTOR, "orders")
    clock.set(FRIDAY)
    dispatcher = rk.Dispatcher(store, outbox, clock, worker_id="w")
    seen.append(_report(dispatcher.dispatch_due()))
    outbox.fail_next(1)  # the second send is retried later
    seen.append(_report(dispatcher.dispatch_due()))
    clock.set(FRIDAY + timedelta(minutes=1))
    seen.append(_report(dispatcher.dispatch_due()))
    seen.append(service.get(ACTOR, "orders").status)
    clock.set(datetime(2026, 1, 10, 12, 0, tzinfo=WARSAW))  # Saturday
    seen.append(service.get(ACTOR, "orders").status)
    outbox.fail_next(1, kind=rk.PermanentSendError)
    seen.append(_report(dispatcher.run(max_passes=200)))
    seen.append([(m.to, m.subject, m.created_at) for m in outbox.sent])
    for d in sorted(service.requests(ACTOR, "orders"), key=lambda d: d.created_at or FRIDAY):
        seen.append(
            (
                d.recipient.transaction_id,
                d.status,
                d.attempts,
                d.sent_at,
                d.last_error,
                d.reason,
                d.reminders_sent,
                d.remind_at,
                d.due_at,
                d.message_id == next(iter(store.iter_requests(d.campaign_id))).message_id,
            )
        )
    seen.append(service.counts(ACTOR, "orders"))
    seen.append(service.get(ACTOR, "orders").status)
    view = rk.CollectionService(store, clock)
    for query in (
        rk.RequestQuery(),
        rk.RequestQuery(categories=(rk.RequestCategory.SENT,), segments=("a",)),
        rk.RequestQuery(categories=(rk.RequestCategory.REJECTED,)),
        rk.RequestQuery(categories=(rk.RequestCategory.UNDELIVERED,)),
        rk.RequestQuery(search=rk.parse_search("T5")),
    ):
        page = view.page(ACTOR, query, page_size=25)
        seen.append([d.recipient.transaction_id for d in page.items])
    campaign_id = store.get_campaign("orders").id
    for n, score in ((1, 9), (2, 3), (3, 10)):
        add_answer(
            store, campaign_id, f"a{n}@example.com", score=score,
            at=FRIDAY + timedelta(days=3), segment="ab"[n % 2],
        )  # fmt: skip
    scores = rk.ScoreService(store).scores(
        rk.SurveyType.NPS, by="segment", period="week", timezone="Europe/Warsaw"
    )
    seen.append(scores)
    return seen


def _report(report: rk.DispatchReport) -> tuple[object, ...]:
    return (
        report.sent,
        report.failed,
        report.retried,
        report.suppressed,
        report.reminded,
        report.completed,
        report.next_wakeup,
    )


def test_memory_and_sqlite_give_the_same_results(tmp_path: Path) -> None:
    """Claim order, retries, suppression, reminders, the view and scores agree exactly."""
    memory = scenario(rk.InMemoryStore())
    with SQLiteStore(tmp_path / "parity.sqlite3") as sqlite:
        on_disk = scenario(sqlite)
    assert len(memory) == len(on_disk)
    for step, (a, b) in enumerate(zip(memory, on_disk, strict=True)):
        assert a == b, f"step {step} differs"
    # The first message goes to the request without a due time, as both stores order claims.
    sent = memory[6]
    assert sent[0][0] == "c1@example.com"


def test_reset_empties_the_memory_store(tmp_path: Path) -> None:
    """After reset() the scenario runs again from nothing: every table was emptied."""
    store = rk.InMemoryStore()
    first = scenario(store)
    assert store.record_firing("rule", "T-1", FRIDAY)
    store.reset()
    assert store.record_firing("rule", "T-1", FRIDAY)  # the firing was forgotten too
    assert store.campaigns == []
    assert store.requests == []
    assert scenario(store) == first
