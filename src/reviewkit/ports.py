"""Every edge of reviewkit, as a :class:`typing.Protocol`.

A user's class satisfies a port by having the methods; it need not inherit from anything.

Storage is split by role — :class:`UnitOfWork`, :class:`CampaignRepository`,
:class:`RequestRepository`, :class:`RequestQueue`, :class:`AnswerRepository`,
:class:`SuppressionList`, :class:`TriggerLog`, :class:`AlertRepository`,
:class:`TaskRepository`, :class:`ClassificationLog`, :class:`ReportRepository` — and
:class:`Store` is all of them in one object, as a store adapter provides it. A service asks
only for the roles it uses.
reviewkit ships reference adapters for each (``reviewkit.adapters``), the in-memory ones
included, and every adapter of a port passes the same contract test suite.

All ports are synchronous. Datetimes in and out are timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from reviewkit.domain.alerts import Alert, AlertRule, AlertState
from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Campaign, CampaignStatus, Channel
from reviewkit.domain.classifiers import Classification
from reviewkit.domain.collection import RequestPage, RequestQuery
from reviewkit.domain.consent import ConsentChange
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.notifications import (
    Notification,
    NotificationGroup,
    NotificationStatus,
    Silence,
)
from reviewkit.domain.publication import Moderation
from reviewkit.domain.reports import (
    Funnel,
    LeagueRow,
    ReportDefinition,
    ReportRun,
    ReportRunStatus,
)
from reviewkit.domain.request import Engagement, Outcome, Recipient, Request, RequestStatus
from reviewkit.domain.scoring import AnswerStats, Score
from reviewkit.domain.suppression import Suppression
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.tasks import Task, TaskStatus
from reviewkit.domain.triggers import TriggerRule

__all__ = [
    "AlertRepository",
    "AnswerRepository",
    "BulkRequestStore",
    "CampaignRepository",
    "ChartRenderer",
    "Chore",
    "ClassificationLog",
    "Clock",
    "ConsentLog",
    "ContactEraser",
    "ContactSource",
    "ModerationLog",
    "Notifier",
    "RateLimitedTransport",
    "ReportRepository",
    "RequestQueue",
    "RequestRepository",
    "RetentionPurge",
    "Store",
    "SuppressionList",
    "TaskRepository",
    "TaskSink",
    "Transport",
    "TriggerLog",
    "UnitOfWork",
]


@runtime_checkable
class Clock(Protocol):
    """Where reviewkit learns the time, and how it waits.

    :class:`reviewkit.adapters.clock.SystemClock` reads the real clock;
    :class:`reviewkit.adapters.clock.ManualClock` is set and advanced by a test or a script.
    """

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...

    def sleep_until(self, instant: datetime) -> None:
        """Return no earlier than *instant* (a manual clock simply jumps there)."""
        ...


@runtime_checkable
class Chore(Protocol):
    """Periodic work a :class:`~reviewkit.services.dispatch.Dispatcher` does between its
    passes, such as evaluating alert rules and delivering their notifications
    (:class:`reviewkit.services.alerts.AlertChore`).

    A chore that raises is logged with its reason and tried again a minute later; the
    dispatcher carries on sending.
    """

    def run(self, now: datetime) -> datetime:
        """Do what is due at *now*; return the instant to be run again (UTC)."""
        ...


@runtime_checkable
class ContactSource(Protocol):
    """Where the host's own customers come from (recipients from the CRM).

    A host wraps its CRM or order database in a class with this method;
    :meth:`reviewkit.CampaignService.add_from_source` turns what it yields into requests.
    """

    def contacts(self, *, since: datetime | None = None) -> Iterable[Recipient]:
        """Yield the contacts to ask (orders finished since *since*, when given), lazily:
        the service consumes them as it stores them."""
        ...


@runtime_checkable
class Transport(Protocol):
    """Hands a rendered message to the outside world (SMTP, a gateway, a folder).

    ``send`` either returns (the message was accepted) or raises one of:

    :raises reviewkit.errors.TransientSendError: try again later.
    :raises reviewkit.errors.PermanentSendError: this recipient will never accept it.
    :raises reviewkit.errors.AccountError: the sender account cannot send at all.
    """

    def send(self, message: OutgoingMessage) -> None:
        """Send *message*; see the class docstring for the errors."""
        ...

    def close(self) -> None:
        """Release connections; ``send`` may reopen them."""
        ...


@runtime_checkable
class Notifier(Protocol):
    """Tells people about alerts: e-mail, SMS, the host's chat or pager.

    ``notify`` either returns (the receiver was told) or raises
    :class:`reviewkit.errors.TransientSendError` (try again later) or
    :class:`reviewkit.errors.PermanentSendError` (this will never work).
    """

    def notify(self, receiver: str, notifications: Sequence[Notification]) -> None:
        """Tell *receiver* about *notifications* (one, or several that fell due together:
        alerts grouped by ``group_wait``, or a digest), in one message.
        :func:`reviewkit.domain.notifications.render` makes its subject and text."""
        ...


@runtime_checkable
class ChartRenderer(Protocol):
    """Draws a report's charts as PNG images (``reviewkit.adapters.charts.MatplotlibCharts``
    with the ``reports`` extra)."""

    def trend(self, title: str, trend: Sequence[tuple[str, Score]]) -> bytes:
        """A score per period, oldest first, with its interval."""
        ...

    def league(self, title: str, rows: Sequence[LeagueRow], network: Score) -> bytes:
        """One bar per group, best first, with the network's score marked."""
        ...


