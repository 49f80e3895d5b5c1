"""Who hears of alerts, when, and what they read.

- :class:`Route` — label matchers to a receiver, told at once (after ``group_wait``), again
  every ``repeat_interval`` while an alert fires, or in a :class:`Digest` daily or weekly at
  a local time inside the receiver's working window; alerts grouped by ``group_by`` labels
  reach the receiver as one message per group, at most every ``group_interval``
  (:class:`NotificationGroup`), as in Prometheus' Alertmanager.
- :class:`Silence` — matchers and a time span during which matching alerts notify nobody.
- :class:`Notification` — one alert transition (or a task about an alert that was
  escalated, :class:`Escalation`) for one receiver, waiting in the store's outbox;
  :func:`render` turns the ones a receiver gets at once into one message.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

import attrs

from reviewkit.domain.alerts import Alert, Transition, freeze_labels
from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.domain.scoring import Period
from reviewkit.domain.window import SendWindow, load_zone
from reviewkit.errors import ValidationError

__all__ = [
    "LINK_FIELDS",
    "Digest",
    "Escalation",
    "Notification",
    "NotificationGroup",
    "NotificationStatus",
    "Route",
    "Silence",
    "alert_link",
    "check_link_template",
    "muted",
    "render",
]


def _check_matchers(value: Mapping[str, str]) -> Mapping[str, str]:
    return freeze_labels(value)


def _transitions(
    values: Sequence[Transition | str] | frozenset[Transition],
) -> frozenset[Transition]:
    return frozenset(Transition(t) for t in values)


def _label_names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_time(_: object, __: object, value: time) -> None:
    if value.tzinfo is not None:
        raise ValidationError("a digest's time is a local wall-clock time, without a zone")


@attrs.frozen(kw_only=True)
class Digest:
    """Collect a receiver's notifications and send them together, daily or weekly, at a local
    time inside the receiver's working window.

    :ivar every: ``day`` or ``week``.
    :ivar at: the local time it goes out (inside *window*'s hours).
    :ivar weekday: for a weekly digest, Monday = 0 … Sunday = 6; on a day the window is shut
        (a holiday), the next day it is open.
    :ivar timezone: the receiver's IANA zone.
    :ivar window: the receiver's working days, hours and holidays.
    """

    every: Period = attrs.field(default=Period.DAY, converter=Period)
    at: time = attrs.field(default=time(8, 0), validator=_check_time)
    weekday: int = attrs.field(
        default=0, validator=[attrs.validators.ge(0), attrs.validators.le(6)]
    )
    timezone: str = "UTC"
    window: SendWindow = attrs.field(factory=SendWindow)

    def __attrs_post_init__(self) -> None:
        if self.every is Period.MONTH:
            raise ValidationError("a digest goes out every day or every week")
        load_zone(self.timezone)
        second = self.at.hour * 3600 + self.at.minute * 60 + self.at.second
        if not any(r.start <= second < r.end for r in self.window.hours):
            raise ValidationError(
                f"a digest at {self.at.isoformat('minutes')} is outside the working hours "
                f"{', '.join(str(r) for r in self.window.hours)}"
            )

    def next_at(self, after: datetime) -> datetime:
        """The first instant strictly after *after* at which the digest goes out (UTC).

        A local time that a DST change skips goes out at the same wall time shifted by the
        gap (as :class:`zoneinfo.ZoneInfo` reads it); one repeated goes out the first time.
        """
        zone = load_zone(self.timezone)
        after = as_utc(after)
        day = after.astimezone(zone).date() - timedelta(days=1)
        for _ in range(3 * 366):
            day += timedelta(days=1)
            if not self._goes_out_on(day):
                continue
            instant = as_utc(datetime.combine(day, self.at, tzinfo=zone))
            if instant > after:
                return instant
        raise ValidationError("the digest's working window never opens")

    def _goes_out_on(self, day: date) -> bool:
        if not self.window.is_open_on(day):
            return False
        if self.every is Period.DAY:
            return True
        # Weekly: on the weekday, or the first open day after it in the same week.
        start = day - timedelta(days=(day.weekday() - self.weekday) % 7)
        first_open = next(
            (
                start + timedelta(days=k)
                for k in range(7)
                if self.window.is_open_on(start + timedelta(days=k))
            ),
            None,
        )
        return first_open == day


@attrs.frozen(kw_only=True)
class Route:
    """Who hears of which alerts: every alert whose labels carry all of *matchers* (an empty
    mapping matches every alert) is told to *receiver*.

    :ivar receiver: a name the notifier knows (a person, a team, a channel); with
        *task_within*, an assignee's name.
    :ivar transitions: which transitions to tell (fired and resolved by default).
    :ivar group_by: label names: alerts with the same values of these labels form a group,
        and each group reaches the receiver as a message of its own (empty: one group).
    :ivar group_wait: how long to wait before telling of a new group, so that alerts firing
        together reach the receiver in one message (later ones join a message still
        waiting).
    :ivar group_interval: after a group was told, how long to wait before telling of more
        changes in it (0: as they come); what happens meanwhile goes out together.
    :ivar repeat_interval: tell again while an alert keeps firing, this often (``None``:
        once).
    :ivar digest: collect into a daily or weekly digest instead of telling at once.
    :ivar task_within: when an alert starts firing on this route, also open a task for the
        receiver, due within this much of their working time (``None``: no task). When it is
        overdue, it moves along the assignee's ``escalate_to`` and the next person is told.
    """

    receiver: str = attrs.field(validator=attrs.validators.min_len(1))
    matchers: Mapping[str, str] = attrs.field(factory=dict, converter=_check_matchers)
    transitions: frozenset[Transition] = attrs.field(
        default=frozenset({Transition.FIRED, Transition.RESOLVED}), converter=_transitions
    )
    group_by: tuple[str, ...] = attrs.field(default=(), converter=_label_names)
    group_wait: timedelta = attrs.field(default=timedelta(0))
    group_interval: timedelta = attrs.field(default=timedelta(0))
    repeat_interval: timedelta | None = None
    digest: Digest | None = None
    task_within: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        if self.task_within is not None and self.task_within <= timedelta(0):
            raise ValidationError(f"route to {self.receiver}: task_within must be positive")
        if Transition.ESCALATED in self.transitions:
            raise ValidationError(
                f"route to {self.receiver}: escalations go to the next assignee, not to routes"
            )
        if self.group_wait < timedelta(0) or self.group_interval < timedelta(0):
            raise ValidationError(
                f"route to {self.receiver}: group_wait and group_interval must not be negative"
            )
        freeze_labels(dict.fromkeys(self.group_by, ""))  # label names, checked
        if self.repeat_interval is not None and self.repeat_interval <= timedelta(0):
            raise ValidationError(f"route to {self.receiver}: repeat_interval must be positive")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an alert with *labels* goes to this route's receiver."""
        return all(labels.get(k) == v for k, v in self.matchers.items())

    def group_key(self, labels: Mapping[str, str]) -> str:
        """The group an alert with *labels* belongs to on this route (``""``: the one
        group when ``group_by`` is empty)."""
        return ",".join(f"{name}={labels.get(name, '')}" for name in self.group_by)

    @property
    def waits(self) -> bool:
        """Whether its messages wait for their group (``group_wait`` or ``group_interval``,
        and no digest): then its groups are kept in the store."""
        return self.digest is None and (
            self.group_wait > timedelta(0) or self.group_interval > timedelta(0)
        )

    def due_at(self, now: datetime, group: NotificationGroup | None = None) -> datetime:
        """When a notification queued at *now* goes out on this route: at the digest's next
        time; with the message of its *group* still waiting, then; within
        ``group_interval`` of the group's last message, at its end; else after
        ``group_wait``."""
        if self.digest is not None:
            return self.digest.next_at(now)
        now = as_utc(now)
        if group is not None:
            if group.due_at is not None and group.due_at >= now:
                return group.due_at
            if group.sent_at is not None and now < group.sent_at + self.group_interval:
                return group.sent_at + self.group_interval
        return now + self.group_wait


@attrs.frozen(kw_only=True)
class NotificationGroup:
    """What a store remembers of one receiver's group of alerts on a waiting route.

    :ivar receiver: who is told.
    :ivar key: the group (:meth:`Route.group_key`).
    :ivar due_at: when its waiting message goes out, if one was queued.
    :ivar sent_at: when its last message went out.
    """

    receiver: str
    key: str
    due_at: datetime | None = None
    sent_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Silence:
    """While active, alerts whose labels match every matcher notify nobody (their state is
    still tracked, and they notify again once the silence ends if they still fire and the
    route repeats).

    :ivar created_by: who set it; *comment* why.
    """

    id: str = attrs.field(factory=new_id)
    matchers: Mapping[str, str] = attrs.field(converter=_check_matchers)
    starts_at: datetime = attrs.field(converter=as_utc)
    ends_at: datetime = attrs.field(converter=as_utc)
    comment: str = ""
    created_by: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.matchers:
            raise ValidationError("a silence needs at least one matcher (it would mute everything)")
        if self.ends_at <= self.starts_at:
            raise ValidationError("a silence must end after it starts")

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether an alert with *labels* is muted at *now*."""
        return self.starts_at <= as_utc(now) < self.ends_at and all(
            labels.get(k) == v for k, v in self.matchers.items()
        )


class NotificationStatus(enum.StrEnum):
    """Where a notification is in the outbox."""

    PENDING = "pending"
    """Waiting to be claimed (first time, or a retry at ``due_at``)."""
    CLAIMED = "claimed"
    """A worker holds it under a lease."""
    SENT = "sent"
    """The notifier took it."""
    FAILED = "failed"
    """The notifier refused it for good, or it was retried too often."""


@attrs.frozen(kw_only=True)
class Escalation:
    """A task about an alert that passed its deadline and moved to the notification's
    receiver.

    :ivar task_id: the task.
    :ivar previous: whose it was.
    :ivar missed: the deadline that passed.
    :ivar deadline: the new one, in the receiver's working time (``None``: none).
    :ivar escalations: how often it has been escalated, this time included.
    """

    task_id: str
    previous: str
    missed: datetime | None = None
    deadline: datetime | None = None
    escalations: int = 1


@attrs.frozen(kw_only=True)
class Notification:
    """One message to one receiver about one alert transition, kept in the store's outbox
    until a worker hands it to a notifier.

    :ivar alert: the alert as it was when the transition happened.
    :ivar group: its group on the route (:meth:`Route.group_key`): the notifications of one
        receiver and group due together are one message.
    :ivar escalation: for :attr:`Transition.ESCALATED`, the task that moved to the receiver.
    :ivar link: where the receiver sees it in the host's application, if the host said.
    """

    id: str = attrs.field(factory=new_id)
    receiver: str
    transition: Transition = attrs.field(converter=Transition)
    alert: Alert
    created_at: datetime = attrs.field(converter=as_utc)
    status: NotificationStatus = attrs.field(
        default=NotificationStatus.PENDING, converter=NotificationStatus
    )
    due_at: datetime = attrs.field(converter=as_utc)
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    group: str = ""
    escalation: Escalation | None = None
    link: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.transition is Transition.ESCALATED) != (self.escalation is not None):
            raise ValidationError("an escalated notification, and only one, names its task")

    @property
    def subject(self) -> str:
        """A one-line title: ``[FIRING] low nps (segment=vip)``."""
        word = {
            Transition.FIRED: "FIRING",
            Transition.RESOLVED: "RESOLVED",
            Transition.ESCALATED: "ESCALATED",
        }[self.transition]
        extra = {k: v for k, v in self.alert.labels.items() if k not in ("alertname", "severity")}
        where = ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))
        return f"[{word}] {self.alert.rule_name}" + (f" ({where})" if where else "")

    def text(self) -> str:
        """The notification as plain text: what fired, the evidence, the customer's words."""
        e = self.alert.evidence
        lines = [self.subject, ""]
        if self.escalation is not None:
            lines += [*_escalation_lines(self.escalation, self.receiver), ""]
        lines.append(e.summary)
        if e.comment:
            lines += ["", f'Comment: "{e.comment}"']
        if e.customer or e.transaction_id:
            lines.append(f"Customer: {e.customer or '-'}, transaction {e.transaction_id or '-'}")
        if e.previous is not None:
            lines.append(f"Previous window: {e.previous:.1f} ({e.previous_n} answers)")
        lines += [
            "",
            f"Labels: {', '.join(f'{k}={v}' for k, v in sorted(self.alert.labels.items()))}",
        ]
        lines.append(f"Alert {self.alert.fingerprint}, since {self.alert.started_at.isoformat()}")
        if self.link:
            lines.append(f"Open: {self.link}")
        return "\n".join(lines) + "\n"


def render(notifications: Sequence[Notification]) -> tuple[str, str]:
    """One message for a receiver: ``(subject, plain text)``. One notification keeps its own
    subject; several make a digest listing each.

    :raises ValidationError: no notifications.
    """
    if not notifications:
        raise ValidationError("nothing to render")
    if len(notifications) == 1:
        return notifications[0].subject, notifications[0].text()
    counts = {t: sum(n.transition is t for n in notifications) for t in Transition}
    subject = (
        f"{len(notifications)} alerts: {counts[Transition.FIRED]} firing, "
        f"{counts[Transition.RESOLVED]} resolved"
    )
    if counts[Transition.ESCALATED]:
        subject += f", {counts[Transition.ESCALATED]} tasks escalated"
    parts = [subject, ""]
    for n in notifications:
        parts += ["-" * 60, n.text()]
    return subject, "\n".join(parts)


LINK_FIELDS = ("fingerprint", "rule", "group", "answer_id", "request_id", "transaction_id")
"""The fields a notification link template may use, e.g.
``"https://shop.example/admin/answers/{answer_id}"``."""


def check_link_template(template: str) -> None:
    """Refuse a link template that uses something other than :data:`LINK_FIELDS`.

    :raises ValidationError: naming the unknown field.
    """
    try:
        template.format(**dict.fromkeys(LINK_FIELDS, ""))
    except KeyError as exc:
        raise ValidationError(
            f"link {template!r}: no field {exc.args[0]!r}; use {', '.join(LINK_FIELDS)}"
        ) from None
    except (IndexError, ValueError) as exc:
        raise ValidationError(f"link {template!r}: {exc}") from None


def alert_link(template: str, alert: Alert) -> str:
    """*template* filled in for *alert* (fields it lacks are empty), each value URL-quoted."""
    e = alert.evidence
    values = {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule_name,
        "group": alert.group or "",
        "answer_id": e.answer_id or "",
        "request_id": e.request_id or "",
        "transaction_id": e.transaction_id or "",
    }
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


def _escalation_lines(escalation: Escalation, receiver: str) -> list[str]:
    missed = escalation.missed.isoformat() if escalation.missed else "its deadline"
    due = (
        f"due {escalation.deadline.isoformat()}"
        if escalation.deadline is not None
        else "without a deadline"
    )
    return [
        f"Task {escalation.task_id} was {escalation.previous}'s and passed {missed}.",
        f"It is now {receiver}'s, {due} (escalation {escalation.escalations}).",
    ]


def muted(silences: Collection[Silence], labels: Mapping[str, str], now: datetime) -> bool:
    """Whether any of *silences* mutes an alert with *labels* at *now*."""
    return any(s.mutes(labels, now) for s in silences)
