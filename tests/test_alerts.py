"""The alert service on both stores: rules kept, answers raising alerts through the answer
hook, level, drop and trend rules evaluated from the store's sums, notifications in the
outbox delivered once, retried, and never lost."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.domain.alerts import AlertState, Transition
from reviewkit.domain.notifications import NotificationStatus, render
from reviewkit.errors import ConflictError, NotFoundError, TransientSendError

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
NPS = rk.SurveyType.NPS
_SERIAL = itertools.count()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Store]:
    if request.param == "memory":
        yield rk.InMemoryStore()
    else:
        sqlite = rk.SQLiteStore(tmp_path / "alerts.sqlite3")
        yield sqlite
        sqlite.close()


class Outbox:
    """A notifier that records what it was told, and can be told to fail."""

    def __init__(self) -> None:
        self.told: list[rk.Notification] = []
        self.messages: list[tuple[str, str]] = []
        self.fail_next = 0

    def notify(self, receiver: str, notifications: Sequence[rk.Notification]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise TransientSendError("pager busy")
        assert all(n.receiver == receiver for n in notifications)
        self.told.extend(notifications)
        self.messages.append(render(notifications))


def _answer(
    store: rk.Store,
    score: int,
    *,
    at: datetime,
    segment: str = "vip",
    comment: str | None = None,
    store_name: str = "Kraków",
) -> tuple[rk.Answer, rk.Request]:
    campaigns = store.list_campaigns()
    campaign = (
        campaigns[0] if campaigns else store.add_campaign(rk.Campaign(name="nps", created_at=NOW))
    )
    n = next(_SERIAL)
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(
            email=f"c{n}@example.com",
            name="Ala",
            transaction_id=f"T-{n}",
            segment=segment,
            fields={"store": store_name},
        ),
        channel=rk.Channel.EMAIL,
        address=f"c{n}@example.com",
    )
    store.add_requests([request])
    answer = store.add_answer(
        rk.Answer(
            request_id=request.id,
            campaign_id=campaign.id,
            kind=NPS,
            score=score,
            comment=comment,
            at=at,
            segment=segment,
        )
    )
    return answer, request


def test_rules_are_kept_named_once_and_removed_with_their_alerts(store: rk.Store) -> None:
    """A rule round-trips through the store; a second of one name conflicts; removing it
    removes its alerts."""
    service = rk.AlertService(store, rk.ManualClock(NOW))
    rule = service.add_rule(rk.AnswerRule(name="angry", survey=NPS, labels={"team": "care"}))
    assert service.rules() == [rule]
    with pytest.raises(ConflictError):
        service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    answer, request = _answer(store, 2, at=NOW)
    service.on_answer(answer, request)
    assert len(service.alerts()) == 1
    assert service.remove_rule("angry") == rule
    assert service.rules() == []
    assert service.alerts() == []
    with pytest.raises(NotFoundError):
        service.remove_rule("angry")


def test_a_bad_answer_fires_with_its_comment_and_is_delivered_once(store: rk.Store) -> None:
    """An answer rule fires on NPS 2 with the comment as context; the route's receiver is told
    once, however often delivery runs."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS, words=["late"]))
    answer, request = _answer(store, 2, at=NOW, comment="Parcel came late")
    service.on_answer(answer, request)
    service.on_answer(*_answer(store, 9, at=NOW, comment="late but fine"))
    (alert,) = service.alerts()
    assert alert.state is AlertState.FIRING
    assert alert.evidence.comment == "Parcel came late"
    assert alert.evidence.transaction_id == request.recipient.transaction_id
    outbox = Outbox()
    assert service.deliver(outbox) == 1
    assert service.deliver(outbox) == 0
    (told,) = outbox.told
    assert told.receiver == "care"
    assert told.subject == "[FIRING] angry"
    assert 'Comment: "Parcel came late"' in told.text()


