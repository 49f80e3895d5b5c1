"""In-memory adapters: a real store and a recording transport, for tests and scripts.

They keep the same contracts as the durable adapters (the same test suite runs against
them), so a test written against them means what it says in production.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from reviewkit.adapters.mime import build_email_bytes
from reviewkit.domain.alerts import Alert, AlertRule, AlertState, group_of, scrubbed
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
from reviewkit.domain.publication import Moderation, ModerationState
from reviewkit.domain.renamed import DeprecatedStoreNames, renamed_attribute
from reviewkit.domain.reports import (
    Funnel,
    ReportDefinition,
    ReportRun,
    ReportRunStatus,
    finished_run,
)
from reviewkit.domain.request import (
    ERASED_TASK_TITLE,
    Engagement,
    Outcome,
    Request,
    RequestStatus,
    apply_outcome,
    erased,
)
from reviewkit.domain.scoring import THRESHOLDS, AnswerStats, check_dimension
from reviewkit.domain.suppression import Suppression
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.tasks import Task, TaskStatus
from reviewkit.domain.tasks import task_order as _task_order
from reviewkit.domain.triggers import TriggerRule
from reviewkit.domain.window import epoch_micros
from reviewkit.errors import (
    AccountError,
    ConflictError,
    NotFoundError,
    PermanentSendError,
    StaleVersionError,
    TransientSendError,
    TransportError,
    ValidationError,
)

__all__ = ["InMemoryStore", "InMemoryTransport"]


_MISSING = object()


class _Journal:
    """What a transaction changed, to undo it: (mapping, key, previous value or _MISSING)."""

    def __init__(self) -> None:
        self.entries: list[tuple[dict[Any, Any], Any, Any]] = []


class _JournaledDict(dict[Any, Any]):
    """A dict that records each change in the store's open journal, if there is one."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self._store = store

    def _note(self, key: Any) -> None:
        journal = self._store._journal
        if journal is not None:
            journal.entries.append((self, key, dict.get(self, key, _MISSING)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._note(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._note(key)
        super().__delitem__(key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._note(key)
        return super().pop(key, *default)

    def clear(self) -> None:
        for key in list(self):
            self._note(key)
        super().clear()


class InMemoryStore(DeprecatedStoreNames):
    """A store that keeps everything in dictionaries, guarded by one lock.

    Thread-safe; :meth:`transaction` rolls back every change made inside a failed block.
    Inspect it in tests through :attr:`campaigns` and :attr:`requests`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._journal: _Journal | None = None
        self._campaigns: dict[str, Campaign] = _JournaledDict(self)
        self._requests: dict[str, Request] = _JournaledDict(self)
        self._keys: dict[tuple[str, str, str], str] = _JournaledDict(self)
        self._suppressions: dict[tuple[Channel, str], Suppression] = _JournaledDict(self)
        self._slots: dict[str, datetime] = _JournaledDict(self)
        self._answers: dict[str, Answer] = _JournaledDict(self)
        self._firings: dict[tuple[str, str], datetime] = _JournaledDict(self)
        self._trigger_rules: dict[str, TriggerRule] = _JournaledDict(self)
        self._rules: dict[str, AlertRule] = _JournaledDict(self)
        self._alerts: dict[str, Alert] = _JournaledDict(self)
        self._notifications: dict[str, Notification] = _JournaledDict(self)
        self._silences: dict[str, Silence] = _JournaledDict(self)
        self._groups: dict[tuple[str, str], NotificationGroup] = _JournaledDict(self)
        self._consents: dict[tuple[Channel, str], list[ConsentChange]] = _JournaledDict(self)
        self._tasks: dict[str, Task] = _JournaledDict(self)
        self._classifications: dict[str, Classification] = _JournaledDict(self)
        self._reports: dict[str, ReportDefinition] = _JournaledDict(self)
        self._soft_bounces: dict[tuple[Channel, str], int] = _JournaledDict(self)
        self._moderations: dict[str, Moderation] = _JournaledDict(self)
        self._report_runs: dict[str, ReportRun] = _JournaledDict(self)
        self._depth = 0

    @property
    def campaigns(self) -> list[Campaign]:
        """Every stored campaign (a copy of the list)."""
        with self._lock:
            return list(self._campaigns.values())

    @property
    def requests(self) -> list[Request]:
        """Every stored request, in insertion order (a copy of the list)."""
        with self._lock:
            return list(self._requests.values())

    deliveries = renamed_attribute("deliveries", "requests")

    def reset(self) -> None:
        """Forget everything: campaigns, requests, answers, suppressions, pacing slots and
        trigger firings."""
        with self._lock:
            # Every table is a journaled dict: a table added later is emptied too.
            for table in vars(self).values():
                if isinstance(table, _JournaledDict):
                    table.clear()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            # Undo by journal, not by copying everything: a transaction costs what it changes.
            self._journal = _Journal()
            self._depth = 1
            try:
                yield
            except BaseException:
                for mapping, key, previous in reversed(self._journal.entries):
                    if previous is _MISSING:
                        dict.pop(mapping, key, None)
                    else:
                        dict.__setitem__(mapping, key, previous)
                raise
            finally:
                self._depth = 0
                self._journal = None

    # -- campaigns ------------------------------------------------------------------------

    def add_campaign(self, campaign: Campaign) -> Campaign:
        with self._lock:
            if campaign.id in self._campaigns:
                raise ConflictError(f"a campaign with id {campaign.id!r} already exists")
            self._check_name_free(campaign)
            stored = attrs.evolve(campaign, version=1)
            self._campaigns[campaign.id] = stored
            return stored

    def _check_name_free(self, campaign: Campaign) -> None:
        for other in self._campaigns.values():
            if other.name == campaign.name and other.id != campaign.id:
                raise ConflictError(f"a campaign named {campaign.name!r} already exists")

    def get_campaign(self, key: str) -> Campaign:
        with self._lock:
            found = self._campaigns.get(key)
            if found is None:
                found = next((c for c in self._campaigns.values() if c.name == key), None)
            if found is None:
                raise NotFoundError(f"no campaign with id or name {key!r}")
            return found

    def save_campaign(self, campaign: Campaign) -> Campaign:
        with self._lock:
            current = self._campaigns.get(campaign.id)
            if current is None:
                raise NotFoundError(f"no campaign with id {campaign.id!r}")
            if current.version != campaign.version:
                raise StaleVersionError(
                    f"campaign {campaign.name!r} was changed meanwhile "
                    f"(version {current.version}, not {campaign.version}): reload and retry"
                )
            self._check_name_free(campaign)
            stored = attrs.evolve(campaign, version=campaign.version + 1)
            self._campaigns[campaign.id] = stored
            return stored

    def delete_campaign(self, campaign_id: str) -> None:
        with self._lock:
            if self._campaigns.pop(campaign_id, None) is None:
                raise NotFoundError(f"no campaign with id {campaign_id!r}")
            gone = [d.id for d in self._requests.values() if d.campaign_id == campaign_id]
            for request_id in gone:
                self._keys.pop(self._requests.pop(request_id).key, None)
            for answer in [a for a in self._answers.values() if a.campaign_id == campaign_id]:
                del self._answers[answer.id]

    def list_campaigns(self, statuses: Collection[CampaignStatus] | None = None) -> list[Campaign]:
        with self._lock:
            return [c for c in self._campaigns.values() if statuses is None or c.status in statuses]

    # -- requests -----------------------------------------------------------------------

    def add_requests(self, requests: Iterable[Request]) -> int:
        added = 0
        with self.transaction():
            for request in requests:
                if request.campaign_id not in self._campaigns:
                    raise NotFoundError(f"no campaign with id {request.campaign_id!r}")
                if request.key in self._keys or request.id in self._requests:
                    continue
                self._keys[request.key] = request.id
                self._requests[request.id] = request
                added += 1
        return added

    def get_request(self, request_id: str) -> Request:
        with self._lock:
            try:
                return self._requests[request_id]
            except KeyError:
                raise NotFoundError(f"no request with id {request_id!r}") from None

    def iter_requests(
        self,
        campaign_id: str,
        statuses: Collection[RequestStatus] | None = None,
    ) -> Iterator[Request]:
        with self._lock:
            found = [
                d
                for d in self._requests.values()
                if d.campaign_id == campaign_id and (statuses is None or d.status in statuses)
            ]
        return iter(found)

    def count_requests(self, campaign_id: str) -> dict[RequestStatus, int]:
        counts = dict.fromkeys(RequestStatus, 0)
        with self._lock:
            for d in self._requests.values():
                if d.campaign_id == campaign_id:
                    counts[d.status] += 1
        return counts

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
        wanted = None if ids is None else set(ids)
        changed = 0
        with self._lock:
            for d in list(self._requests.values()):
                if d.campaign_id != campaign_id or d.status not in from_statuses:
                    continue
                if wanted is not None and d.id not in wanted:
                    continue
                moved = attrs.evolve(
                    d,
                    status=to_status,
                    due_at=due_at if due_at is not None else d.due_at,
                    last_error=error if error is not None else d.last_error,
                    claimed_by=None,
                    lease_until=None,
                )
                if to_status is RequestStatus.PENDING:  # a new send starts from scratch
                    moved = attrs.evolve(
                        moved, attempts=0, sent_at=None, remind_at=None, reminders_sent=0
                    )
                self._requests[d.id] = moved
                changed += 1
        return changed

    def claim_requests(
        self,
        campaign_id: str,
        *,
        now: datetime,
        limit: int,
        worker_id: str,
        lease_until: datetime,
    ) -> list[Request]:
        with self._lock:
            due = [
                d for d in self._requests.values() if d.campaign_id == campaign_id and _due(d, now)
            ]
            # Earliest claimable first, then insertion order (the sort is stable), as in SQL.
            due.sort(key=_claimable_instant)
            claimed = []
            for d in due[:limit]:
                taken = attrs.evolve(
                    d, status=RequestStatus.CLAIMED, claimed_by=worker_id, lease_until=lease_until
                )
                self._requests[d.id] = taken
                claimed.append(taken)
            return claimed

    def renew_leases(
        self, request_ids: Collection[str], *, worker_id: str, lease_until: datetime
    ) -> set[str]:
        renewed = set()
        with self._lock:
            for request_id in request_ids:
                d = self._requests.get(request_id)
                if d is not None and d.held_by(worker_id):
                    self._requests[request_id] = attrs.evolve(d, lease_until=lease_until)
                    renewed.add(request_id)
        return renewed

    def finish_requests(
        self, outcomes: Iterable[Outcome], *, worker_id: str, now: datetime
    ) -> list[str]:
        lost = []
        with self.transaction():
            for outcome in outcomes:
                current = self._requests.get(outcome.request_id)
                if current is None or not current.held_by(worker_id):
                    lost.append(outcome.request_id)
                    continue
                self._requests[current.id] = apply_outcome(current, outcome, now)
        return lost

    def record_engagement(self, request_id: str, what: Engagement, at: datetime) -> Request:
        with self._lock:
            current = self.get_request(request_id)
            field = f"{Engagement(what).value}_at"
            changes: dict[str, Any] = {}
            if getattr(current, field) is None:
                changes[field] = at
            if what in (Engagement.CLICKED, Engagement.ANSWERED) and current.opened_at is None:
                changes["opened_at"] = at
            if what in (Engagement.ANSWERED, Engagement.UNSUBSCRIBED):
                changes["remind_at"] = None
            updated = attrs.evolve(current, **changes)
            self._requests[request_id] = updated
            return updated

    def request_funnel(self, *, since: datetime, until: datetime) -> dict[str | None, Funnel]:
        found: dict[str | None, Funnel] = {}
        with self._lock:
            for r in self._requests.values():
                if r.sent_at is not None and since <= r.sent_at < until:
                    segment = r.recipient.segment
                    found[segment] = found.get(segment, Funnel()).plus(
                        Funnel(1, int(r.opened_at is not None), int(r.answered_at is not None))
                    )
        return found

    def query_requests(
        self, query: RequestQuery, *, limit: int, after: str | None = None
    ) -> RequestPage:
        with self._lock:
            order = {d_id: i for i, d_id in enumerate(self._requests)}
            found = []
            for d in self._requests.values():
                if query.matches(d):
                    at = query.time_of(d)
                    assert at is not None
                    found.append(((epoch_micros(at), order[d.id]), d))
        found.sort(key=lambda pair: pair[0], reverse=True)
        if after is not None:
            try:
                at_text, seq_text = after.split(".")
                start = (int(at_text), int(seq_text))
            except ValueError:
                raise ValidationError(
                    f"page cursor {after!r} is not one this store returned"
                ) from None
            found = [pair for pair in found if pair[0] < start]
        page = found[:limit]
        more = len(found) > limit
        cursor = f"{page[-1][0][0]}.{page[-1][0][1]}" if more else None
        return RequestPage(tuple(d for _, d in page), cursor)

    def add_answer(self, answer: Answer) -> Answer:
        with self.transaction():
            self.get_request(answer.request_id)
            for old in list(self._answers.values()):
                if old.request_id == answer.request_id and old.current:
                    self._answers[old.id] = attrs.evolve(old, current=False)
            stored = attrs.evolve(answer, current=True)
            self._answers[stored.id] = stored
            return stored

    def get_answer(self, answer_id: str) -> Answer:
        with self._lock:
            found = self._answers.get(answer_id)
        if found is None:
            raise NotFoundError(f"no answer with id {answer_id!r}")
        return found

    def answers_for(self, request_id: str) -> list[Answer]:
        with self._lock:
            return [a for a in self._answers.values() if a.request_id == request_id]

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
        top, bottom = THRESHOLDS[SurveyType(kind)]
        check_dimension(by)
        segments, channels = set(segments), {Channel(c) for c in channels}
        sums: dict[tuple[str | None, int | None], list[int]] = {}
        with self._lock:
            for a in self._answers.values():
                if a.kind is not kind or not a.current:
                    continue
                if (since is not None and a.at < since) or (until is not None and a.at >= until):
                    continue
                if campaign_id is not None and a.campaign_id != campaign_id:
                    continue
                if (segments and a.segment not in segments) or (
                    channels and a.channel not in channels
                ):
                    continue
                index = None
                if periods is not None:
                    index = next((i for i, (s, e) in enumerate(periods) if s <= a.at < e), None)
                    if index is None:
                        continue
                group = self._answer_group(a, by)
                totals = sums.setdefault((group, index), [0, 0, 0, 0, 0])
                totals[0] += 1
                totals[1] += a.score
                totals[2] += a.score * a.score
                totals[3] += a.score >= top
                totals[4] += a.score <= bottom
        return {key: AnswerStats(*values) for key, values in sums.items()}

    def _answer_group(self, answer: Answer, by: str | None) -> str | None:
        fields = by is not None and by.startswith("field:")
        return group_of(by, answer, self._requests[answer.request_id] if fields else None)

    def answer_span(self, kind: SurveyType) -> tuple[datetime, datetime] | None:
        with self._lock:
            times = [a.at for a in self._answers.values() if a.kind is kind and a.current]
        return (min(times), max(times)) if times else None

    def due_answer_hooks(self, now: datetime, limit: int) -> list[Answer]:
        with self._lock:
            due = [
                a
                for a in self._answers.values()
                if not a.hook_done and (a.hook_next_at is None or a.hook_next_at <= now)
            ]
        return due[:limit]

    def finish_answer_hook(
        self, answer_id: str, *, done: bool, error: str | None, next_at: datetime | None
    ) -> None:
        with self._lock:
            a = self._answers[answer_id]
            self._answers[answer_id] = attrs.evolve(
                a,
                hook_done=done,
                hook_error=error,
                hook_next_at=next_at,
                hook_attempts=a.hook_attempts + (0 if done else 1),
            )

    def record_firing(self, rule_id: str, entity_id: str, at: datetime) -> bool:
        with self._lock:
            if (rule_id, entity_id) in self._firings:
                return False
            self._firings[(rule_id, entity_id)] = at
            return True

    def add_trigger_rule(self, rule: TriggerRule) -> TriggerRule:
        with self._lock:
            if rule.id in self._trigger_rules:
                raise ConflictError(f"there is already a trigger rule {rule.id!r}")
            self._trigger_rules[rule.id] = rule
            return rule

    def trigger_rules(self) -> list[TriggerRule]:
        with self._lock:
            return list(self._trigger_rules.values())

    def remove_trigger_rule(self, rule_id: str) -> TriggerRule:
        with self._lock:
            rule = self._trigger_rules.pop(rule_id, None)
            if rule is None:
                raise NotFoundError(f"no trigger rule {rule_id!r}")
            return rule

    # -- alerts -------------------------------------------------------------------------------

    def add_alert_rule(self, rule: AlertRule) -> AlertRule:
        with self._lock:
            if rule.id in self._rules or any(r.name == rule.name for r in self._rules.values()):
                raise ConflictError(f"an alert rule named {rule.name!r} (or with its id) exists")
            self._rules[rule.id] = rule
            return rule

    def alert_rules(self) -> list[AlertRule]:
        with self._lock:
            return list(self._rules.values())

    def remove_alert_rule(self, key: str) -> AlertRule:
        with self.transaction():
            rule = self._rules.get(key) or next(
                (r for r in self._rules.values() if r.name == key), None
            )
            if rule is None:
                raise NotFoundError(f"no alert rule {key!r}")
            del self._rules[rule.id]
            for alert in [a for a in self._alerts.values() if a.rule_id == rule.id]:
                del self._alerts[alert.fingerprint]
            return rule

    def get_alert(self, fingerprint: str) -> Alert | None:
        with self._lock:
            return self._alerts.get(fingerprint)

    def list_alerts(
        self, states: Collection[AlertState] | None = None, rule_id: str | None = None
    ) -> list[Alert]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if (states is None or a.state in states)
                and (rule_id is None or a.rule_id == rule_id)
            ]
        return sorted(found, key=lambda a: a.updated_at, reverse=True)

    def save_alert(self, alert: Alert) -> None:
        with self._lock:
            self._alerts[alert.fingerprint] = alert

    def delete_alert(self, fingerprint: str) -> None:
        with self._lock:
            self._alerts.pop(fingerprint, None)

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
        check_dimension(by)
        with self._lock:
            found = [
                a
                for a in self._answers.values()
                if a.kind is kind
                and a.current
                and (since is None or a.at >= since)
                and (not campaigns or a.campaign_id in campaigns)
                and (not segments or a.segment in segments)
                and (not channels or a.channel in channels)
                and self._answer_group(a, by) == group
            ]
        found.sort(key=lambda a: a.at, reverse=True)
        return found[:limit]

    def answer_comments(
        self,
        kind: SurveyType,
        *,
        by: str | None,
        since: datetime,
        until: datetime,
        campaign_id: str | None = None,
    ) -> list[tuple[str | None, datetime, str]]:
        check_dimension(by)
        with self._lock:
            return [
                (self._answer_group(a, by), a.at, a.comment)
                for a in self._answers.values()
                if a.kind is kind
                and a.current
                and a.comment
                and since <= a.at < until
                and (campaign_id is None or a.campaign_id == campaign_id)
            ]

    def iter_answers(
        self,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Answer]:
        with self._lock:
            found = [
                a
                for a in self._answers.values()
                if a.current
                and (campaign_id is None or a.campaign_id == campaign_id)
                and (since is None or a.at >= since)
                and (until is None or a.at < until)
            ]
        yield from found

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
        with self._lock:
            found = [
                (a.score, -epoch_micros(a.at), -order, a)
                for order, a in enumerate(self._answers.values())
                if a.current
                and a.kind is SurveyType(kind)
                and a.comment
                and since <= a.at < until
                and (not segments or a.segment in segments)
                and (not channels or a.channel in channels)
            ]
        found.sort(key=lambda item: item[:3])
        return [item[3] for item in found[:limit]]

    def answers_since(self, since: datetime, *, limit: int) -> list[Answer]:
        with self._lock:
            found = [a for a in self._answers.values() if a.current and a.at >= since]
        found.sort(key=lambda a: a.at)
        return found[:limit]

    def add_notifications(self, notifications: Iterable[Notification]) -> None:
        with self._lock:
            for notification in notifications:
                self._notifications[notification.id] = notification

    def claim_notifications(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[Notification]:
        with self._lock:
            due = [
                n
                for n in self._notifications.values()
                if (n.status is NotificationStatus.PENDING and n.due_at <= now)
                or (
                    n.status is NotificationStatus.CLAIMED
                    and n.lease_until is not None
                    and n.lease_until <= now
                )
            ][:limit]
            claimed = []
            for n in due:
                held = attrs.evolve(
                    n,
                    status=NotificationStatus.CLAIMED,
                    claimed_by=worker_id,
                    lease_until=lease_until,
                )
                self._notifications[n.id] = held
                claimed.append(held)
            return claimed

    def finish_notification(
        self,
        notification_id: str,
        *,
        worker_id: str,
        status: NotificationStatus,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        with self._lock:
            n = self._notifications.get(notification_id)
            if n is None or n.status is not NotificationStatus.CLAIMED or n.claimed_by != worker_id:
                return False
            self._notifications[n.id] = attrs.evolve(
                n,
                status=status,
                attempts=n.attempts + 1,
                claimed_by=None,
                lease_until=None,
                last_error=error,
                due_at=retry_at or n.due_at,
            )
            return True

    def list_notifications(
        self, statuses: Collection[NotificationStatus] | None = None
    ) -> list[Notification]:
        with self._lock:
            return [
                n for n in self._notifications.values() if statuses is None or n.status in statuses
            ]

    def get_notification_group(self, receiver: str, key: str) -> NotificationGroup | None:
        with self._lock:
            return self._groups.get((receiver, key))

    def save_notification_group(self, group: NotificationGroup) -> None:
        with self._lock:
            self._groups[group.receiver, group.key] = group

    def add_silence(self, silence: Silence) -> None:
        with self._lock:
            self._silences[silence.id] = silence

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]:
        with self._lock:
            found = [
                s
                for s in self._silences.values()
                if active_at is None or s.starts_at <= active_at < s.ends_at
            ]
        return sorted(found, key=lambda s: s.starts_at)

    def remove_silence(self, silence_id: str) -> bool:
        with self._lock:
            return self._silences.pop(silence_id, None) is not None

    # -- reports ------------------------------------------------------------------------------

    def add_soft_bounce(self, channel: Channel, address: str, at: datetime) -> int:
        with self._lock:
            key = (Channel(channel), address.casefold())
            self._soft_bounces[key] = self._soft_bounces.get(key, 0) + 1
            return int(self._soft_bounces[key])

    def requests_made_before(self, before: datetime, *, limit: int) -> list[str]:
        with self._lock:
            found = [
                (r.scheduled_at, order, r.id)
                for order, r in enumerate(self._requests.values())
                if r.scheduled_at < before and not r.address.startswith("erased:")
            ]
        return [request_id for _, _, request_id in sorted(found)[:limit]]

    def clear_comments(self, before: datetime, *, limit: int) -> int:
        with self._lock:
            chosen = [a for a in self._answers.values() if a.at < before and a.comment][:limit]
            for answer in chosen:
                self._answers[answer.id] = attrs.evolve(answer, comment=None)
            return len(chosen)

    def clear_engagement(self, before: datetime, *, limit: int) -> int:
        with self._lock:
            chosen = [
                r
                for r in self._requests.values()
                if r.sent_at is not None
                and r.sent_at < before
                and (r.opened_at or r.clicked_at or r.delivered_at)
            ][:limit]
            for r in chosen:
                self._requests[r.id] = attrs.evolve(
                    r, opened_at=None, clicked_at=None, delivered_at=None
                )
            return len(chosen)

    def save_moderation(self, moderation: Moderation) -> None:
        with self._lock:
            if moderation.answer_id not in self._answers:
                raise NotFoundError(f"no answer with id {moderation.answer_id!r}")
            self._moderations[moderation.answer_id] = moderation

    def moderations_of(self, answer_ids: Collection[str]) -> dict[str, Moderation]:
        with self._lock:
            return {i: self._moderations[i] for i in answer_ids if i in self._moderations}

    def approved_answers(self, *, limit: int) -> list[Answer]:
        with self._lock:
            found = [
                (a.at, order, a)
                for order, a in enumerate(self._answers.values())
                if a.current
                and a.id in self._moderations
                and self._moderations[a.id].state is ModerationState.APPROVED
            ]
        found.sort(key=lambda item: item[:2], reverse=True)
        return [a for _, _, a in found[:limit]]

    def erase_contact(
        self,
        request_ids: Collection[str],
        addresses: Mapping[tuple[Channel, str], str],
    ) -> int:
        ids = set(request_ids)
        with self.transaction():
            for request_id in ids:
                request = self._requests[request_id]
                self._keys.pop(request.key, None)
                gone = erased(request)
                self._requests[request_id] = gone
                self._keys[gone.key] = request_id
            for answer in [a for a in self._answers.values() if a.request_id in ids]:
                self._answers[answer.id] = attrs.evolve(answer, comment=None, hook_error=None)
            for c in [c for c in self._classifications.values() if c.request_id in ids]:
                self._classifications[c.id] = attrs.evolve(c, note=None)
            for task in [t for t in self._tasks.values() if t.request_id in ids]:
                self._tasks[task.id] = attrs.evolve(
                    task, title=ERASED_TASK_TITLE, notes=(), version=task.version + 1
                )
            for alert in [a for a in self._alerts.values() if a.evidence.request_id in ids]:
                self._alerts[alert.fingerprint] = attrs.evolve(
                    alert, evidence=scrubbed(alert.evidence)
                )
            for n in list(self._notifications.values()):
                if n.alert.evidence.request_id in ids:
                    alert = attrs.evolve(n.alert, evidence=scrubbed(n.alert.evidence))
                    self._notifications[n.id] = attrs.evolve(n, alert=alert)
            for (channel, address), hashed in addresses.items():
                self._soft_bounces.pop((Channel(channel), address.casefold()), None)
                self._consents.pop((Channel(channel), address.casefold()), None)
                found = self._suppressions.pop((Channel(channel), address.casefold()), None)
                if found is not None:
                    kept = attrs.evolve(found, address=hashed, note=None)
                    self._suppressions[kept.key] = kept
        return len(ids)

    def add_consent_change(self, change: ConsentChange) -> None:
        with self._lock:
            key = (Channel(change.channel), change.address.casefold())
            self._consents[key] = [*self._consents.get(key, []), change]

    def consent_changes(self, channel: Channel, address: str) -> list[ConsentChange]:
        with self._lock:
            found = list(self._consents.get((Channel(channel), address.casefold()), []))
        return sorted(found, key=lambda c: (c.at, c.recorded_at))

    def add_report(self, report: ReportDefinition) -> ReportDefinition:
        with self._lock:
            if report.id in self._reports:
                raise ConflictError(f"a report with id {report.id!r} already exists")
            self._check_report_name(report)
            self._reports[report.id] = report
            return report

    def _check_report_name(self, report: ReportDefinition) -> None:
        for other in self._reports.values():
            if other.name == report.name and other.id != report.id:
                raise ConflictError(f"a report named {report.name!r} already exists")

    def save_report(self, report: ReportDefinition) -> ReportDefinition:
        with self._lock:
            if report.id not in self._reports:
                raise NotFoundError(f"no report with id {report.id!r}")
            self._check_report_name(report)
            self._reports[report.id] = report
            return report

    def get_report(self, key: str) -> ReportDefinition:
        with self._lock:
            found = self._reports.get(key) or next(
                (r for r in self._reports.values() if r.name == key), None
            )
        if found is None:
            raise NotFoundError(f"no report with id or name {key!r}")
        return found

    def list_reports(self) -> list[ReportDefinition]:
        with self._lock:
            return sorted(self._reports.values(), key=lambda r: r.name)

    def remove_report(self, key: str) -> ReportDefinition:
        with self._lock:
            report = self.get_report(key)
            del self._reports[report.id]
            for run in [r for r in self._report_runs.values() if r.report_id == report.id]:
                del self._report_runs[run.id]
            return report

    def add_report_runs(self, runs: Iterable[ReportRun]) -> int:
        added = 0
        with self._lock:
            taken = {run.key for run in self._report_runs.values()}
            for run in runs:
                if run.key not in taken:
                    self._report_runs[run.id] = run
                    taken.add(run.key)
                    added += 1
        return added

    def claim_report_runs(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[ReportRun]:
        with self._lock:
            due = sorted(
                (
                    r
                    for r in self._report_runs.values()
                    if (r.status is ReportRunStatus.PENDING and r.due_at <= now)
                    or (
                        r.status is ReportRunStatus.CLAIMED
                        and r.lease_until is not None
                        and r.lease_until <= now
                    )
                ),
                key=lambda r: r.due_at,
            )[:limit]
            claimed = []
            for run in due:
                held = attrs.evolve(
                    run,
                    status=ReportRunStatus.CLAIMED,
                    claimed_by=worker_id,
                    lease_until=lease_until,
                )
                self._report_runs[run.id] = held
                claimed.append(held)
            return claimed

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
        with self._lock:
            run = self._report_runs.get(run_id)
            if (
                run is None
                or run.status is not ReportRunStatus.CLAIMED
                or run.claimed_by != worker_id
            ):
                return False
            self._report_runs[run.id] = finished_run(run, status, at, error, retry_at)
            return True

    def list_report_runs(
        self,
        report_id: str | None = None,
        statuses: Collection[ReportRunStatus] | None = None,
    ) -> list[ReportRun]:
        with self._lock:
            found = [
                r
                for r in self._report_runs.values()
                if (report_id is None or r.report_id == report_id)
                and (statuses is None or r.status in statuses)
            ]
        return sorted(found, key=lambda r: r.due_at)

    # -- classifications ----------------------------------------------------------------------

    def add_classification(self, classification: Classification) -> None:
        with self._lock:
            self.get_request(classification.request_id)
            self._classifications[classification.id] = classification

    def classifications(
        self, *, request_id: str | None = None, campaign_id: str | None = None
    ) -> list[Classification]:
        with self._lock:
            found = [
                c
                for c in self._classifications.values()
                if (request_id is None or c.request_id == request_id)
                and (campaign_id is None or c.campaign_id == campaign_id)
            ]
        return sorted(found, key=lambda c: c.at)

    # -- tasks --------------------------------------------------------------------------------

    def add_task(self, task: Task) -> Task:
        with self._lock:
            if task.id in self._tasks:
                raise ConflictError(f"a task with id {task.id!r} exists")
            stored = attrs.evolve(task, version=1)
            self._tasks[task.id] = stored
            return stored

    def get_task(self, task_id: str) -> Task:
        with self._lock:
            try:
                return self._tasks[task_id]
            except KeyError:
                raise NotFoundError(f"no task with id {task_id!r}") from None

    def save_task(self, task: Task) -> Task:
        with self._lock:
            current = self.get_task(task.id)
            if current.version != task.version:
                raise StaleVersionError(
                    f"task {task.title!r} was changed meanwhile (version {current.version}, "
                    f"not {task.version}): read it again"
                )
            stored = attrs.evolve(task, version=task.version + 1)
            self._tasks[task.id] = stored
            return stored

    def list_tasks(
        self, statuses: Collection[TaskStatus] | None = None, assignee: str | None = None
    ) -> list[Task]:
        with self._lock:
            found = [
                t
                for t in self._tasks.values()
                if (statuses is None or t.status in statuses)
                and (assignee is None or t.assignee == assignee)
            ]
        return sorted(found, key=_task_order)

    def reserve_slots(self, gaps: Mapping[str, timedelta], *, now: datetime) -> datetime | None:
        with self._lock:
            busy = [self._slots[k] for k in gaps if k in self._slots and self._slots[k] > now]
            if busy:
                return max(busy)
            for key, gap in gaps.items():
                self._slots[key] = now + gap
            return None

    def add_suppression(self, suppression: Suppression) -> None:
        with self._lock:
            self._suppressions[suppression.key] = suppression

    def get_suppression(self, channel: Channel, address: str) -> Suppression | None:
        with self._lock:
            return self._suppressions.get((channel, address.casefold()))

    def find_suppression(self, channel: Channel, addresses: Sequence[str]) -> Suppression | None:
        with self._lock:
            for address in addresses:
                found = self._suppressions.get((channel, address.casefold()))
                if found is not None:
                    return found
        return None

    def remove_suppression(self, channel: Channel, address: str) -> bool:
        with self._lock:
            return self._suppressions.pop((channel, address.casefold()), None) is not None

    def iter_suppressions(self, channel: Channel | None = None) -> Iterator[Suppression]:
        with self._lock:
            found = [
                s for key, s in sorted(self._suppressions.items(), key=lambda item: (
                    item[0][0].value, item[0][1]))
                if channel is None or key[0] is Channel(channel)
            ]  # fmt: skip
        yield from found

    def next_due_at(self, campaign_id: str) -> datetime | None:
        with self._lock:
            times = [
                t
                for d in self._requests.values()
                if d.campaign_id == campaign_id
                for t in (d.claimable_at,)
                if t is not None
            ]
        return min(times, default=None)


def _claimable_instant(d: Request) -> datetime:
    at = d.claimable_at
    assert at is not None  # only due requests are sorted
    return at.astimezone(UTC)


def _due(d: Request, now: datetime) -> bool:
    at = d.claimable_at
    return at is not None and at <= now


@attrs.define
class _Fault:
    kind: type[TransportError]
    message: str
    remaining: int


class InMemoryTransport:
    """A transport that keeps every accepted message in :attr:`sent` (and e-mails' bytes in
    :attr:`raw`), refusing what a real transport would refuse (a header with a line break).

    Make it fail on purpose with :meth:`fail_next`; a failing send records nothing.
    """

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.raw: list[bytes] = []
        """The bytes an e-mail transport would have put on the wire, one per e-mail sent."""
        self.attempts = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.closed = 0

    def fail_next(
        self,
        count: int = 1,
        *,
        kind: type[TransportError] = TransientSendError,
        message: str | None = None,
    ) -> None:
        """Make the next *count* sends raise *kind* (transient, permanent or account error)."""
        if kind not in (TransientSendError, PermanentSendError, AccountError):
            raise TypeError("kind must be TransientSendError, PermanentSendError or AccountError")
        text = (
            message
            or {
                TransientSendError: "451 try again later (injected)",
                PermanentSendError: "550 mailbox unavailable (injected)",
                AccountError: "535 authentication failed (injected)",
            }[kind]
        )
        with self._lock:
            self._faults.append(_Fault(kind, text, count))

    def send(self, message: OutgoingMessage) -> None:
        with self._lock:
            self.attempts += 1
            if self._faults:
                fault = self._faults[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.pop(0)
                raise fault.kind(fault.message)
            if message.channel is Channel.EMAIL:
                # Build the bytes as a real transport would, so bad headers fail here too.
                self.raw.append(build_email_bytes(message))
            self.sent.append(copy.copy(message))

    def close(self) -> None:
        self.closed += 1

    def to(self, address: str) -> list[OutgoingMessage]:
        """Return the messages accepted for *address*."""
        return [m for m in self.sent if m.to == address]

    def reset(self) -> None:
        """Forget what was sent and any pending faults."""
        with self._lock:
            self.sent.clear()
            self.raw.clear()
            self._faults.clear()
            self.attempts = 0