@runtime_checkable
class RateLimitedTransport(Transport, Protocol):
    """A transport whose sender accounts have rate limits the dispatcher must respect.

    The dispatcher reserves a slot on the returned key before each send, across every worker
    and campaign that uses the account; the slower of the campaign's interval and the
    account's limit wins.
    """

    def pacing(self, sender: str | None) -> tuple[str, timedelta] | None:
        """Return ``(key, minimum gap)`` for the account that sends as *sender*, or ``None``."""
        ...


@runtime_checkable
class BulkRequestStore(Protocol):
    """A store that bulk loaders may hand requests already turned into its own rows: an
    optional capability (the SQLite and PostgreSQL stores have it) that lets
    :func:`reviewkit.services.importer.import_csv` build the rows in its checking processes
    and leave the importing process only the writing.
    """

    def request_row_maker(self) -> Callable[[Request], tuple[object, ...]]:
        """Return a pure function, picklable by reference (a module-level function), that
        turns a request into the row :meth:`add_request_rows` takes."""
        ...

    def add_request_rows(self, rows: Sequence[tuple[object, ...]]) -> int:
        """Store rows made by :meth:`request_row_maker`'s function in one transaction,
        skipping duplicates like :meth:`RequestRepository.add_requests`; return how many
        were added.

        :raises reviewkit.errors.NotFoundError: a row names a campaign that does not exist.
        """
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """Groups writes: what is written inside :meth:`transaction` commits together."""

    def transaction(self) -> AbstractContextManager[None]:
        """Return a context manager: everything written inside commits together on exit,
        or is rolled back if the block raises. Nested use joins the outer transaction."""
        ...


@runtime_checkable
class CampaignRepository(Protocol):
    """Campaigns: stored whole, saved with optimistic concurrency (a version)."""

    def add_campaign(self, campaign: Campaign) -> Campaign:
        """Store a new campaign and return it as stored.

        :raises reviewkit.errors.ConflictError: a campaign with that id or name exists.
        """
        ...

    def get_campaign(self, key: str) -> Campaign:
        """Return the campaign whose id or name is *key*.

        :raises reviewkit.errors.NotFoundError: no such campaign.
        """
        ...

    def save_campaign(self, campaign: Campaign) -> Campaign:
        """Replace the stored campaign with *campaign*, if nobody changed it meanwhile.

        :param campaign: a changed copy of the campaign; its ``version`` must be the stored one.
        :returns: the campaign as stored, its ``version`` increased by one.
        :raises reviewkit.errors.ConflictError: the stored version differs (a concurrent
            change won) or the new name is taken.
        :raises reviewkit.errors.NotFoundError: no such campaign.
        """
        ...

    def delete_campaign(self, campaign_id: str) -> None:
        """Delete a campaign and all its requests.

        :raises reviewkit.errors.NotFoundError: no such campaign.
        """
        ...

    def list_campaigns(self, statuses: Collection[CampaignStatus] | None = None) -> list[Campaign]:
        """Return campaigns (with one of *statuses*, if given), oldest first."""
        ...


