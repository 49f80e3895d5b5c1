"""Tasks: follow-ups on alerts and answers, with deadlines in the assignee's working time.

::

    tasks = TaskService(store, clock, assignees=[
        Assignee(name="ola", timezone="Europe/Warsaw",
                 window=SendWindow(weekdays="mon-fri", hours="09:00-17:00",
                                   holidays=HolidayCalendar("PL")),
                 escalate_to="marta"),
        Assignee(name="marta", timezone="Europe/Warsaw"),
    ], sink=HTTPTaskSink("https://tracker.example/api/tasks"))
    task = tasks.open_for_alert(alert, assignee="ola", within=timedelta(hours=4))
    tasks.done(task.id, by="ola", note="Called the customer, refund sent")
    tasks.escalate()          # overdue tasks move to the assignee's escalate_to

Every change is saved with optimistic concurrency and then pushed to the host's tracker
(:class:`~reviewkit.ports.TaskSink`), retried with backoff when the tracker is busy; a push
that fails for good is logged and does not undo the change. An escalated task about an
alert also puts a notification for its new assignee in the alerts' outbox (in the same
transaction), which the alert service's delivery hands to the notifier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.alerts import Alert, Transition
from reviewkit.domain.answers import Answer
from reviewkit.domain.instants import as_utc
from reviewkit.domain.notifications import Escalation, Notification
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import RetryPolicy
from reviewkit.domain.tasks import Assignee, Task, TaskStatus
from reviewkit.errors import NotFoundError, TransientSendError, TransportError, ValidationError
from reviewkit.ports import Clock, Store, TaskSink
from reviewkit.services.campaigns import CampaignService

__all__ = ["FollowUpSurvey", "TaskChore", "TaskService"]

log = logging.getLogger(__name__)

TaskHook = Callable[[Task], None]
"""Called with a task that was just done (a follow-up survey, for example)."""


class TaskService:
    """Open, move, note, escalate and sync tasks.

    :param assignees: the people tasks may be given to (their zones and working windows).
    :param sink: the host's tracker, told of every change.
    :param on_done: called with each task that is done (e.g. :class:`FollowUpSurvey`).
    :param retry: backoff for a busy tracker.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        assignees: Iterable[Assignee] = (),
        sink: TaskSink | None = None,
        on_done: TaskHook | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.assignees = {a.name: a for a in assignees}
        for person in self.assignees.values():
            if person.escalate_to is not None and person.escalate_to not in self.assignees:
                raise ValidationError(
                    f"{person.name} escalates to {person.escalate_to!r}, who is not an assignee"
                )
        self.sink = sink
        self.on_done = on_done
        self.retry = retry or RetryPolicy(base=timedelta(seconds=1), max_attempts=4)

    def assignee(self, name: str) -> Assignee:
        """The assignee called *name*.

        :raises ValidationError: no such assignee.
        """
        return self._person(name)

    def _person(self, name: str) -> Assignee:
        try:
            return self.assignees[name]
        except KeyError:
            known = ", ".join(sorted(self.assignees)) or "none"
            raise ValidationError(f"no assignee {name!r} (assignees: {known})") from None

    # -- opening ----------------------------------------------------------------------------

    def open(
        self,
        title: str,
        *,
        assignee: str,
        within: timedelta | None = None,
        deadline: datetime | None = None,
        alert: str | None = None,
        answer: Answer | None = None,
        note: str | None = None,
        by: str = "reviewkit",
        push: bool = True,
    ) -> Task:
        """Open a task for *assignee*, due *within* their working time from now (or at
        *deadline*).

        :param push: tell the tracker now; ``False`` when the caller saves it inside a
            transaction of its own and calls :meth:`push` after the commit.
        :raises ValidationError: an unknown assignee, both or a negative *within*, a naive
            *deadline*.
        """
        person = self._person(assignee)
        now = as_utc(self.clock.now())
        if within is not None and deadline is not None:
            raise ValidationError("give a task either within (working time) or a deadline")
        due = person.deadline(now, within) if within is not None else None
        if deadline is not None:
            due = as_utc(deadline, "the deadline")
        task = Task(
            title=title,
            assignee=person.name,
            created_at=now,
            deadline=due,
            within=within,
            alert=alert,
            answer_id=None if answer is None else answer.id,
            request_id=None if answer is None else answer.request_id,
        )
        return self._add(task.noted(by, note, now) if note else task, push)

    def open_for_alert(
        self,
        alert: Alert,
        *,
        assignee: str,
        within: timedelta,
        title: str | None = None,
        push: bool = True,
    ) -> Task:
        """Open a task about *alert*, its evidence (the answer, the comment) in a note.

        :param push: as for :meth:`open`.
        """
        evidence = alert.evidence
        person = self._person(assignee)
        now = as_utc(self.clock.now())
        task = Task(
            title=(title or f"{alert.rule_name}: {evidence.summary}")[:500],
            assignee=person.name,
            created_at=now,
            deadline=person.deadline(now, within),
            within=within,
            alert=alert.fingerprint,
            answer_id=evidence.answer_id,
            request_id=evidence.request_id,
        ).noted(
            "reviewkit",
            evidence.summary + (f'\nComment: "{evidence.comment}"' if evidence.comment else ""),
            now,
        )
        return self._add(task, push)

    def _add(self, task: Task, push: bool) -> Task:
        stored = self.store.add_task(task)
        log.info("task %s opened for %s, due %s", stored.id, stored.assignee, stored.deadline)
        if push:
            self.push(stored)
        return stored

    # -- moving -----------------------------------------------------------------------------

    def get(self, task_id: str) -> Task:
        """One task.

        :raises NotFoundError: no such task.
        """
        return self.store.get_task(task_id)

    def tasks(
        self, statuses: Collection[TaskStatus] | None = None, assignee: str | None = None
    ) -> list[Task]:
        """Tasks (in *statuses*, of *assignee*), by deadline."""
        return self.store.list_tasks(statuses, assignee)

    def start(self, task_id: str, *, by: str) -> Task:
        """*by* starts working on it (Open → In progress)."""
        return self._move(task_id, TaskStatus.IN_PROGRESS, by, None)

    def done(self, task_id: str, *, by: str, note: str | None = None) -> Task:
        """It is dealt with; ``on_done`` runs (a follow-up survey, for example).

        :raises TaskStateError: it was already done or cancelled.
        """
        task = self._move(task_id, TaskStatus.DONE, by, note)
        if self.on_done is not None:
            self.on_done(task)
        return task

    def cancel(self, task_id: str, *, by: str, note: str | None = None) -> Task:
        """It is not needed any more."""
        return self._move(task_id, TaskStatus.CANCELLED, by, note)

    def assign(self, task_id: str, assignee: str, *, by: str) -> Task:
        """Give it to someone else; a task given a working time gets a new deadline in theirs.

        :raises ValidationError: an unknown assignee.
        """
        person = self._person(assignee)
        now = as_utc(self.clock.now())
        task = self.store.get_task(task_id)
        deadline = person.deadline(now, task.within) if task.within else task.deadline
        changed = attrs.evolve(task, assignee=person.name, deadline=deadline).noted(
            by, f"assigned to {person.name}", now
        )
        return self._save(changed)

    def note(self, task_id: str, text: str, *, by: str) -> Task:
        """Add a note."""
        task = self.store.get_task(task_id)
        return self._save(task.noted(by, text, as_utc(self.clock.now())))

    def escalate(self, now: datetime | None = None) -> list[Task]:
        """Give every overdue task whose assignee has an ``escalate_to`` to that person, with
        a new deadline in their working time; return the escalated tasks.

        A task about an alert also puts an :class:`~reviewkit.domain.alerts.Transition`
        ``ESCALATED`` notification for the new assignee (the receiver is their name) in the
        alerts' outbox, in the same transaction as the move, so the next person is told
        exactly once even if the worker dies; a task without an alert reaches them through
        the tracker only.
        """
        now = as_utc(now or self.clock.now())
        moved = []
        for task in self.store.list_tasks([TaskStatus.OPEN, TaskStatus.IN_PROGRESS]):
            if not task.overdue(now):
                continue
            person = self.assignees.get(task.assignee)
            if person is None or person.escalate_to is None:
                continue
            target = self._person(person.escalate_to)
            deadline = target.deadline(now, task.within) if task.within else None
            changed = attrs.evolve(
                task,
                assignee=target.name,
                deadline=deadline,
                escalations=task.escalations + 1,
                status=TaskStatus.OPEN,
            ).noted(
                "reviewkit",
                f"escalated from {person.name}: the deadline "
                f"{task.deadline.isoformat() if task.deadline else ''} passed",
                now,
            )
            with self.store.transaction():
                stored = self.store.save_task(changed)
                alert = None if task.alert is None else self.store.get_alert(task.alert)
                if alert is not None:
                    self.store.add_notifications(
                        [
                            Notification(
                                receiver=target.name,
                                transition=Transition.ESCALATED,
                                alert=alert,
                                escalation=Escalation(
                                    task_id=task.id,
                                    previous=person.name,
                                    missed=task.deadline,
                                    deadline=deadline,
                                    escalations=stored.escalations,
                                ),
                                created_at=now,
                                due_at=now,
                            )
                        ]
                    )
            self.push(stored)
            moved.append(stored)
            log.warning(
                "task %s overdue: escalated from %s to %s", task.id, person.name, target.name
            )
        return moved

    def _move(self, task_id: str, to: TaskStatus, by: str, note: str | None) -> Task:
        now = as_utc(self.clock.now())
        task = self.store.get_task(task_id).moved(to, now)
        if note:
            task = task.noted(by, note, now)
        return self._save(task)

    def _save(self, task: Task) -> Task:
        stored = self.store.save_task(task)
        self.push(stored)
        return stored

    def push(self, task: Task) -> None:
        """Tell the tracker about *task*, retrying a busy one; a failure is logged, never
        raised."""
        if self.sink is None:
            return
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                self.sink.push(task)
                return
            except TransientSendError as exc:
                if self.retry.gives_up(attempt):
                    log.error("task %s not pushed after %d attempts: %s", task.id, attempt, exc)
                    return
                wait = self.retry.backoff(attempt)
                log.warning("task tracker busy (%s); retrying in %s", exc, wait)
                self.clock.sleep_until(as_utc(self.clock.now()) + wait)
            except TransportError as exc:  # refused for good, or our credentials are wrong
                log.error("task tracker refused task %s: %s", task.id, exc)
                return


