"""Alerts: rules evaluated as answers arrive and on a schedule, their life, and telling people.

::

    alerts = AlertService(store, clock, routes=[Route(receiver="care", matchers={})])
    alerts.add_rule(AnswerRule(name="angry customer", survey=SurveyType.NPS))
    answers.on_answer(alerts.on_answer)     # answer and burst rules, as answers come in
    alerts.evaluate()                       # level, drop, trend, topic rules: every minute
    alerts.deliver(notifier)                # the outbox, to e-mail, chat or pager

Every transition people hear of is written to the store's outbox in the same transaction as
the alert's new state, so a worker that dies between the two loses nothing;
:meth:`AlertService.deliver` claims notifications under a lease, hands each to the
:class:`~reviewkit.ports.Notifier` and records the outcome, retrying transient failures
with backoff.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import socket
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from reviewkit.domain.alerts import (
    Alert,
    AlertRule,
    AlertState,
    AnswerRule,
    BurstRule,
    DropRule,
    Finding,
    LevelRule,
    PeriodRule,
    TopicRule,
    Transition,
    TrendRule,
    advance,
    answer_finding,
    burst_finding,
    drop_finding,
    fingerprint,
    group_of,
    level_finding,
    mentions,
    topic_finding,
    trend_finding,
)
from reviewkit.domain.answers import Answer
from reviewkit.domain.instants import as_utc
from reviewkit.domain.notifications import (
    Notification,
    NotificationGroup,
    NotificationStatus,
    Route,
    Silence,
    alert_link,
    check_link_template,
    muted,
)
from reviewkit.domain.request import Request, RetryPolicy
from reviewkit.domain.scoring import AnswerStats, Period, buckets
from reviewkit.domain.survey import Survey, SurveyType
from reviewkit.domain.window import load_zone
from reviewkit.errors import (
    AccountError,
    NotFoundError,
    PermanentSendError,
    TransientSendError,
    ValidationError,
)
from reviewkit.ports import Clock, Notifier, Store

if TYPE_CHECKING:
    from reviewkit.domain.tasks import Task
    from reviewkit.services.tasks import TaskService

__all__ = ["AlertChore", "AlertService", "Evaluation"]

log = logging.getLogger(__name__)

_BURST_LIMIT = 10_000
_CATCH_UP_LIMIT = 100_000
_SEEN = "reviewkit:alert-rules"
"""The trigger-log rule id under which the answers the alert rules have seen are kept."""


@attrs.frozen
class Evaluation:
    """What one evaluation did.

    :ivar fired: alerts that started firing.
    :ivar resolved: alerts that cleared.
    :ivar pending: alerts holding, not yet for their rule's ``for_``.
    """

    fired: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    pending: tuple[Alert, ...] = ()


class AlertService:
    """Keep alert rules, evaluate them, and queue notifications for the routes.

    :param routes: who hears of which alerts (every matching route is told).
    :param retry: backoff for notifications a notifier could not take yet.
    :param catch_up: how far back :meth:`evaluate` looks for answers the answer and burst
        rules have not seen.
    :param rules_ttl: how long the rules read from the store are reused for new answers
        (rules this service adds or removes count at once; another process's after this).
    :param tasks: opens the tasks of routes with ``task_within`` (their receivers must be
        its assignees); needed when a route has one.
    :param link: a URL template for the host's page about an alert, put in every
        notification, with fields from
        :data:`~reviewkit.domain.notifications.LINK_FIELDS`:
        ``"https://shop.example/admin/answers/{answer_id}"``.
    :raises ValidationError: a route opens tasks and there is no *tasks*, or its receiver
        is not one of their assignees; *link* uses an unknown field.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        routes: Sequence[Route] = (),
        retry: RetryPolicy | None = None,
        catch_up: timedelta = timedelta(days=2),
        rules_ttl: timedelta = timedelta(seconds=10),
        tasks: TaskService | None = None,
        link: str | None = None,
    ) -> None:
        if link is not None:
            check_link_template(link)
        self.link = link
        for route in routes:
            if route.task_within is None:
                continue
            if tasks is None:
                raise ValidationError(
                    f"route to {route.receiver} opens tasks: give the alert service a task service"
                )
            tasks.assignee(route.receiver)
        self.tasks = tasks
        self._opened: list[Task] = []
        self.store = store
        self.clock = clock
        self.routes = tuple(routes)
        self.catch_up = catch_up
        self.rules_ttl = rules_ttl
        self._cached: tuple[datetime, list[AlertRule]] | None = None
        self._index = _AnswerRuleIndex([])
        self._open: dict[str, set[str | None]] | None = None
        self._silenced: tuple[datetime, list[Silence]] | None = None
        self._memo: dict[tuple[object, ...], dict[tuple[str | None, int | None], AnswerStats]] = {}
        self._comment_memo: dict[tuple[object, ...], list[tuple[str | None, datetime, str]]] = {}
        self.retry = retry or RetryPolicy(base=timedelta(minutes=1), max_attempts=10)

    # -- rules ------------------------------------------------------------------------------

    def add_rule(self, rule: AlertRule) -> AlertRule:
        """Store a rule. It sees answers recorded from now on (and, at :meth:`evaluate`,
        those of the last ``catch_up`` no rule has seen yet).

        :raises ConflictError: a rule of that name exists.
        """
        self._cached = None
        return self.store.add_alert_rule(rule)

    def rules(self) -> list[AlertRule]:
        """Every rule, oldest first."""
        return self.store.alert_rules()

    def remove_rule(self, key: str) -> AlertRule:
        """Remove the rule with id or name *key* and its alerts.

        :raises NotFoundError: no such rule.
        """
        self._cached = None
        return self.store.remove_alert_rule(key)

    def _rules(self) -> list[AlertRule]:
        now = as_utc(self.clock.now())
        if self._cached is None or not now - self.rules_ttl <= self._cached[0] <= now:
            rules = self.store.alert_rules()
            self._cached = (now, rules)
            self._index = _AnswerRuleIndex(rules)
        return self._cached[1]

    def alerts(self, states: Collection[AlertState] | None = None) -> list[Alert]:
        """Alerts (in *states*, when given), the latest change first."""
        return self.store.list_alerts(states)

    # -- evaluation -------------------------------------------------------------------------

    def on_answer(self, answer: Answer, request: Request, survey: Survey | None = None) -> None:
        """Evaluate the answer and burst rules for a new answer, once per rule and answer
        (the store's trigger log remembers which it has seen, so a retried hook or a later
        :meth:`evaluate` does not count it twice).

        Its signature is an answer hook's: ``answers.on_answer(alerts.on_answer)`` evaluates
        every recorded answer, and the answer service retries it if the store fails.
        """
        now = as_utc(self.clock.now())
        self._opened = []
        with self.store.transaction():
            self._answer_rules_see(answer, request, now)
        self._push_opened()

    def _answer_rules_see(
        self, answer: Answer, request: Request, now: datetime
    ) -> list[tuple[Alert | None, Transition | None]]:
        """Show *answer* to the answer and burst rules, unless they have seen it. With no such
        rule nothing is recorded, so a rule added later still catches up on the answer."""
        self._rules()
        if not answer.current or not self._index.rules:
            return []
        if not self.store.record_firing(_SEEN, answer.id, now):
            return []  # the rules have seen this answer (a retried hook, a catch-up)
        return [
            self._on_answer(rule, answer, request, now) for rule in self._index.candidates(answer)
        ]

    def _on_answer(
        self, rule: AnswerRule | BurstRule, answer: Answer, request: Request, now: datetime
    ) -> tuple[Alert | None, Transition | None]:
        if answer.kind is not rule.survey:
            return None, None
        if isinstance(rule, AnswerRule):
            found = answer_finding(rule, answer, request)
            return (None, None) if found is None else self._apply(rule, found, now)
        if not rule.filters.admits(answer, request):
            return None, None
        group = group_of(rule.by, answer, request)
        return self._apply(rule, self._burst(rule, group, now, request), now)

    def _catch_up(self, now: datetime) -> list[tuple[Alert | None, Transition | None]]:
        """Feed the answer and burst rules the answers of the last ``catch_up`` they have not
        seen (answers recorded by another process, or before a rule was added)."""
        self._rules()
        if not self._index.rules:
            return []
        results = []
        for answer in self.store.answers_since(now - self.catch_up, limit=_CATCH_UP_LIMIT):
            results += self._answer_rules_see(
                answer, self.store.get_request(answer.request_id), now
            )
        return results

    def evaluate(self, now: datetime | None = None) -> Evaluation:
        """Evaluate every rule: the answer and burst rules over answers of the last
        ``catch_up`` they have not seen yet, the level, drop, trend and topic rules over the
        answers in the store; re-check firing bursts (one within a span clears as time passes); and
        repeat what routes want repeated."""
        now = as_utc(now or self.clock.now())
        fired: list[Alert] = []
        resolved: list[Alert] = []
        pending: list[Alert] = []
        self._opened = []
        with self.store.transaction():
            self._cached = None  # a periodic evaluation reads the rules afresh
            self._memo.clear()
            self._comment_memo.clear()
            self._open = None
            results = self._catch_up(now)
            for rule in self._rules():
                results += [self._apply(rule, found, now) for found in self._findings(rule, now)]
            for alert, told in results:
                if alert is None:
                    continue
                if told is Transition.FIRED:
                    fired.append(alert)
                elif told is Transition.RESOLVED:
                    resolved.append(alert)
                elif alert.state is AlertState.PENDING:
                    pending.append(alert)
            self._repeat(now)
            self._memo.clear()
            self._comment_memo.clear()
            self._open = None
        self._push_opened()
        log.info(
            "alerts evaluated: %d fired, %d resolved, %d pending",
            len(fired),
            len(resolved),
            len(pending),
        )
        return Evaluation(tuple(fired), tuple(resolved), tuple(pending))

    def resolve(self, key: str) -> Alert:
        """Resolve a firing or pending alert by hand (an answer alert someone dealt with);
        its routes are told it was resolved if it was firing.

        :raises NotFoundError: no alert with that fingerprint.
        """
        now = as_utc(self.clock.now())
        with self.store.transaction():
            alert = self.store.get_alert(key)
            if alert is None:
                raise NotFoundError(f"no alert {key!r}")
            if alert.state is AlertState.RESOLVED:
                return alert
            done = attrs.evolve(alert, state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
            self.store.save_alert(done)
            if alert.state is AlertState.FIRING:
                self._notify(done, Transition.RESOLVED, now)
            return done

    def _findings(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        if isinstance(rule, AnswerRule):
            return ()
        if isinstance(rule, BurstRule):
            if rule.within is None:
                return ()
            firing = self.store.list_alerts([AlertState.FIRING, AlertState.PENDING], rule.id)
            return [self._burst(rule, a.group, now) for a in firing]
        if isinstance(rule, LevelRule):
            stats = self._stats(rule, [(now - rule.window, now)])
            return [
                level_finding(rule, group, series[0])
                for group, series in self._with_open_groups(rule, stats, 1).items()
            ]
        if isinstance(rule, DropRule):
            stats = self._stats(
                rule, [(now - 2 * rule.window, now - rule.window), (now - rule.window, now)]
            )
            return [
                drop_finding(rule, group, series[0], series[1])
                for group, series in self._with_open_groups(rule, stats, 2).items()
            ]
        if isinstance(rule, TopicRule):
            return self._topic(rule, now)
        return self._trend(rule, now)

    def _trend(self, rule: TrendRule, now: datetime) -> list[Finding]:
        periods = _complete_periods(rule, now)
        stats = self._stats(rule, periods)
        return [
            trend_finding(rule, group, series)
            for group, series in self._with_open_groups(rule, stats, len(periods)).items()
        ]

    def _topic(self, rule: TopicRule, now: datetime) -> list[Finding]:
        periods = _complete_periods(rule, now)
        stats = self._stats(rule, periods)
        hits: dict[tuple[str | None, int], int] = {}
        starts = [start for start, _ in periods]
        for group, at, comment in self._comments(rule, periods[0][0], periods[-1][1]):
            if mentions(comment, rule.words):
                index = bisect.bisect_right(starts, at) - 1
                hits[group, index] = hits.get((group, index), 0) + 1
        return [
            topic_finding(
                rule,
                group,
                [(s.n, hits.get((group, i), 0)) for i, s in enumerate(series)],
            )
            for group, series in self._with_open_groups(rule, stats, len(periods)).items()
        ]

    def _stats(
        self, rule: LevelRule | DropRule | PeriodRule, periods: list[tuple[datetime, datetime]]
    ) -> dict[tuple[str | None, int | None], AnswerStats]:
        # Rules asking the same question share one query in an evaluation (a thousand
        # per-store rules with the same window cost one aggregate).
        key = (rule.survey, rule.by, rule.campaign_id, tuple(periods))
        if key not in self._memo:
            self._memo[key] = self.store.answer_stats(
                rule.survey, by=rule.by, periods=periods, campaign_id=rule.campaign_id
            )
        return self._memo[key]

    def _comments(
        self, rule: TopicRule, since: datetime, until: datetime
    ) -> list[tuple[str | None, datetime, str]]:
        """The comments topic rules read, shared by the rules reading the same ones."""
        key = (rule.survey, rule.by, rule.campaign_id, since, until)
        if key not in self._comment_memo:
            self._comment_memo[key] = self.store.answer_comments(
                rule.survey, by=rule.by, since=since, until=until, campaign_id=rule.campaign_id
            )
        return self._comment_memo[key]

    def _with_open_groups(
        self,
        rule: LevelRule | DropRule | PeriodRule,
        stats: dict[tuple[str | None, int | None], AnswerStats],
        periods: int,
    ) -> dict[str | None, list[AnswerStats]]:
        """Each group's sums per period (empty where it had no answers), for every group with
        answers and every group with an open alert (so that it can clear)."""
        empty = AnswerStats(0, 0, 0, 0, 0)
        open_groups = self._open_groups().get(rule.id, set())
        if rule.groups:
            wanted = set(rule.groups)
            groups: set[str | None] = {
                g for g in wanted if any((g, i) in stats for i in range(periods))
            }
            groups |= open_groups & wanted
        else:
            groups = {group for group, _ in stats} | open_groups
        return {
            group: [stats.get((group, index), empty) for index in range(periods)]
            for group in groups
        }

    def _open_groups(self) -> dict[str, set[str | None]]:
        """The groups of each rule's pending or firing alerts (read once per evaluation)."""
        if self._open is None:
            self._open = {}
            for alert in self.store.list_alerts([AlertState.FIRING, AlertState.PENDING]):
                self._open.setdefault(alert.rule_id, set()).add(alert.group)
        return self._open

    def _burst(
        self, rule: BurstRule, group: str | None, now: datetime, request: Request | None = None
    ) -> Finding:
        fields = rule.filters.fields
        recent = self.store.recent_answers(
            rule.survey,
            by=rule.by,
            group=group,
            since=None if rule.within is None else now - rule.within,
            limit=_BURST_LIMIT if fields or rule.among is None else rule.among,
            campaigns=rule.filters.campaigns,
            segments=rule.filters.segments,
            channels=rule.filters.channels,
        )
        if fields:  # the customers' own fields are checked here, on their requests
            recent = [
                a for a in recent if rule.filters.admits(a, self.store.get_request(a.request_id))
            ]
        return burst_finding(rule, group, recent, request)

    def _apply(
        self, rule: AlertRule, found: Finding, now: datetime
    ) -> tuple[Alert | None, Transition | None]:
        if (
            not found.active
            and self._open is not None
            and found.group not in self._open.get(rule.id, ())
        ):
            return None, None  # no open alert to clear (read once for the evaluation)
        key = fingerprint(rule.id, found.group, found.key)
        before = self.store.get_alert(key)
        alert, told = advance(before, rule=rule, finding=found, now=now)
        if alert is None:
            if before is not None:
                self.store.delete_alert(key)
        else:
            self.store.save_alert(alert)
        if told is not None and alert is not None:
            log.info("alert %s %s: %s", rule.name, told.value, alert.evidence.summary)
            alert = self._notify(alert, told, now)
        return alert, told

    def _notify(
        self,
        alert: Alert,
        told: Transition,
        now: datetime,
        routes: Sequence[Route] | None = None,
    ) -> Alert:
        """Queue *told* for every matching route (of *routes*, by default all) unless a
        silence mutes the alert; return the alert with ``notified_at`` set when it fired."""
        if muted(self._silences_at(now), alert.labels, now):
            log.info("alert %s is silenced: nobody is told it %s", alert.rule_name, told.value)
            return alert
        # Made before they are stored: a waiting route reads and keeps its group as it goes.
        notifications = [
            Notification(
                receiver=route.receiver,
                transition=told,
                alert=alert,
                created_at=now,
                due_at=self._due_at(route, group, now),
                group=group,
                link=None if self.link is None else alert_link(self.link, alert),
            )
            for route in (self.routes if routes is None else routes)
            if told in route.transitions and route.matches(alert.labels)
            for group in [route.group_key(alert.labels)]
        ]
        self.store.add_notifications(notifications)
        if told is Transition.FIRED:
            alert = attrs.evolve(alert, notified_at=now)
            self.store.save_alert(alert)
        if told is Transition.FIRED and routes is None and self.tasks is not None:
            for route in self.routes:
                if route.task_within is not None and route.matches(alert.labels):
                    self._opened.append(
                        self.tasks.open_for_alert(
                            alert, assignee=route.receiver, within=route.task_within, push=False
                        )
                    )
        return alert

    def _due_at(self, route: Route, group: str, now: datetime) -> datetime:
        """When a notification queued now goes out on *route*: a route whose messages wait
        for their group keeps the group's planned message in the store."""
        if not route.waits:
            return route.due_at(now)
        kept = self.store.get_notification_group(route.receiver, group)
        due = route.due_at(now, kept)
        self.store.save_notification_group(
            NotificationGroup(
                receiver=route.receiver,
                key=group,
                due_at=due,
                sent_at=None if kept is None else kept.sent_at,
            )
        )
        return due

    def _push_opened(self) -> None:
        """Tell the tracker of the tasks the committed transaction opened."""
        opened, self._opened = self._opened, []
        if self.tasks is not None:
            for task in opened:
                self.tasks.push(task)

    def _silences_at(self, now: datetime) -> list[Silence]:
        """The silences active at *now*, read once per instant (an evaluation, an answer)."""
        if self._silenced is None or self._silenced[0] != now:
            self._silenced = (now, self.store.list_silences(now))
        return self._silenced[1]

    def _repeat(self, now: datetime) -> int:
        """Tell the routes with a ``repeat_interval`` again about alerts still firing."""
        repeating = [r for r in self.routes if r.repeat_interval is not None]
        if not repeating:
            return 0
        repeated = 0
        for alert in self.store.list_alerts([AlertState.FIRING]):
            last = alert.notified_at or alert.fired_at or alert.started_at
            due = [
                r
                for r in repeating
                if r.repeat_interval is not None
                and now - last >= r.repeat_interval
                and r.matches(alert.labels)
            ]
            if due:
                self._notify(alert, Transition.FIRED, now, due)
                repeated += 1
        return repeated

    # -- silences ---------------------------------------------------------------------------

    def silence(
        self,
        matchers: dict[str, str],
        *,
        until: datetime,
        starts_at: datetime | None = None,
        comment: str = "",
        created_by: str = "",
    ) -> Silence:
        """Mute alerts whose labels match *matchers* from *starts_at* (now) until *until*.

        :raises ValidationError: no matchers, or it ends before it starts.
        """
        silence = Silence(
            matchers=matchers,
            starts_at=starts_at or self.clock.now(),
            ends_at=until,
            comment=comment,
            created_by=created_by,
        )
        self.store.add_silence(silence)
        self._silenced = None
        return silence

    def silences(self, *, active: bool = False) -> list[Silence]:
        """The silences (only those active now, when *active*)."""
        return self.store.list_silences(as_utc(self.clock.now()) if active else None)

    def unsilence(self, silence_id: str) -> None:
        """End a silence.

        :raises NotFoundError: no such silence.
        """
        self._silenced = None
        if not self.store.remove_silence(silence_id):
            raise NotFoundError(f"no silence {silence_id!r}")

    # -- delivery ---------------------------------------------------------------------------

    def deliver(
        self,
        notifier: Notifier,
        *,
        worker_id: str | None = None,
        limit: int = 100,
        lease: timedelta = timedelta(minutes=2),
    ) -> int:
        """Hand due notifications from the outbox to *notifier*, those of one receiver and
        group (the route's ``group_by``) in one message; return how many notifications it
        took.

        Each is claimed under a lease first, so two workers never send the same one; a worker
        that dies leaves its claims to expire and be taken again. A
        :class:`~reviewkit.errors.TransientSendError` retries with backoff (up to the retry
        policy's attempts), a :class:`~reviewkit.errors.PermanentSendError` fails it at once.
        """
        worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        now = as_utc(self.clock.now())
        claimed = self.store.claim_notifications(
            now=now, limit=limit, worker_id=worker, lease_until=now + lease
        )
        batches: dict[tuple[str, str], list[Notification]] = {}
        for notification in claimed:
            batches.setdefault((notification.receiver, notification.group), []).append(notification)
        sent = 0
        for (receiver, group), batch in batches.items():
            status, error, retry_at = NotificationStatus.SENT, None, None
            try:
                notifier.notify(receiver, batch)
            except (TransientSendError, AccountError) as exc:  # an account can be mended
                error = str(exc)
                attempts = max(n.attempts for n in batch) + 1
                if self.retry.gives_up(attempts):
                    status = NotificationStatus.FAILED
                else:
                    status = NotificationStatus.PENDING
                    retry_at = as_utc(self.clock.now()) + self.retry.backoff(attempts)
            except PermanentSendError as exc:
                status, error = NotificationStatus.FAILED, str(exc)
            for notification in batch:
                if not self.store.finish_notification(
                    notification.id,
                    worker_id=worker,
                    status=status,
                    error=error,
                    retry_at=retry_at,
                ):
                    log.warning("lost the claim on notification %s", notification.id)
                elif status is NotificationStatus.SENT:
                    sent += 1
            if status is NotificationStatus.SENT:
                self._group_sent(receiver, group, as_utc(self.clock.now()))
            else:
                log.warning(
                    "%d notifications to %s %s: %s", len(batch), receiver, status.value, error
                )
        return sent

    def _group_sent(self, receiver: str, group: str, now: datetime) -> None:
        """Remember when a waiting group's message went out (for ``group_interval``)."""
        kept = self.store.get_notification_group(receiver, group)
        if kept is None:
            return
        planned = kept.due_at if kept.due_at is not None and kept.due_at > now else None
        self.store.save_notification_group(attrs.evolve(kept, due_at=planned, sent_at=now))


class AlertChore:
    """Alert evaluation and notification delivery as a :class:`~reviewkit.ports.Chore` of a
    dispatcher: every *every*, evaluate the rules (new answers and the level, drop, trend
    and topic rules), then hand due notifications to *notifier*.

    ::

        chore = AlertChore(AlertService(store, clock, routes=routes), notifier)
        Dispatcher(store, transport, clock, chores=[chore]).run(until_idle=False)

    Without rules in the store it only looks for them again next time. Notifications go
    through the service's leased outbox, so several dispatchers running the chore neither
    lose one nor send one twice.

    :param notifier: ``None`` to evaluate only (another process delivers).
    :param every: how often; answers recorded through an :class:`AlertService` hook are
        seen at once whatever this is.
    """

    name = "alert evaluation"

    def __init__(
        self,
        service: AlertService,
        notifier: Notifier | None = None,
        *,
        every: timedelta = timedelta(minutes=1),
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        if every <= timedelta(0):
            raise ValidationError(f"every must be a positive duration, not {every}")
        self.service = service
        self.notifier = notifier
        self.every = every
        self.worker_id = worker_id
        self.lease = lease
        self.last: Evaluation | None = None
        self.delivered = 0

    def run(self, now: datetime) -> datetime:
        """Evaluate and deliver once; return when to run again."""
        if self.service.rules():
            self.last = self.service.evaluate(now)
            if self.last.fired or self.last.resolved:
                log.info(
                    "alerts: %d fired, %d resolved",
                    len(self.last.fired),
                    len(self.last.resolved),
                )
        if self.notifier is not None:
            limit = 100
            while True:
                taken = self.service.deliver(
                    self.notifier, worker_id=self.worker_id, limit=limit, lease=self.lease
                )
                self.delivered += taken
                if taken < limit:
                    break
        return as_utc(now) + self.every


def _complete_periods(rule: PeriodRule, now: datetime) -> list[tuple[datetime, datetime]]:
    """The last ``rule.periods`` calendar periods that ended before *now* on the rule's
    calendar, oldest first; the current one is incomplete and left out."""
    return list(_periods_before(rule.period, rule.periods, rule.timezone, now))


@functools.lru_cache(maxsize=256)
def _periods_before(
    period: Period, count: int, timezone: str, now: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    # Many rules share a calendar: an evaluation computes each one once.
    zone = load_zone(timezone)
    current = buckets(period, zone, now, now + timedelta(microseconds=1))[0]
    days = {Period.DAY: 1, Period.WEEK: 7, Period.MONTH: 31}[period]
    span_start = current.start - timedelta(days=days * (count + 1))
    complete = buckets(period, zone, span_start, current.start)[-count:]
    return tuple((b.start, b.end) for b in complete)


class _AnswerRuleIndex:
    """The answer and burst rules by survey type and, for those watching some segments, by
    segment: a new answer is shown only to the rules that could fire for it."""

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        self._any: dict[SurveyType, list[AnswerRule | BurstRule]] = {}
        self._by_segment: dict[tuple[SurveyType, str], list[AnswerRule | BurstRule]] = {}
        self.rules = [r for r in rules if isinstance(r, AnswerRule | BurstRule)]
        """Every answer and burst rule."""
        for rule in self.rules:
            if rule.filters.segments:
                for segment in rule.filters.segments:
                    self._by_segment.setdefault((rule.survey, segment), []).append(rule)
            else:
                self._any.setdefault(rule.survey, []).append(rule)

    def candidates(self, answer: Answer) -> list[AnswerRule | BurstRule]:
        """The rules that may fire for *answer*."""
        found = self._any.get(answer.kind, [])
        if answer.segment is not None:
            found = found + self._by_segment.get((answer.kind, answer.segment), [])
        return found
