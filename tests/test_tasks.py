"""Tasks: deadlines in working time, the status machine, escalation, the HTTP tracker on
127.0.0.1 with retries, and the follow-up survey when a task is done."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import hypothesis.strategies as st
import pytest
from hypothesis import given

import reviewkit as rk
from reviewkit.domain.alerts import Transition
from reviewkit.domain.tasks import add_working_time
from reviewkit.domain.window import openings
from reviewkit.errors import StaleVersionError, ValidationError

WARSAW = rk.load_zone("Europe/Warsaw")
OFFICE = rk.SendWindow(weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL"))
FRIDAY_16 = datetime(2026, 12, 4, 16, 0, tzinfo=WARSAW)
_NAIVE_BOUNDS = (datetime(2026, 1, 1), datetime(2028, 12, 31))  # noqa: DTZ001 - hypothesis wants naive


def test_four_working_hours_from_friday_afternoon_is_monday_noon() -> None:
    """Friday 16:00 + 4 working hours (09:00-17:00) → Monday 12:00."""
    due = add_working_time(FRIDAY_16, timedelta(hours=4), OFFICE, "Europe/Warsaw")
    assert due.astimezone(WARSAW) == datetime(2026, 12, 7, 12, 0, tzinfo=WARSAW)


def test_holidays_and_the_dst_night_do_not_count() -> None:
    """Over Christmas (24-26 December) the clock stops; across the night the clocks go back,
    a working hour is still one hour."""
    due = add_working_time(
        datetime(2026, 12, 23, 16, 0, tzinfo=WARSAW), timedelta(hours=2), OFFICE, "Europe/Warsaw"
    )
    assert due.astimezone(WARSAW) == datetime(2026, 12, 28, 10, 0, tzinfo=WARSAW)
    always = rk.SendWindow()
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, before the change
    assert add_working_time(
        start, timedelta(hours=3), always, "Europe/Warsaw"
    ) == start + timedelta(hours=3)


@given(
    st.datetimes(*_NAIVE_BOUNDS, timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=60 * 60 * 100),
)
def test_working_time_between_start_and_deadline_is_the_duration(
    start: datetime, seconds: int
) -> None:
    """The time inside the window from start to the deadline is exactly the duration, and
    the deadline is inside the window (or at its closing edge)."""
    due = add_working_time(start, timedelta(seconds=seconds), OFFICE, "Europe/Warsaw")
    assert due >= start
    counted = 0
    first = int(start.timestamp()) + (1 if start.microsecond else 0)
    for opened, closed in openings(OFFICE, WARSAW, first):
        if opened >= due.timestamp():
            break
        counted += min(closed, int(due.timestamp())) - opened
    assert counted == seconds


def test_negative_working_time_is_refused() -> None:
    """A task cannot be due before it was opened."""
    with pytest.raises(ValidationError, match="negative"):
        add_working_time(FRIDAY_16, timedelta(hours=-1), OFFICE, "Europe/Warsaw")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Store]:
    if request.param == "memory":
        yield rk.InMemoryStore()
    else:
        sqlite = rk.SQLiteStore(tmp_path / "tasks.sqlite3")
        yield sqlite
        sqlite.close()


PEOPLE = [
    rk.Assignee(name="ola", timezone="Europe/Warsaw", window=OFFICE, escalate_to="marta"),
    rk.Assignee(name="marta", timezone="Europe/Warsaw", window=OFFICE),
]


def test_a_task_moves_open_in_progress_done_and_no_further(store: rk.Store) -> None:
    """Start, note, done; a done task cannot be started again; the notes keep who and when."""
    clock = rk.ManualClock(FRIDAY_16)
    tasks = rk.TaskService(store, clock, assignees=PEOPLE)
    task = tasks.open("Call Ala back", assignee="ola", within=timedelta(hours=4))
    assert task.deadline == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    tasks.start(task.id, by="ola")
    tasks.note(task.id, "left a voicemail", by="ola")
    done = tasks.done(task.id, by="ola", note="refund sent")
    assert done.status is rk.TaskStatus.DONE
    assert done.closed_at == FRIDAY_16
    assert [n.text for n in done.notes] == ["left a voicemail", "refund sent"]
    with pytest.raises(rk.TaskStateError, match="is done"):
        tasks.start(task.id, by="ola")
    assert tasks.tasks([rk.TaskStatus.DONE]) == [done]


def test_unknown_assignees_and_bad_deadlines_are_refused(store: rk.Store) -> None:
    """A task for someone unknown, or with both a working time and a deadline, is refused."""
    tasks = rk.TaskService(store, rk.ManualClock(FRIDAY_16), assignees=PEOPLE)
    with pytest.raises(ValidationError, match="no assignee 'zoe'"):
        tasks.open("x", assignee="zoe")
    with pytest.raises(ValidationError, match="either within"):
        tasks.open("x", assignee="ola", within=timedelta(hours=1), deadline=FRIDAY_16)
    with pytest.raises(ValidationError, match="not an assignee"):
        rk.TaskService(
            store, rk.ManualClock(FRIDAY_16), assignees=[rk.Assignee(name="a", escalate_to="b")]
        )
    assert tasks.tasks() == []


def test_a_stale_save_is_refused(store: rk.Store) -> None:
    """Two people change one task at once: the second save is a StaleVersionError."""
    tasks = rk.TaskService(store, rk.ManualClock(FRIDAY_16), assignees=PEOPLE)
    task = tasks.open("x", assignee="ola")
    store.save_task(task.noted("ola", "first", FRIDAY_16))
    with pytest.raises(StaleVersionError):
        store.save_task(task.noted("marta", "second", FRIDAY_16))


def test_overdue_tasks_escalate_once_with_a_new_deadline(store: rk.Store) -> None:
    """Past its deadline Ola's task goes to Marta, due 4 of Marta's working hours later; Marta
    escalates to nobody, so it stays with her."""
    clock = rk.ManualClock(FRIDAY_16)
    tasks = rk.TaskService(store, clock, assignees=PEOPLE)
    task = tasks.open("Call back", assignee="ola", within=timedelta(hours=4))
    assert tasks.escalate(datetime(2026, 12, 7, 11, 0, tzinfo=UTC)) == []  # due, not overdue
    clock.set(datetime(2026, 12, 7, 13, 0, tzinfo=WARSAW))
    (moved,) = tasks.escalate()
    assert (moved.assignee, moved.escalations) == ("marta", 1)
    assert moved.deadline is not None
    assert moved.deadline.astimezone(WARSAW) == datetime(2026, 12, 7, 17, 0, tzinfo=WARSAW)
    assert "escalated from ola" in moved.notes[-1].text
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=WARSAW))
    assert tasks.escalate() == []
    assert tasks.get(task.id).assignee == "marta"


def _angry_answer(store: rk.Store, at: datetime, n: int = 1) -> tuple[rk.Answer, rk.Request]:
    campaigns = store.list_campaigns()
    campaign = (
        campaigns[0] if campaigns else store.add_campaign(rk.Campaign(name="c", created_at=at))
    )
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(
            email=f"a{n}@example.com", name="Ala", transaction_id=f"O-{n}", segment="Kraków"
        ),
        channel=rk.Channel.EMAIL,
        address=f"a{n}@example.com",
    )
    store.add_requests([request])
    answer = store.add_answer(
        rk.Answer(
            request_id=request.id,
            campaign_id=campaign.id,
            kind=rk.SurveyType.NPS,
            score=1,
            comment="Broken",
            at=at,
            segment="Kraków",
        )
    )
    return answer, request


def test_a_task_from_an_alert_carries_its_answer(store: rk.Store) -> None:
    """open_for_alert names the rule, notes the evidence and links the answer and request."""
    clock = rk.ManualClock(FRIDAY_16)
    answer, request = _angry_answer(store, FRIDAY_16)
    alerts = rk.AlertService(store, clock)
    alerts.add_rule(rk.AnswerRule(name="angry", survey=rk.SurveyType.NPS))
    alerts.on_answer(answer, request)
    (alert,) = alerts.alerts()
    tasks = rk.TaskService(store, clock, assignees=PEOPLE)
    task = tasks.open_for_alert(alert, assignee="ola", within=timedelta(hours=2))
    assert task.title.startswith("angry: NPS answer 1 from Ala")
    assert (task.alert, task.answer_id, task.request_id) == (
        alert.fingerprint,
        answer.id,
        request.id,
    )
    assert 'Comment: "Broken"' in task.notes[0].text


class _RecordingSink:
    """A task sink that records what it was told."""

    def __init__(self) -> None:
        self.pushed: list[rk.Task] = []

    def push(self, task: rk.Task) -> None:
        self.pushed.append(task)


class _Inbox:
    def __init__(self) -> None:
        self.told: list[tuple[str, rk.Notification]] = []

    def notify(self, receiver: str, notifications: list[rk.Notification]) -> None:
        self.told += [(receiver, n) for n in notifications]


def test_a_route_opens_a_task_for_its_receiver_when_an_alert_fires(store: rk.Store) -> None:
    """An alert firing on a route with task_within opens one task for the route's receiver,
    due in their working time, told to the tracker once; a route repeating the
    alert opens no second task; other routes open none."""
    clock = rk.ManualClock(FRIDAY_16)
    tracker = _RecordingSink()
    tasks = rk.TaskService(store, clock, assignees=PEOPLE, sink=tracker)
    alerts = rk.AlertService(
        store,
        clock,
        routes=[
            rk.Route(
                receiver="ola",
                matchers={"severity": "critical"},
                task_within=timedelta(hours=4),
                repeat_interval=timedelta(hours=1),
            ),
            rk.Route(receiver="care"),
        ],
        tasks=tasks,
    )
    alerts.add_rule(rk.AnswerRule(name="angry", survey=rk.SurveyType.NPS, severity="critical"))
    answer, request = _angry_answer(store, FRIDAY_16)
    alerts.on_answer(answer, request)
    (task,) = tasks.tasks()
    (alert,) = alerts.alerts()
    assert (task.assignee, task.alert, task.answer_id) == ("ola", alert.fingerprint, answer.id)
    assert task.deadline is not None
    assert task.deadline.astimezone(WARSAW) == datetime(2026, 12, 7, 12, 0, tzinfo=WARSAW)
    assert [t.id for t in tracker.pushed] == [task.id]
    clock.advance(timedelta(hours=2))
    alerts.evaluate()  # repeats the firing alert to ola's route
    assert len(tasks.tasks()) == 1
    assert len(store.list_notifications()) == 3


def test_routes_that_open_tasks_need_a_task_service_that_knows_the_receiver(
    store: rk.Store,
) -> None:
    """A route opening tasks without a task service, or for someone who is not an assignee,
    is refused when the alert service is made."""
    clock = rk.ManualClock(FRIDAY_16)
    route = rk.Route(receiver="zoe", task_within=timedelta(hours=1))
    with pytest.raises(ValidationError, match="give the alert service a task service"):
        rk.AlertService(store, clock, routes=[route])
    with pytest.raises(ValidationError, match="no assignee 'zoe'"):
        rk.AlertService(
            store, clock, routes=[route], tasks=rk.TaskService(store, clock, assignees=PEOPLE)
        )
    with pytest.raises(ValidationError, match="task_within must be positive"):
        rk.Route(receiver="ola", task_within=timedelta(0))
    with pytest.raises(ValidationError, match="escalations go to the next assignee"):
        rk.Route(receiver="ola", transitions=["escalated"])


def test_an_overdue_alert_task_tells_the_next_person_once(store: rk.Store) -> None:
    """Past the deadline the task moves from Ola to Marta, and Marta (not the route) gets
    an ESCALATED notification naming the task, the missed deadline and the alert's evidence,
    delivered once; a second escalation pass tells nobody again."""
    clock = rk.ManualClock(FRIDAY_16)
    tasks = rk.TaskService(store, clock, assignees=PEOPLE)
    alerts = rk.AlertService(
        store, clock, routes=[rk.Route(receiver="ola", task_within=timedelta(hours=4))], tasks=tasks
    )
    alerts.add_rule(rk.AnswerRule(name="angry", survey=rk.SurveyType.NPS))
    alerts.on_answer(*_angry_answer(store, FRIDAY_16))
    inbox = _Inbox()
    assert alerts.deliver(inbox) == 1
    clock.set(datetime(2026, 12, 7, 13, 0, tzinfo=WARSAW))
    chore = rk.TaskChore(tasks)
    assert chore.run(clock.now()) == clock.now() + timedelta(minutes=1)
    assert chore.escalated == 1
    assert alerts.deliver(inbox) == 1
    receiver, told = inbox.told[-1]
    assert receiver == "marta"
    assert told.transition is Transition.ESCALATED
    assert told.subject == "[ESCALATED] angry"
    text = told.text()
    assert "was ola's and passed 2026-12-07T11:00:00+00:00" in text
    assert "It is now marta's, due 2026-12-07T16:00:00+00:00 (escalation 1)" in text
    assert 'Comment: "Broken"' in text
    chore.run(clock.now())
    assert alerts.deliver(inbox) == 0


def test_an_escalated_task_without_an_alert_reaches_the_tracker_only(store: rk.Store) -> None:
    """A task the host opened (no alert) escalates and is pushed to the tracker; nothing
    goes to the alerts' outbox."""
    clock = rk.ManualClock(FRIDAY_16)
    tracker = _RecordingSink()
    tasks = rk.TaskService(store, clock, assignees=PEOPLE, sink=tracker)
    tasks.open("Call back", assignee="ola", within=timedelta(hours=1))
    clock.set(datetime(2026, 12, 7, 13, 0, tzinfo=WARSAW))
    (moved,) = tasks.escalate()
    assert tracker.pushed[-1] == moved
    assert store.list_notifications() == []