def test_the_answer_service_hook_evaluates_recorded_answers(store: rk.Store) -> None:
    """Registered as an answer hook, the alert service sees answers given on the answer page."""
    clock = rk.ManualClock(NOW)
    links = rk.LinkSigner({"k1": "a-long-enough-secret-for-the-tests"})
    answers = rk.AnswerService(store, clock, links)
    alerts = rk.AlertService(store, clock)
    alerts.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    answers.on_answer(alerts.on_answer)
    campaign = store.add_campaign(
        rk.Campaign(
            name="s",
            created_at=NOW,
            survey=rk.Survey(type=NPS, privacy_url="https://shop.example/privacy"),
        )
    )
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(email="a@example.com"),
        channel=rk.Channel.EMAIL,
        address="a@example.com",
        status=rk.RequestStatus.SENT,
        sent_at=NOW,
    )
    store.add_requests([request])
    token = links.sign(rk.TokenPurpose.ANSWER, request.id, now=NOW)
    answers.record(token, score=1)
    assert [a.state for a in alerts.alerts()] == [AlertState.FIRING]


def test_a_burst_in_one_store_fires_and_clears_as_the_span_passes(store: rk.Store) -> None:
    """3 bad answers within 2 hours in one store fire for that store only; 2 hours later the
    burst clears and the receiver hears it resolved."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(
        store, clock, routes=[rk.Route(receiver="krakow", matchers={"store": "Kraków"})]
    )
    service.add_rule(
        rk.BurstRule(name="burst", survey=NPS, by="field:store", count=3, within=timedelta(hours=2))
    )
    for minutes, name in [(0, "Kraków"), (10, "Gdańsk"), (20, "Kraków"), (30, "Kraków")]:
        service.on_answer(*_answer(store, 3, at=NOW + timedelta(minutes=minutes), store_name=name))
    (alert,) = service.alerts([AlertState.FIRING])
    assert alert.labels["store"] == "Kraków"
    clock.advance(timedelta(hours=3))
    result = service.evaluate()
    assert [a.fingerprint for a in result.resolved] == [alert.fingerprint]
    outbox = Outbox()
    service.deliver(outbox)
    assert [n.transition for n in outbox.told] == [Transition.FIRED, Transition.RESOLVED]


def test_level_and_drop_rules_read_the_store_sums(store: rk.Store) -> None:
    """A week of bad answers after a good week: the drop rule fires and so does the level
    rule for that segment; the other segment stays quiet."""
    for i in range(120):
        _answer(store, 10 if i % 10 < 6 else 8, at=NOW - timedelta(days=13, minutes=i))
        _answer(store, 3 if i % 10 < 6 else 9, at=NOW - timedelta(days=2, minutes=i))
        _answer(store, 10 if i % 2 else 8, at=NOW - timedelta(days=2, minutes=i), segment="new")
    service = rk.AlertService(store, rk.ManualClock(NOW))
    service.add_rule(rk.DropRule(name="drop", survey=NPS, window=timedelta(days=7), by="segment"))
    service.add_rule(
        rk.LevelRule(
            name="low",
            survey=NPS,
            worse_than=0,
            window=timedelta(days=7),
            by="segment",
            for_=timedelta(hours=1),
        )
    )
    result = service.evaluate()
    assert [(a.rule_name, a.group) for a in result.fired] == [("drop", "vip")]
    assert [(a.rule_name, a.group) for a in result.pending] == [("low", "vip")]
    later = service.evaluate(NOW + timedelta(hours=1))
    assert [(a.rule_name, a.group) for a in later.fired] == [("low", "vip")]
    fired = service.alerts([AlertState.FIRING])
    assert {a.group for a in fired} == {"vip"}
    drop = next(a for a in fired if a.rule_name == "drop")
    assert drop.evidence.previous is not None
    assert drop.evidence.change is not None
    assert drop.evidence.change < -50


def test_a_trend_over_complete_weeks(store: rk.Store) -> None:
    """Eight complete weeks sliding down fire the trend rule; the week in progress is left
    out, so answers in it change nothing."""
    for week in range(1, 9):
        promoters = week - 1  # of 10 answers: the older the week, the more promoters
        for i in range(40):
            score = 10 if i % 10 < promoters else 2
            _answer(store, score, at=NOW - timedelta(weeks=week, hours=-i))
    for i in range(30):
        _answer(store, 10, at=NOW + timedelta(hours=i))  # this week: excellent, incomplete
    service = rk.AlertService(store, rk.ManualClock(NOW + timedelta(days=2)))
    service.add_rule(rk.TrendRule(name="slide", survey=NPS, periods=8, timezone="Europe/Warsaw"))
    (alert,) = service.evaluate().fired
    assert alert.evidence.slope is not None
    assert alert.evidence.slope < 0


def test_a_topic_growing_in_one_store_fires_for_that_store_only(store: rk.Store) -> None:
    """Over eight complete weeks, more and more customers of one store mention queues: the
    topic rule fires for that store, not for the store where the share stays put, and the
    comments of the week in progress are left out."""
    for week in range(1, 9):
        mentioning = 9 - week  # of 40 answers a week: 1 eight weeks ago, 8 last week
        for i in range(40):
            for shop, hits in (("Kraków", mentioning), ("Gdańsk", 4)):
                comment = "Długa KOLEJKA do kasy" if i < hits else ("Miło" if i % 2 else None)
                _answer(
                    store,
                    9,
                    at=NOW - timedelta(weeks=week, hours=-i),
                    segment=shop,
                    comment=comment,
                )
    for i in range(40):  # this week, incomplete: nobody mentions queues in Kraków
        _answer(store, 9, at=NOW + timedelta(hours=i), segment="Kraków", comment="ok")
    service = rk.AlertService(store, rk.ManualClock(NOW + timedelta(days=2)))
    service.add_rule(
        rk.TopicRule(
            name="queues",
            survey=NPS,
            words=["kolejk"],
            topic="queues",
            by="segment",
            min_sample=20,
            timezone="Europe/Warsaw",
        )
    )
    (alert,) = service.evaluate().fired
    assert alert.group == "Kraków"
    assert alert.labels["segment"] == "Kraków"
    assert alert.evidence.value == pytest.approx(100 * 8 / 40)
    assert "2.5 % to 20.0 % over 8 weeks" in alert.evidence.summary


def test_a_failing_notifier_is_retried_and_nothing_is_lost(store: rk.Store) -> None:
    """A transient failure puts the notification back with backoff; it is told once, later."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    service.on_answer(*_answer(store, 0, at=NOW))
    outbox = Outbox()
    outbox.fail_next = 1
    assert service.deliver(outbox) == 0
    (waiting,) = store.list_notifications([NotificationStatus.PENDING])
    assert waiting.last_error == "pager busy"
    assert service.deliver(outbox) == 0  # not due yet
    clock.advance(timedelta(minutes=5))
    assert service.deliver(outbox) == 1
    assert len(outbox.told) == 1


