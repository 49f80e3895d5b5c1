"""Alerts: rules evaluated as answers arrive and on a schedule, their life, and telling people.

::

    alerts = AlertService(store, clock, routes=[Route(receiver="care", matchers={})])
    alerts.add_rule(AnswerRule(name="angry customer", survey=SurveyType.NPS))
    answers.on_answer(alerts.on_answer)     # answer and burst rules, as answers come in
    alerts.evaluate()                       # level, drop and trend rules, e.g. every 10 minutes
    alerts.deliver(notifier)                # the outbox, to e-mail, chat or pager

Every transition people hear of is written to the store's outbox in the same transaction as
the alert's new state, so a worker that dies between the two loses nothing;
:meth:`AlertService.deliver` claims notifications under a lease, hands each to the
:class:`~reviewkit.ports.Notifier` and records the outcome, retrying transient failures
with backoff.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.alerts import (
    Alert,
    AlertRule,
    AlertState,
    AnswerFilter,
    AnswerRule,
    BurstRule,
    DropRule,
    Finding,
    LevelRule,
    Transition,
    TrendRule,
    advance,
    answer_finding,
    burst_finding,
    drop_finding,
    fingerprint,
    group_of,
    level_finding,
    trend_finding,
)
from reviewkit.domain.answers import Answer
from reviewkit.domain.instants import as_utc
from reviewkit.domain.notifications import (
    Notification,
    NotificationStatus,
    Route,
    Silence,
    muted,
)
from reviewkit.domain.request import Request, RetryPolicy
from reviewkit.domain.scoring import AnswerStats, Period, buckets
from reviewkit.domain.survey import Survey
from reviewkit.domain.window import load_zone
from reviewkit.errors import AccountError, NotFoundError, PermanentSendError, TransientSendError
from reviewkit.ports import Clock, Notifier, Store

__all__ = ["AlertService", "Evaluation"]

log = logging.getLogger(__name__)

_BURST_LIMIT = 10_000


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
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        routes: Sequence[Route] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.routes = tuple(routes)
        self.retry = retry or RetryPolicy(base=timedelta(minutes=1), max_attempts=10)

    # -- rules ------------------------------------------------------------------------------

    def add_rule(self, rule: AlertRule) -> AlertRule:
        """Store a rule.

        :raises ConflictError: a rule of that name exists.
        """
        return self.store.add_alert_rule(rule)

    def rules(self) -> list[AlertRule]:
        """Every rule, oldest first."""
        return self.store.alert_rules()

    def remove_rule(self, key: str) -> AlertRule:
        """Remove the rule with id or name *key* and its alerts.

        :raises NotFoundError: no such rule.
        """
        return self.store.remove_alert_rule(key)

    def alerts(self, states: Collection[AlertState] | None = None) -> list[Alert]:
        """Alerts (in *states*, when given), the latest change first."""
        return self.store.list_alerts(states)

    # -- evaluation -------------------------------------------------------------------------

    def on_answer(self, answer: Answer, request: Request, survey: Survey | None = None) -> None:
        """Evaluate the answer and burst rules for a new answer.

        Its signature is an answer hook's: ``answers.on_answer(alerts.on_answer)`` evaluates
        every recorded answer, and the answer service retries it if the store fails.
        """
        now = as_utc(self.clock.now())
        with self.store.transaction():
            for rule in self.store.alert_rules():
                if isinstance(rule, AnswerRule):
                    found = answer_finding(rule, answer, request)
                    if found is not None:
                        self._apply(rule, found, now)
                elif (
                    isinstance(rule, BurstRule)
                    and rule.survey is answer.kind
                    and rule.filters.admits(answer, request)
                ):
                    group = group_of(rule.by, answer, request)
                    self._apply(rule, self._burst(rule, group, now, request), now)

    def evaluate(self, now: datetime | None = None) -> Evaluation:
        """Evaluate the level, drop and trend rules over the answers in the store, and re-check
        firing burst alerts (a burst within a span clears as time passes)."""
        now = as_utc(now or self.clock.now())
        fired: list[Alert] = []
        resolved: list[Alert] = []
        pending: list[Alert] = []
        with self.store.transaction():
            for rule in self.store.alert_rules():
                for found in self._findings(rule, now):
                    alert, told = self._apply(rule, found, now)
                    if told is Transition.FIRED and alert is not None:
                        fired.append(alert)
                    elif told is Transition.RESOLVED and alert is not None:
                        resolved.append(alert)
                    elif alert is not None and alert.state is AlertState.PENDING:
                        pending.append(alert)
            self._repeat(now)
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
        return self._trend(rule, now)

    def _trend(self, rule: TrendRule, now: datetime) -> list[Finding]:
        zone = load_zone(rule.timezone)
        # The periods that ended before now; the current one is incomplete and left out.
        current = buckets(rule.period, zone, now, now + timedelta(microseconds=1))[0]
        days = {Period.DAY: 1, Period.WEEK: 7, Period.MONTH: 31}[rule.period]
        span_start = current.start - timedelta(days=days * (rule.periods + 1))
        complete = buckets(rule.period, zone, span_start, current.start)[-rule.periods :]
        stats = self._stats(rule, [(b.start, b.end) for b in complete])
        return [
            trend_finding(rule, group, series)
            for group, series in self._with_open_groups(rule, stats, len(complete)).items()
        ]

    def _stats(
        self, rule: LevelRule | DropRule | TrendRule, periods: list[tuple[datetime, datetime]]
    ) -> dict[tuple[str | None, int | None], AnswerStats]:
        return self.store.answer_stats(
            rule.survey, by=rule.by, periods=periods, campaign_id=rule.campaign_id
        )

    def _with_open_groups(
        self,
        rule: LevelRule | DropRule | TrendRule,
        stats: dict[tuple[str | None, int | None], AnswerStats],
        periods: int,
    ) -> dict[str | None, list[AnswerStats]]:
        """Each group's sums per period (empty where it had no answers), for every group with
        answers and every group with an open alert (so that it can clear)."""
        empty = AnswerStats(0, 0, 0, 0, 0)
        groups = {group for group, _ in stats}
        groups |= {
            a.group
            for a in self.store.list_alerts([AlertState.FIRING, AlertState.PENDING], rule.id)
        }
        if rule.groups:
            groups &= set(rule.groups)
        return {
            group: [stats.get((group, index), empty) for index in range(periods)]
            for group in groups
        }

    def _burst(
        self, rule: BurstRule, group: str | None, now: datetime, request: Request | None = None
    ) -> Finding:
        filtered = rule.filters != AnswerFilter()
        recent = self.store.recent_answers(
            rule.survey,
            by=rule.by,
            group=group,
            since=None if rule.within is None else now - rule.within,
            limit=_BURST_LIMIT if filtered or rule.among is None else rule.among,
        )
        if filtered:
            recent = [
                a
                for a in recent
                if rule.filters.admits(
                    a, self.store.get_request(a.request_id) if rule.filters.fields else None
                )
            ]
        return burst_finding(rule, group, recent, request)

    def _apply(
        self, rule: AlertRule, found: Finding, now: datetime
    ) -> tuple[Alert | None, Transition | None]:
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
        if muted(self.store.list_silences(now), alert.labels, now):
            log.info("alert %s is silenced: nobody is told it %s", alert.rule_name, told.value)
            return alert
        self.store.add_notifications(
            Notification(
                receiver=route.receiver,
                transition=told,
                alert=alert,
                created_at=now,
                due_at=route.due_at(now),
            )
            for route in (self.routes if routes is None else routes)
            if told in route.transitions and route.matches(alert.labels)
        )
        if told is Transition.FIRED:
            alert = attrs.evolve(alert, notified_at=now)
            self.store.save_alert(alert)
        return alert

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
        return silence

    def silences(self, *, active: bool = False) -> list[Silence]:
        """The silences (only those active now, when *active*)."""
        return self.store.list_silences(as_utc(self.clock.now()) if active else None)

    def unsilence(self, silence_id: str) -> None:
        """End a silence.

        :raises NotFoundError: no such silence.
        """
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
        """Hand due notifications from the outbox to *notifier*, those of one receiver in
        one message; return how many notifications it took.

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
        batches: dict[str, list[Notification]] = {}
        for notification in claimed:
            batches.setdefault(notification.receiver, []).append(notification)
        sent = 0
        for receiver, batch in batches.items():
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
            if status is not NotificationStatus.SENT:
                log.warning(
                    "%d notifications to %s %s: %s", len(batch), receiver, status.value, error
                )
        return sent