def test_done_sends_the_follow_up_survey_through_the_request_path(store: rk.Store) -> None:
    """When the task about Ala's answer is done, a request to Ala is queued in the follow-up
    campaign."""
    clock = rk.ManualClock(FRIDAY_16)
    me = rk.Actor.system(email="owner@shop.example")
    campaigns = rk.CampaignService(store, clock)
    campaigns.create(me, name="orders", sender="s@shop.example", subject="s", body="b")
    campaigns.create(me, name="did we solve it", sender="s@shop.example", subject="s", body="b")
    campaigns.add_recipients(
        me, "orders", [rk.Recipient(email="ala@example.com", transaction_id="O-7")]
    )
    (request,) = campaigns.requests(me, "orders")
    answer = store.add_answer(
        rk.Answer(
            request_id=request.id,
            campaign_id=request.campaign_id,
            kind=rk.SurveyType.NPS,
            score=2,
            at=FRIDAY_16,
        )
    )
    tasks = rk.TaskService(
        store, clock, assignees=PEOPLE, on_done=rk.FollowUpSurvey(campaigns, "did we solve it", me)
    )
    task = tasks.open("Fix it", assignee="ola", answer=answer)
    tasks.done(task.id, by="ola")
    (follow_up,) = campaigns.requests(me, "did we solve it")
    assert (follow_up.address, follow_up.recipient.transaction_id) == ("ala@example.com", "O-7")


