"""Scheduled personalised reports: plan who gets which period, compute every scope's
figures in one aggregation, render, and send each exactly once through a leased outbox.

::

    reports = ReportService(store, clock, transport)
    reports.add(ReportDefinition(name="weekly", recipients=[...], recurrence=Recurrence()))
    reports.plan()        # due runs into the outbox (idempotent, from any process)
    reports.send_due()    # claim, render, send; retries transient failures

    # or inside a dispatcher:
    Dispatcher(store, transport, clock, chores=[ReportChore(reports)])

The figures of all recipients of a report who share a time zone come from one aggregation
per survey type in the store (sums per store and period), one count of requests and one read
of the period's comments; each recipient's scope then only adds up its stores' sums.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.answers import Answer
from reviewkit.domain.instants import as_utc
from reviewkit.domain.reports import (
    Funnel,
    ReportDefinition,
    ReportFigures,
    ReportMetric,
    ReportRecipient,
    ReportRun,
    ReportRunStatus,
    Scope,
    covered_periods,
    figures_for,
    worst_comments,
)
from reviewkit.domain.request import RetryPolicy
from reviewkit.domain.scoring import AnswerStats, Bucket, Period
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.window import load_zone
from reviewkit.errors import (
    NotFoundError,
    PermanentSendError,
    TransientSendError,
    TransportError,
    ValidationError,
)
from reviewkit.ports import ChartRenderer, Clock, Store, Transport
from reviewkit.services.report_render import RenderedReport, render_report

__all__ = ["ReportChore", "ReportSendSummary", "ReportService"]

log = logging.getLogger("reviewkit.reports")

# How far back planning looks for the latest occurrence: two periods and a margin for a
# first working day pushed back by holidays.
_LOOKBACK = {
    Period.DAY: timedelta(days=3),
    Period.WEEK: timedelta(days=15),
    Period.MONTH: timedelta(days=63),
}


@attrs.frozen
class ReportSendSummary:
    """What one :meth:`ReportService.send_due` call did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0


@attrs.frozen
class _Aggregate:
    periods: list[Bucket]
    stats: dict[SurveyType, dict[tuple[str | None, int | None], AnswerStats]]
    funnels: dict[str | None, Funnel] | None
    comments: list[Answer]