@attrs.frozen
class FollowUpSurvey:
    """``on_done`` for :class:`TaskService`: when a task about an answer is done, ask the
    customer again ("did we solve it?") through the normal request path, in *campaign*.

    :param campaigns: a campaign service; *actor* acts for it.
    """

    campaigns: CampaignService
    campaign: str
    actor: Actor

    def __call__(self, task: Task) -> None:
        if task.request_id is None:
            return
        service = self.campaigns
        try:
            original = service.store.get_request(task.request_id)
        except NotFoundError:
            log.warning("task %s: its request is gone; no follow-up survey", task.id)
            return
        recipient = attrs.evolve(
            original.recipient,
            transaction_id=original.recipient.transaction_id or f"task-{task.id}",
        )
        service.request(self.actor, self.campaign, recipient)
        log.info("task %s done: follow-up survey queued in %s", task.id, self.campaign)


class TaskChore:
    """Escalation of overdue tasks as a :class:`~reviewkit.ports.Chore` of a dispatcher:
    every *every*, :meth:`TaskService.escalate`. With an :class:`AlertChore
    <reviewkit.services.alerts.AlertChore>` beside it, the next person is told through the
    alerts' outbox.

    ::

        Dispatcher(store, transport, clock, chores=[alert_chore, TaskChore(tasks)])
    """

    name = "task escalation"

    def __init__(self, tasks: TaskService, *, every: timedelta = timedelta(minutes=1)) -> None:
        if every <= timedelta(0):
            raise ValidationError(f"every must be a positive duration, not {every}")
        self.tasks = tasks
        self.every = every
        self.escalated = 0
        """How many tasks it has escalated."""

    def run(self, now: datetime) -> datetime:
        """Escalate once; return when to run again."""
        self.escalated += len(self.tasks.escalate(now))
        return as_utc(now) + self.every