class _Tracker(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_first:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        type(self).received.append({"auth": self.headers["Authorization"], **json.loads(body)})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tracker() -> Iterator[tuple[str, type[_Tracker]]]:
    handler = type("Tracker", (_Tracker,), {"received": [], "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tasks", handler
    server.shutdown()
    server.server_close()


def test_the_http_tracker_gets_every_change_and_busy_answers_are_retried(
    tracker: tuple[str, type[_Tracker]],
) -> None:
    """A real HTTP server on 127.0.0.1 answers 503 twice, then takes the task; every later
    change reaches it too, with the Authorization header."""
    url, handler = tracker
    handler.fail_first = 2
    clock = rk.ManualClock(FRIDAY_16)
    sink = rk.HTTPTaskSink(url, headers={"Authorization": "Bearer t0ken"}, timeout=5)
    tasks = rk.TaskService(rk.InMemoryStore(), clock, assignees=PEOPLE, sink=sink)
    task = tasks.open("Call back", assignee="ola", within=timedelta(hours=1))
    tasks.done(task.id, by="ola")
    assert [(r["id"], r["status"]) for r in handler.received] == [
        (task.id, "open"),
        (task.id, "done"),
    ]
    assert handler.received[0]["auth"] == "Bearer t0ken"
    assert handler.received[0]["event"] == "task"
    assert clock.now() > FRIDAY_16  # the retries waited (on the manual clock)


def test_a_tracker_that_stays_down_does_not_undo_the_task() -> None:
    """Nothing listens on the port: the task is still stored, the failure logged."""
    sink = rk.HTTPTaskSink("http://127.0.0.1:9/tasks", timeout=0.5)
    store = rk.InMemoryStore()
    tasks = rk.TaskService(store, rk.ManualClock(FRIDAY_16), assignees=PEOPLE, sink=sink)
    task = tasks.open("x", assignee="ola")
    assert store.get_task(task.id) == task


def test_tracker_urls_must_be_http() -> None:
    """A file: or ftp: URL for the tracker is refused at once."""
    with pytest.raises(ValidationError, match="http or https"):
        rk.HTTPTaskSink("file:///etc/passwd")