class ReportService:
    """Keep report definitions, plan their runs, compute, render and send them.

    :param transport: what sends the e-mails (``None``: plan and render only).
    :param charts: draws the charts (``reviewkit.adapters.charts.MatplotlibCharts`` with
        the ``reports`` extra); ``None`` for tables only.
    :param retry: backoff for transient send failures, and how many attempts in all.
    :param lease: how long a worker holds claimed runs.
    :param scopes: the host's function from a recipient to the scope they see now (e.g.
        read from its HR system at send time), instead of the scope in the definition.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        transport: Transport | None = None,
        *,
        charts: ChartRenderer | None = None,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=10),
        worker_id: str | None = None,
        scopes: Callable[[ReportRecipient], Scope] | None = None,
    ) -> None:
        self.store = store
        self.scopes = scopes
        self.clock = clock
        self.transport = transport
        self.charts = charts
        self.retry = retry or RetryPolicy(max_attempts=5, base=timedelta(minutes=5))
        self.lease = lease
        self.worker_id = worker_id or f"reports-{uuid.uuid4().hex[:12]}"
        self._planned: set[tuple[str, str, datetime]] = set()

    # -- definitions ----------------------------------------------------------------------

    def add(self, report: ReportDefinition) -> ReportDefinition:
        """Store a new report; it first goes out at its next scheduled time.

        :raises ConflictError: a report with that name exists.
        """
        if report.created_at is None:
            report = attrs.evolve(report, created_at=as_utc(self.clock.now()))
        return self.store.add_report(report)

    def replace(self, report: ReportDefinition) -> ReportDefinition:
        """Save a changed definition (found by its id).

        :raises NotFoundError: no such report.
        """
        return self.store.save_report(report)

    def get(self, key: str) -> ReportDefinition:
        """The report with id or name *key*.

        :raises NotFoundError: no such report.
        """
        return self.store.get_report(key)

    def reports(self) -> list[ReportDefinition]:
        """Every report, by name."""
        return self.store.list_reports()

    def remove(self, key: str) -> ReportDefinition:
        """Delete a report and its outbox.

        :raises NotFoundError: no such report.
        """
        return self.store.remove_report(key)

    # -- figures and rendering ------------------------------------------------------------

    def figures(
        self,
        report: ReportDefinition | str,
        *,
        at: datetime | None = None,
        recipients: Sequence[str] | None = None,
    ) -> dict[str, ReportFigures]:
        """Each recipient's figures for the period a report sent at *at* (default: now)
        covers: the last whole period before *at* on the recipient's calendar.

        :param recipients: addresses to compute for (default: every recipient).
        :raises ValidationError: an address that is not a recipient, a naive *at*.
        """
        if isinstance(report, str):
            report = self.get(report)
        if at is not None and at.tzinfo is None:
            raise ValidationError("a report time must be timezone-aware")
        sent_at = as_utc(at or self.clock.now())
        chosen = (
            list(report.recipients)
            if recipients is None
            else [report.recipient(address) for address in recipients]
        )
        found: dict[str, ReportFigures] = {}
        cache: dict[tuple[str, str], _Aggregate] = {}
        for recipient in chosen:
            found[recipient.address] = self._figures(report, recipient, sent_at, cache)
        return found

    def render(self, figures: ReportFigures) -> RenderedReport:
        """The e-mail (or standalone HTML) of one recipient's figures."""
        return render_report(figures, charts=self.charts)

    def _figures(
        self,
        report: ReportDefinition,
        recipient: ReportRecipient,
        sent_at: datetime,
        cache: dict[tuple[str, str], _Aggregate],
    ) -> ReportFigures:
        if self.scopes is not None:
            recipient = attrs.evolve(recipient, scope=self.scopes(recipient))
        zone = load_zone(recipient.timezone)
        periods = covered_periods(report.recurrence.every, zone, sent_at, report.trend_periods)
        key = (recipient.timezone, periods[-1].label)
        aggregate = cache.get(key)
        if aggregate is None:
            aggregate = cache[key] = self._aggregate(report, periods)
        return figures_for(
            report,
            recipient,
            aggregate.periods,
            aggregate.stats,
            aggregate.funnels,
            aggregate.comments,
        )

    def _aggregate(self, report: ReportDefinition, periods: list[Bucket]) -> _Aggregate:
        """Every store's sums for the report's periods: one query per survey type."""
        last = periods[-1]
        stats = {
            kind: self.store.answer_stats(
                kind,
                by="segment",
                periods=[(b.start, b.end) for b in periods],
                since=periods[0].start,
                until=last.end,
            )
            for kind in report.kinds
        }
        funnels = None
        if ReportMetric.FUNNEL in report.metrics:
            funnels = self.store.request_funnel(since=last.start, until=last.end)
        comments: list[Answer] = []
        if ReportMetric.COMMENTS in report.metrics and report.comments:
            comments = worst_comments(
                self.store.iter_answers(since=last.start, until=last.end),
                per_segment=report.comments,
                kinds=report.kinds or tuple(SurveyType),
            )
        return _Aggregate(periods, stats, funnels, comments)

    # -- planning and sending -------------------------------------------------------------

    def plan(self, now: datetime | None = None) -> int:
        """Put the latest due run of every report and recipient in the outbox, if it is
        not there yet; returns how many were added. Safe to call from every worker, as
        often as wished: a run is unique per report, recipient and period."""
        now = as_utc(now or self.clock.now())
        added = 0
        for report in self.store.list_reports():
            by_zone: dict[str, list[ReportRecipient]] = defaultdict(list)
            for recipient in report.recipients:
                by_zone[recipient.timezone].append(recipient)
            every = report.recurrence.every
            since = now - _LOOKBACK[every]
            if report.created_at is not None and report.created_at > since:
                since = report.created_at
            for timezone, recipients in by_zone.items():
                zone = load_zone(timezone)
                at = report.recurrence.last_before(zone, report.window, now, since=since)
                if at is None or (report.id, timezone, at) in self._planned:
                    continue
                period = covered_periods(every, zone, at, 1)[-1]
                added += self.store.add_report_runs(
                    ReportRun(
                        report_id=report.id,
                        recipient=r.address,
                        period=period.label,
                        start=period.start,
                        end=period.end,
                        due_at=at,
                    )
                    for r in recipients
                )
                self._planned.add((report.id, timezone, at))
        if added:
            log.info("reports: %d planned", added)
        return added

    def send_due(self, now: datetime | None = None, *, limit: int = 50) -> ReportSendSummary:
        """Claim due runs, render and send them; transient failures are retried later,
        a report that cannot be rendered or is refused fails alone.

        :raises ValidationError: the service has no transport.
        """
        if self.transport is None:
            raise ValidationError("this report service has no transport to send with")
        now = as_utc(now or self.clock.now())
        lease_until = now + self.lease
        margin = min(timedelta(seconds=30), self.lease / 4)
        runs = self.store.claim_report_runs(
            now=now, limit=limit, worker_id=self.worker_id, lease_until=lease_until
        )
        sent = failed = retried = 0
        caches: dict[str, dict[tuple[str, str], _Aggregate]] = {}
        definitions: dict[str, ReportDefinition] = {}
        for run in runs:
            if as_utc(self.clock.now()) >= lease_until - margin:
                break  # the lease is nearly gone: leave the rest to whoever takes them next
            status, error, retry_at = self._send_one(run, definitions, caches, now)
            self.store.finish_report_run(
                run.id,
                worker_id=self.worker_id,
                status=status,
                at=as_utc(self.clock.now()),
                error=error,
                retry_at=retry_at,
            )
            if status is ReportRunStatus.SENT:
                sent += 1
            elif status is ReportRunStatus.FAILED:
                failed += 1
                log.error(
                    "report %s to %s for %s failed: %s",
                    run.report_id,
                    run.recipient,
                    run.period,
                    error,
                )
            else:
                retried += 1
                log.warning(
                    "report to %s for %s will be retried at %s: %s",
                    run.recipient,
                    run.period,
                    retry_at,
                    error,
                )
        return ReportSendSummary(sent, failed, retried)

    def _send_one(
        self,
        run: ReportRun,
        definitions: dict[str, ReportDefinition],
        caches: dict[str, dict[tuple[str, str], _Aggregate]],
        now: datetime,
    ) -> tuple[ReportRunStatus, str | None, datetime | None]:
        assert self.transport is not None
        try:
            report = definitions.get(run.report_id)
            if report is None:
                report = definitions[run.report_id] = self.store.get_report(run.report_id)
            recipient = report.recipient(run.recipient)
            cache = caches.setdefault(report.id, {})
            figures = self._figures(report, recipient, run.end, cache)
            if figures.period.label != run.period:
                raise ValidationError(
                    f"the report's schedule changed: it no longer covers {run.period}"
                )
            message = self.render(figures).message(
                to=recipient.address,
                sender=report.sender,
                message_id=run.message_id,
                created_at=now,
                report_id=report.id,
            )
        except (NotFoundError, ValidationError) as exc:
            return ReportRunStatus.FAILED, str(exc), None
        except Exception as exc:  # a report that cannot be rendered fails alone
            log.exception("report %s for %s could not be rendered", run.report_id, run.recipient)
            return ReportRunStatus.FAILED, f"cannot render: {type(exc).__name__}: {exc}", None
        try:
            self.transport.send(message)
        except TransientSendError as exc:
            if self.retry.gives_up(run.attempts + 1):
                return (
                    ReportRunStatus.FAILED,
                    f"gave up after {run.attempts + 1} attempts: {exc}",
                    None,
                )
            return ReportRunStatus.PENDING, str(exc), now + self.retry.backoff(run.attempts + 1)
        except (PermanentSendError, TransportError) as exc:
            return ReportRunStatus.FAILED, str(exc), None
        return ReportRunStatus.SENT, None, None

    def runs(
        self,
        report: str | None = None,
        statuses: Iterable[ReportRunStatus | str] | None = None,
    ) -> list[ReportRun]:
        """The outbox (of one report, in some statuses), earliest due first."""
        report_id = None if report is None else self.get(report).id
        return self.store.list_report_runs(
            report_id, None if statuses is None else [ReportRunStatus(s) for s in statuses]
        )


class ReportChore:
    """Reports as a :class:`~reviewkit.ports.Chore` of a dispatcher: every *every*, plan
    due runs and send them.

    ::

        reports = ReportService(store, clock, transport)
        Dispatcher(store, transport, clock, chores=[ReportChore(reports)])
    """

    name = "reports"

    def __init__(self, service: ReportService, *, every: timedelta = timedelta(minutes=1)) -> None:
        if every <= timedelta(0):
            raise ValidationError(f"every must be a positive duration, not {every}")
        self.service = service
        self.every = every
        self.sent = 0
        self.failed = 0

    def run(self, now: datetime) -> datetime:
        """Plan and send once (every due run, in batches); return when to run again."""
        self.service.plan(now)
        while True:
            summary = self.service.send_due()  # the clock's time: a batch may take a while
            self.sent += summary.sent
            self.failed += summary.failed
            if summary.sent + summary.failed + summary.retried == 0:
                break
        return as_utc(now) + self.every