def test_a_worker_that_dies_leaves_its_notifications_to_the_next(store: rk.Store) -> None:
    """Claimed and never finished: after the lease another worker sends it; the dead worker's
    late finish is refused."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    service.on_answer(*_answer(store, 0, at=NOW))
    (held,) = store.claim_notifications(
        now=NOW, limit=10, worker_id="dead", lease_until=NOW + timedelta(minutes=2)
    )
    outbox = Outbox()
    assert service.deliver(outbox, worker_id="w2") == 0  # still leased
    clock.advance(timedelta(minutes=3))
    assert service.deliver(outbox, worker_id="w2") == 1
    assert not store.finish_notification(held.id, worker_id="dead", status=NotificationStatus.SENT)
    assert len(outbox.told) == 1


def test_resolving_by_hand_tells_the_route(store: rk.Store) -> None:
    """An operator resolves an answer alert; the receiver hears it was resolved."""
    service = rk.AlertService(store, rk.ManualClock(NOW), routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    service.on_answer(*_answer(store, 0, at=NOW))
    (alert,) = service.alerts()
    assert service.resolve(alert.fingerprint).state is AlertState.RESOLVED
    outbox = Outbox()
    service.deliver(outbox)
    assert [n.subject for n in outbox.told] == ["[FIRING] angry", "[RESOLVED] angry"]
    with pytest.raises(NotFoundError):
        service.resolve("nope")


def test_alert_state_and_its_notifications_commit_together(tmp_path: Path) -> None:
    """If recording the notification fails, the alert's new state is rolled back too, so the
    next evaluation fires it again and nothing is lost."""

    class Failing(rk.InMemoryStore):
        fail = True

        def add_notifications(self, notifications: object) -> None:
            if self.fail:
                raise rk.StorageFullError("disk full")
            super().add_notifications(notifications)  # type: ignore[arg-type]

    store = Failing()
    service = rk.AlertService(store, rk.ManualClock(NOW), routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    answer, request = _answer(store, 0, at=NOW)
    with pytest.raises(rk.StorageFullError):
        service.on_answer(answer, request)
    assert service.alerts() == []
    store.fail = False
    service.on_answer(answer, request)
    assert len(store.list_notifications()) == 1


def test_evaluate_catches_up_on_answers_recorded_elsewhere_once(store: rk.Store) -> None:
    """Answers stored by another process reach the answer rules at the next evaluation, once:
    an alert resolved by hand does not fire again for the same answer."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    answer, request = _answer(store, 1, at=NOW - timedelta(hours=1))
    _answer(store, 1, at=NOW - timedelta(days=3))  # older than the catch-up span
    (fired,) = service.evaluate().fired
    assert fired.evidence.answer_id == answer.id
    service.resolve(fired.fingerprint)
    assert service.evaluate().fired == ()
    service.on_answer(answer, request)  # a retried hook: already seen
    assert [a.state for a in service.alerts()] == [AlertState.RESOLVED]


