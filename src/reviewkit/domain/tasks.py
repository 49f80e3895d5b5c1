"""Tasks: someone follows up on an alert or an answer, by a deadline counted in working time.

A task has an assignee (an :class:`Assignee` with a time zone and a working window), a
deadline, a status — Open → In progress → Done, or Cancelled — and notes. "Within 4 working
hours" means hours inside the assignee's window: opened on Friday at 16:00 for someone who
works Monday to Friday 09:00-17:00, it is due on Monday at 12:00, and public holidays do not
count (:func:`add_working_time`).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

import attrs

from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.domain.window import SendWindow, epoch_of, load_zone, openings
from reviewkit.errors import TaskStateError, ValidationError

__all__ = [
    "TASK_TRANSITIONS",
    "Assignee",
    "Note",
    "Task",
    "TaskStatus",
    "add_working_time",
    "task_order",
]


class TaskStatus(enum.StrEnum):
    """Where a task is."""

    OPEN = "open"
    """Waiting for its assignee."""
    IN_PROGRESS = "in_progress"
    """Someone is on it."""
    DONE = "done"
    """Dealt with."""
    CANCELLED = "cancelled"
    """Not needed any more."""


TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}
"""The statuses a task may move to from each status; Done and Cancelled are final."""


def add_working_time(
    start: datetime, duration: timedelta, window: SendWindow, zone: str
) -> datetime:
    """The instant *duration* of working time after *start*, counting only the time inside
    *window* read on *zone*'s wall clock (weekdays, hours, holidays), to the second.

    :raises ValidationError: a negative duration, or a naive *start*.
    :raises WindowError: the window never opens.
    """
    if duration < timedelta(0):
        raise ValidationError(f"a working time of {duration} is negative")
    start = as_utc(start, "the start")
    left = duration.total_seconds()
    if left == 0:
        return start
    for opened, closed in openings(window, load_zone(zone), epoch_of(start)):
        length = closed - opened
        if left <= length:
            return datetime.fromtimestamp(opened + left, UTC)
        left -= length
    raise AssertionError("openings() is endless for a window that opens")  # pragma: no cover


def _check_name(_: object, __: object, value: str) -> None:
    if not value.strip():
        raise ValidationError("an assignee needs a name")


@attrs.frozen(kw_only=True)
class Assignee:
    """Someone tasks are given to.

    :ivar name: how tasks and routes refer to them.
    :ivar email: where the host's tracker or a notifier reaches them, if known; *phone*
        likewise, for SMS.
    :ivar timezone: their IANA zone; *window* their working days, hours and holidays.
    :ivar escalate_to: who gets their overdue tasks (``None``: nobody).
    """

    name: str = attrs.field(validator=_check_name)
    email: str | None = None
    timezone: str = "UTC"
    window: SendWindow = attrs.field(factory=SendWindow)
    escalate_to: str | None = None
    phone: str | None = None

    def __attrs_post_init__(self) -> None:
        load_zone(self.timezone)
        if self.escalate_to == self.name:
            raise ValidationError(f"{self.name} cannot escalate to themselves")

    def deadline(self, start: datetime, within: timedelta) -> datetime:
        """*within* of this person's working time after *start*."""
        return add_working_time(start, within, self.window, self.timezone)


@attrs.frozen(kw_only=True)
class Note:
    """A line someone wrote on a task."""

    at: datetime = attrs.field(converter=as_utc)
    author: str
    text: str


def _check_title(_: object, __: object, value: str) -> None:
    if not value.strip():
        raise ValidationError("a task needs a title")
    if len(value) > 500:
        raise ValidationError("a task's title is at most 500 characters")


@attrs.frozen(kw_only=True)
class Task:
    """One follow-up.

    :ivar within: the working time it was given (kept to set a new deadline on escalation).
    :ivar alert: the fingerprint of the alert it came from, if any.
    :ivar answer_id: the answer it is about, if any; *request_id* its request.
    :ivar escalations: how often it was escalated.
    :ivar version: raised by one on every save (optimistic concurrency).
    """

    id: str = attrs.field(factory=new_id)
    title: str = attrs.field(validator=_check_title)
    assignee: str
    status: TaskStatus = attrs.field(default=TaskStatus.OPEN, converter=TaskStatus)
    created_at: datetime = attrs.field(converter=as_utc)
    deadline: datetime | None = None
    within: timedelta | None = None
    alert: str | None = None
    answer_id: str | None = None
    request_id: str | None = None
    notes: tuple[Note, ...] = ()
    closed_at: datetime | None = None
    escalations: int = 0
    version: int = 0

    def moved(self, to: TaskStatus, now: datetime) -> Task:
        """This task in status *to*.

        :raises TaskStateError: the move is not allowed (a Done task cannot be reopened).
        """
        to = TaskStatus(to)
        if to not in TASK_TRANSITIONS[self.status]:
            raise TaskStateError(
                f"task {self.title!r} is {self.status.value}: it cannot become {to.value}"
            )
        final = to in (TaskStatus.DONE, TaskStatus.CANCELLED)
        return attrs.evolve(self, status=to, closed_at=as_utc(now) if final else None)

    def noted(self, author: str, text: str, now: datetime) -> Task:
        """This task with a note added.

        :raises ValidationError: an empty note.
        """
        if not text.strip():
            raise ValidationError("a note needs some text")
        return attrs.evolve(self, notes=(*self.notes, Note(at=now, author=author, text=text)))

    def overdue(self, now: datetime) -> bool:
        """Whether it is still open (or in progress) past its deadline."""
        return (
            self.status in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
            and self.deadline is not None
            and as_utc(now) > self.deadline
        )


def task_order(task: Task) -> tuple[bool, datetime, datetime]:
    """How tasks are listed: by deadline (those without one last), then oldest first."""
    return (task.deadline is None, task.deadline or task.created_at, task.created_at)