@runtime_checkable
class RequestRepository(Protocol):
    """Requests of campaigns: added, read, counted, moved between statuses in bulk,
    marked with what the customer did, and queried for the collection view."""

    def add_requests(self, requests: Iterable[Request]) -> int:
        """Store new requests, skipping any whose :attr:`Request.key` is already stored.

        Consumes *requests* lazily; all are added in one transaction.

        :returns: how many were added.
        """
        ...

    def get_request(self, request_id: str) -> Request:
        """Return one request.

        :raises reviewkit.errors.NotFoundError: no such request.
        """
        ...

    def iter_requests(
        self,
        campaign_id: str,
        statuses: Collection[RequestStatus] | None = None,
    ) -> Iterator[Request]:
        """Yield a campaign's requests (with one of *statuses*, if given) in insertion order."""
        ...

    def count_requests(self, campaign_id: str) -> dict[RequestStatus, int]:
        """Return how many requests the campaign has in each status (every status present)."""
        ...

    def set_request_status(
        self,
        campaign_id: str,
        *,
        from_statuses: Collection[RequestStatus],
        to_status: RequestStatus,
        ids: Collection[str] | None = None,
        due_at: datetime | None = None,
        error: str | None = None,
    ) -> int:
        """Move requests of a campaign in one of *from_statuses* to *to_status*.

        :param ids: only these requests; ``None`` for all that match.
        :param due_at: a new earliest send time, when given.
        :param error: recorded as ``last_error`` when given.
        :returns: how many changed. Requests not in *from_statuses* are left alone.

        Moving to Pending is a new send (a retry of failed requests, a recall of sent ones):
        attempts, the send time and reminders start again.
        """
        ...

    def record_engagement(self, request_id: str, what: Engagement, at: datetime) -> Request:
        """Record that the customer did *what* with a request, at *at*; the first time
        stays. A click or an answer also counts as opened; an answer or an unsubscribe ends
        the request's reminders.

        :raises reviewkit.errors.NotFoundError: no such request.
        """
        ...

    def query_requests(
        self, query: RequestQuery, *, limit: int, after: str | None = None
    ) -> RequestPage:
        """Return up to *limit* requests matching *query*, newest first by the query's time
        (ties by insertion order), starting after the cursor *after* of a previous page.

        :raises reviewkit.errors.ValidationError: *after* is not a cursor of this store.
        """
        ...

    def request_funnel(self, *, since: datetime, until: datetime) -> dict[str | None, Funnel]:
        """Count the requests sent in ``[since, until)`` per customer segment, and how many
        of them were opened and answered (at any time since); segments that sent nothing
        are absent."""
        ...


@runtime_checkable
class RequestQueue(Protocol):
    """The send queue: leased claims, their renewal, outcomes recorded by the claim holder,
    pacing slots. The design maps to ``SELECT … FOR UPDATE SKIP LOCKED`` on a server database."""

    def claim_requests(
        self,
        campaign_id: str,
        *,
        now: datetime,
        limit: int,
        worker_id: str,
        lease_until: datetime,
    ) -> list[Request]:
        """Atomically claim up to *limit* due requests of a campaign for *worker_id*.

        Due means Pending with ``due_at`` at or before *now*, or Claimed with an expired lease
        (a worker that died), or Sent with a reminder due. Returned in claim order: those
        without a due time first, then by the time they became due, ties in the order they
        were added. The returned requests are Claimed by *worker_id* until *lease_until*.
        """
        ...

    def renew_leases(
        self, request_ids: Collection[str], *, worker_id: str, lease_until: datetime
    ) -> set[str]:
        """Extend *worker_id*'s claims on *request_ids* to *lease_until*, atomically.

        A claim is renewed only while *worker_id* still holds it (Claimed, ``claimed_by`` the
        same), also when its lease ran out but nobody took it over yet.

        :returns: the ids renewed; the others are no longer this worker's to send.
        """
        ...

    def finish_requests(
        self, outcomes: Iterable[Outcome], *, worker_id: str, now: datetime
    ) -> list[str]:
        """Record the outcomes of claimed requests and release their claims, in one
        transaction.

        Each :class:`~reviewkit.domain.request.Outcome` gives the new status: Sent, Failed,
        Suppressed (with its ``reason``), or Pending to retry at ``due_at``. The first Sent
        sets ``sent_at``; later ones (reminders) keep it. ``count_attempt`` says whether the
        try counts toward the retry limit; ``remind_at`` when a reminder is due (ignored once
        the request is answered or unsubscribed); ``reminded`` that a reminder went out.

        :returns: the ids of requests *worker_id* no longer held; their outcomes were not
            recorded. The others were.
        """
        ...

    def next_due_at(self, campaign_id: str) -> datetime | None:
        """Return the earliest instant a request of the campaign becomes claimable.

        ``None`` exactly when no request is Pending or Claimed (the campaign can complete).
        """
        ...

    def reserve_slots(self, gaps: Mapping[str, timedelta], *, now: datetime) -> datetime | None:
        """Take a pacing slot on every key at once, or on none.

        :param gaps: for each key (``"campaign:<id>"``, ``"account:<name>"``), how long after
            *now* its next slot opens once this one is taken.
        :returns: ``None`` when every key was free at *now* and is now reserved; otherwise the
            instant the last busy key frees, and nothing is changed.
        """
        ...