def test_the_webhook_notifier_posts_to_a_real_server_and_busy_is_retried(
    tmp_path: Path,
) -> None:
    """A chat webhook on 127.0.0.1 answers 503 once, then takes the JSON; the notification is
    retried after its backoff and carries the alert's labels and evidence."""
    import json as json_module
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from reviewkit.adapters.notifier import WebhookNotifier

    got: list[dict[str, object]] = []
    answers = iter([503, 200])

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            code = next(answers)
            if code == 200:
                got.append(json_module.loads(body))
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = rk.InMemoryStore()
        clock = rk.ManualClock(NOW)
        service = rk.AlertService(store, clock, routes=[rk.Route(receiver="#care")])
        service.add_rule(rk.AnswerRule(name="angry", survey=NPS, labels={"team": "care"}))
        service.on_answer(*_answer(store, 0, at=NOW, comment="Awful"))
        hook = WebhookNotifier(f"http://127.0.0.1:{server.server_address[1]}/hook", timeout=5)
        assert service.deliver(hook) == 0
        clock.advance(timedelta(minutes=5))
        assert service.deliver(hook) == 1
    finally:
        server.shutdown()
        server.server_close()
    (payload,) = got
    assert payload["receiver"] == "#care"
    assert payload["subject"] == "[FIRING] angry (team=care)"
    (sent,) = payload["notifications"]  # type: ignore[misc]
    assert sent["alert"]["evidence"]["comment"] == "Awful"
    with pytest.raises(rk.ValidationError, match="http or https"):
        WebhookNotifier("ftp://x")


def test_a_rule_added_later_catches_up_on_answers_no_rule_saw(store: rk.Store) -> None:
    """An answer recorded through the hook while there were no answer rules is not marked
    seen, so a rule added afterwards fires for it at the next evaluation."""
    clock = rk.ManualClock(NOW)
    service = rk.AlertService(store, clock)
    service.on_answer(*_answer(store, 0, at=NOW))  # no rules yet
    service.add_rule(rk.AnswerRule(name="angry", survey=NPS))
    assert [a.rule_name for a in service.evaluate().fired] == ["angry"]