@runtime_checkable
class AnswerRepository(Protocol):
    """Survey answers with their history, their sums for scores, and the answer hook's state."""

    def add_answer(self, answer: Answer) -> Answer:
        """Store *answer* as its request's current answer; an earlier current answer of the
        same request stays, marked not current (the history).

        :raises reviewkit.errors.NotFoundError: no such request.
        """
        ...

    def get_answer(self, answer_id: str) -> Answer:
        """Return one answer (current or replaced) by id.

        :raises reviewkit.errors.NotFoundError: no such answer.
        """
        ...

    def answers_for(self, request_id: str) -> list[Answer]:
        """Return every answer to a request, oldest first (the last current one counts)."""
        ...

    def answer_stats(
        self,
        kind: SurveyType,
        *,
        by: str | None = None,
        periods: Sequence[tuple[datetime, datetime]] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        campaign_id: str | None = None,
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> dict[tuple[str | None, int | None], AnswerStats]:
        """Aggregate the current answers of one survey type, in the store.

        :param by: group by ``"segment"``, ``"channel"``, ``"campaign"`` or ``"field:NAME"``
            (a custom field of the request); ``None`` for one group.
        :param periods: [start, end) ranges; answers are counted in the one they fall in.
        :param segments: only answers of these segments (all when empty).
        :param channels: only answers that came through these channels (all when empty).
        :returns: ``(group, period index)`` to the group's sums (``None`` parts when not
            grouped); groups without answers are absent.
        """
        ...

    def iter_answers(
        self,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Answer]:
        """The current answers (of one campaign, or all) given in ``[since, until)``, in the
        order they were recorded; a store reads them a page at a time."""
        ...

    def worst_comments(
        self,
        kind: SurveyType,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> list[Answer]:
        """Return up to *limit* current answers of *kind* given in ``[since, until)`` that
        carry a comment, lowest score first, then newest; only of *segments* and *channels*
        when those are not empty."""
        ...

    def answer_span(self, kind: SurveyType) -> tuple[datetime, datetime] | None:
        """Return the first and last time a current answer of *kind* was given, if any."""
        ...

    def due_answer_hooks(self, now: datetime, limit: int) -> list[Answer]:
        """Return answers the host's hook has not taken yet and that are due (never tried,
        or their retry time has come), oldest first."""
        ...

    def finish_answer_hook(
        self, answer_id: str, *, done: bool, error: str | None, next_at: datetime | None
    ) -> None:
        """Record a hook call: *done*, or failed with *error* and to be retried at *next_at*."""
        ...


@runtime_checkable
class SuppressionList(Protocol):
    """Addresses that must never be sent to, per channel."""

    def add_suppression(self, suppression: Suppression) -> None:
        """Suppress an address on a channel, replacing an earlier entry for it."""
        ...

    def get_suppression(self, channel: Channel, address: str) -> Suppression | None:
        """Return the suppression of *address* (any letter case) on *channel*, if any."""
        ...

    def find_suppression(self, channel: Channel, addresses: Sequence[str]) -> Suppression | None:
        """Return a suppression on *channel* of any of *addresses* (the first found, in
        their order), in one look-up: an address and the keyed hashes it is kept under once
        its contact was erased."""
        ...

    def remove_suppression(self, channel: Channel, address: str) -> bool:
        """Lift a suppression; return whether there was one."""
        ...

    def add_soft_bounce(self, channel: Channel, address: str, at: datetime) -> int:
        """Count one soft bounce of *address* (any letter case) at *at*; return how many it
        has had."""
        ...

    def iter_suppressions(self, channel: Channel | None = None) -> Iterator[Suppression]:
        """Every suppression (of one channel, or all), by channel and case-folded address; a
        store reads them a page at a time."""
        ...


@runtime_checkable
class TriggerLog(Protocol):
    """Trigger rules kept in the store, and which rule fired for which entity, so each
    fires once."""

    def add_trigger_rule(self, rule: TriggerRule) -> TriggerRule:
        """Store a new trigger rule.

        :raises reviewkit.errors.ConflictError: a rule with that id is stored.
        """
        ...

    def trigger_rules(self) -> list[TriggerRule]:
        """Return every stored trigger rule, oldest first."""
        ...

    def remove_trigger_rule(self, rule_id: str) -> TriggerRule:
        """Remove the stored trigger rule *rule_id* and return it (what it fired for is
        kept, so adding it again does not fire twice for the same entity).

        :raises reviewkit.errors.NotFoundError: no such rule.
        """
        ...

    def record_firing(self, rule_id: str, entity_id: str, at: datetime) -> bool:
        """Record that a trigger rule fired for an entity; ``False`` if it already had (and
        nothing is changed)."""
        ...


@runtime_checkable
class AlertRepository(Protocol):
    """Alert rules, the alerts they raised, and the outbox of notifications about them."""

    def add_alert_rule(self, rule: AlertRule) -> AlertRule:
        """Store a new rule.

        :raises reviewkit.errors.ConflictError: a rule with that id or name exists.
        """
        ...

    def alert_rules(self) -> list[AlertRule]:
        """Return every rule, oldest first."""
        ...

    def remove_alert_rule(self, key: str) -> AlertRule:
        """Remove the rule whose id or name is *key*, with its alerts; return it.

        :raises reviewkit.errors.NotFoundError: no such rule.
        """
        ...

    def get_alert(self, fingerprint: str) -> Alert | None:
        """Return the alert with *fingerprint*, if there is one."""
        ...

    def list_alerts(
        self, states: Collection[AlertState] | None = None, rule_id: str | None = None
    ) -> list[Alert]:
        """Return alerts (in *states*, of *rule_id*, when given), the latest change first."""
        ...

    def save_alert(self, alert: Alert) -> None:
        """Store *alert*, replacing the one with its fingerprint."""
        ...

    def delete_alert(self, fingerprint: str) -> None:
        """Forget an alert (a pending one that cleared); nothing happens if there is none."""
        ...

    def recent_answers(
        self,
        kind: SurveyType,
        *,
        by: str,
        group: str | None,
        since: datetime | None,
        limit: int,
        campaigns: Collection[str] = (),
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> list[Answer]:
        """Return up to *limit* current answers of *kind* whose dimension *by* is *group*
        (``None``: they have none), given at or after *since* (when given), newest first;
        only of *campaigns*, *segments* and *channels* when those are not empty."""
        ...

    def answers_since(self, since: datetime, *, limit: int) -> list[Answer]:
        """Return up to *limit* current answers given at or after *since*, oldest first."""
        ...

    def answer_comments(
        self,
        kind: SurveyType,
        *,
        by: str | None,
        since: datetime,
        until: datetime,
        campaign_id: str | None = None,
    ) -> list[tuple[str | None, datetime, str]]:
        """Return the comments of the current answers of *kind* given in ``[since, until)``
        (of *campaign_id*, when given) as ``(group, at, comment)``, *group* being the
        answer's value of dimension *by* (``None``: no grouping, or it has none); answers
        without a comment are left out. In no particular order.

        :raises ValidationError: *by* is not a dimension.
        """
        ...

    def add_notifications(self, notifications: Iterable[Notification]) -> None:
        """Put notifications in the outbox (in the caller's transaction, if any)."""
        ...

    def claim_notifications(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[Notification]:
        """Atomically claim up to *limit* notifications that are Pending and due at *now*, or
        Claimed with an expired lease, oldest first, for *worker_id* until *lease_until*."""
        ...

    def finish_notification(
        self,
        notification_id: str,
        *,
        worker_id: str,
        status: NotificationStatus,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record what became of a claimed notification: Sent, Failed, or Pending again at
        *retry_at*; the attempt is counted.

        :returns: ``False`` (and nothing is changed) when *worker_id* no longer holds it.
        """
        ...

    def list_notifications(
        self, statuses: Collection[NotificationStatus] | None = None
    ) -> list[Notification]:
        """Return notifications (in *statuses*, when given), oldest first."""
        ...

    def get_notification_group(self, receiver: str, key: str) -> NotificationGroup | None:
        """Return what is kept of *receiver*'s group *key*, or ``None``."""
        ...

    def save_notification_group(self, group: NotificationGroup) -> None:
        """Keep *group*, replacing what was kept of the same receiver and key."""
        ...

    def add_silence(self, silence: Silence) -> None:
        """Store a silence (replacing one with its id)."""
        ...

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Return the silences (only those active at *active_at*, when given), by start."""
        ...

    def remove_silence(self, silence_id: str) -> bool:
        """Remove a silence; return whether there was one."""
        ...


@runtime_checkable
class TaskRepository(Protocol):
    """Tasks, saved with optimistic concurrency (a version)."""

    def add_task(self, task: Task) -> Task:
        """Store a new task; return it as stored (version 1).

        :raises reviewkit.errors.ConflictError: a task with its id exists.
        """
        ...

    def get_task(self, task_id: str) -> Task:
        """Return one task.

        :raises reviewkit.errors.NotFoundError: no such task.
        """
        ...

    def save_task(self, task: Task) -> Task:
        """Replace the stored task with *task* if nobody changed it meanwhile; return it with
        its version raised by one.

        :raises reviewkit.errors.StaleVersionError: the stored version differs.
        :raises reviewkit.errors.NotFoundError: no such task.
        """
        ...

    def list_tasks(
        self, statuses: Collection[TaskStatus] | None = None, assignee: str | None = None
    ) -> list[Task]:
        """Return tasks (in *statuses*, of *assignee*, when given), by deadline (none last),
        then oldest first."""
        ...


@runtime_checkable
class ClassificationLog(Protocol):
    """Which classifier was given to which request, by whom and when."""

    def add_classification(self, classification: Classification) -> None:
        """Record a classification.

        :raises reviewkit.errors.NotFoundError: no such request.
        """
        ...

    def classifications(
        self, *, request_id: str | None = None, campaign_id: str | None = None
    ) -> list[Classification]:
        """Return the classifications of a request or a campaign (or all), oldest first."""
        ...


@runtime_checkable
class ModerationLog(Protocol):
    """Moderators' decisions on answers that may be published."""

    def save_moderation(self, moderation: Moderation) -> None:
        """Record *moderation*, replacing an earlier decision on the same answer.

        :raises reviewkit.errors.NotFoundError: no such answer.
        """
        ...

    def moderations_of(self, answer_ids: Collection[str]) -> dict[str, Moderation]:
        """The decisions on *answer_ids* (answers without one are absent)."""
        ...

    def approved_answers(self, *, limit: int) -> list[Answer]:
        """Up to *limit* current answers a moderator approved, newest first."""
        ...


@runtime_checkable
class RetentionPurge(Protocol):
    """What a retention purge asks of a store, a batch at a time."""

    def requests_made_before(self, before: datetime, *, limit: int) -> list[str]:
        """Up to *limit* ids of requests scheduled before *before* that still hold personal
        data (not erased yet), oldest first."""
        ...

    def clear_comments(self, before: datetime, *, limit: int) -> int:
        """Remove the comments of up to *limit* answers given before *before*; return how
        many."""
        ...

    def clear_engagement(self, before: datetime, *, limit: int) -> int:
        """Clear the opened, clicked and delivered times of up to *limit* requests sent
        before *before*; return how many."""
        ...


@runtime_checkable
class ContactEraser(Protocol):
    """Erasing a contact's personal data, in one transaction."""

    def erase_contact(
        self,
        request_ids: Collection[str],
        addresses: Mapping[tuple[Channel, str], str],
    ) -> int:
        """Remove the personal data of the requests *request_ids* and of *addresses*.

        Each request keeps its campaign, channel, segment, status, times and engagement (so
        scores and reports keep their counts) and loses its recipient's details, its address
        and its error text; its answers lose their comments; its classifications their
        notes; tasks about it their title and notes; alerts and notifications quoting it
        their quotes. Each address's suppression, if any, is replaced by one under the
        erased form given for it (a keyed hash); its soft bounces and consent changes are
        forgotten.

        :returns: how many requests were erased.
        """
        ...


@runtime_checkable
class ConsentLog(Protocol):
    """Consents given or withdrawn after a contact's requests were made, with their source
    and time."""

    def add_consent_change(self, change: ConsentChange) -> None:
        """Keep *change*."""
        ...

    def consent_changes(self, channel: Channel, address: str) -> list[ConsentChange]:
        """Return the changes kept for *address* on *channel* (compared without letter
        case), oldest first."""
        ...


@runtime_checkable
class ReportRepository(Protocol):
    """Report definitions, and the outbox of reports to send: one entry per report,
    recipient and period, claimed under a lease like requests."""

    def add_report(self, report: ReportDefinition) -> ReportDefinition:
        """Store a new report definition.

        :raises reviewkit.errors.ConflictError: a report with the same id or name exists.
        """
        ...

    def save_report(self, report: ReportDefinition) -> ReportDefinition:
        """Replace a stored report definition (found by id).

        :raises reviewkit.errors.NotFoundError: no such report.
        :raises reviewkit.errors.ConflictError: another report has its name.
        """
        ...

    def get_report(self, key: str) -> ReportDefinition:
        """Return the report with id or name *key*.

        :raises reviewkit.errors.NotFoundError: no such report.
        """
        ...

    def list_reports(self) -> list[ReportDefinition]:
        """Every report definition, by name."""
        ...

    def remove_report(self, key: str) -> ReportDefinition:
        """Delete the report with id or name *key*, and its outbox entries.

        :raises reviewkit.errors.NotFoundError: no such report.
        """
        ...

    def add_report_runs(self, runs: Iterable[ReportRun]) -> int:
        """Put runs in the outbox; one whose (report, recipient, period) is there already is
        skipped. Returns how many were added."""
        ...

    def claim_report_runs(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[ReportRun]:
        """Atomically claim up to *limit* runs that are Pending and due at *now*, or Claimed
        with an expired lease, earliest due first, for *worker_id* until *lease_until*."""
        ...

    def finish_report_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        status: ReportRunStatus,
        at: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record what became of a claimed run at *at*: Sent, Failed, or Pending again at
        *retry_at*; the attempt is counted.

        :returns: ``False`` (and nothing is changed) when *worker_id* no longer holds it.
        """
        ...

    def list_report_runs(
        self,
        report_id: str | None = None,
        statuses: Collection[ReportRunStatus] | None = None,
    ) -> list[ReportRun]:
        """Runs (of one report, in *statuses*, when given), earliest due first."""
        ...


@runtime_checkable
class TaskSink(Protocol):
    """The host's task tracker: told of every new or changed task.

    ``push`` returns when the tracker took the task, or raises
    :class:`reviewkit.errors.TransientSendError` (try again) or
    :class:`reviewkit.errors.PermanentSendError`.
    """

    def push(self, task: Task) -> None:
        """Hand *task*, as it is now, to the tracker."""
        ...


@runtime_checkable
class Store(
    UnitOfWork,
    CampaignRepository,
    RequestRepository,
    RequestQueue,
    AnswerRepository,
    SuppressionList,
    TriggerLog,
    AlertRepository,
    TaskRepository,
    ClassificationLog,
    ReportRepository,
    ContactEraser,
    ModerationLog,
    RetentionPurge,
    ConsentLog,
    Protocol,
):
    """Where campaigns, their requests and everything about them live: every role in one
    object, as a store adapter provides it.

    Writes are atomic one by one; :meth:`transaction` groups several into one unit that is
    committed together or not at all. Claims are leased: a request claimed by one worker
    cannot be claimed by another until its lease expires, and only the claim holder can
    record its outcome. Services take the roles they use (:class:`ScoreService` only an
    :class:`AnswerRepository`, for example); every store adapter passes the contract suite
    in :mod:`reviewkit.testing`.
    """
