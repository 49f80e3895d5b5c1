"""The dispatcher: claims what is due, renders it, hands it to a transport, records the outcome.

One pass (:meth:`Dispatcher.dispatch_due`) looks at every active campaign at the clock's
current instant; :meth:`Dispatcher.run` repeats passes, sleeping on the clock until the next
thing is due. Several dispatchers may share one store: claims are leased, so no two send the
same request, and a dispatcher that dies loses nothing.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from reviewkit.domain.campaign import ACTIVE, Campaign, CampaignEvent, CampaignStatus, Channel
from reviewkit.domain.consent import missing_consents
from reviewkit.domain.instants import as_utc
from reviewkit.domain.messages import OutgoingMessage, render_message
from reviewkit.domain.outcomes import Attempt, Counted, Result, decide, released, wants_reminder
from reviewkit.domain.request import Outcome, Request, RequestStatus, RetryPolicy
from reviewkit.domain.schedule import next_send_time
from reviewkit.domain.sms import sms_segments
from reviewkit.domain.suppression import SuppressionReason, erased_address, unsubscribe_extra
from reviewkit.domain.tokens import LinkSigner, TokenPurpose
from reviewkit.domain.window import load_zone
from reviewkit.errors import (
    AccountError,
    ConfigurationError,
    IllegalTransitionError,
    PermanentSendError,
    StaleVersionError,
    StorageError,
    TemplateError,
    TransientSendError,
)
from reviewkit.ports import Chore, Clock, RateLimitedTransport, Store, Transport
from reviewkit.services.consent import consents_now

__all__ = ["DispatchReport", "Dispatcher", "Wait", "WaitReason"]

log = logging.getLogger("reviewkit.dispatch")

# Sleeps longer than this close the transport's connections first; shorter pacing gaps keep
# them (RFC 5321 asks servers to wait at least five minutes before dropping an idle client).
_IDLE_CLOSE = timedelta(minutes=1)
# Waits after a transient storage fault (a lock held by another process, a full disk).
_CHORE_RETRY = timedelta(minutes=1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)  # "due at once": a chore's first run

_STORAGE_BACKOFF = (timedelta(seconds=1), timedelta(minutes=1))


class WaitReason(enum.StrEnum):
    """Why a campaign sends nothing now."""

    START = "start"
    """Its start time has not come."""
    WINDOW = "window"
    """Its send window is shut (outside its hours or days, a holiday)."""
    PACING = "pacing"
    """The interval between its messages, or a sender account's rate."""
    DUE = "due"
    """Its next request is not due yet (a send delay, a reminder, a retry's backoff)."""


@attrs.frozen
class Wait:
    """What a dispatcher waits for next: when *campaign* sends again, and why not before.

    :ivar at: the instant (UTC).
    :ivar timezone: the campaign's zone, to show *at* to people.
    """

    at: datetime
    campaign: str
    reason: WaitReason
    timezone: str = "UTC"

    def describe(self) -> str:
        """One line for people: ``campaign 'spring': window shut, next opening Mon
        2026-11-30 09:00 CET``."""
        when = self.at.astimezone(load_zone(self.timezone)).strftime("%a %Y-%m-%d %H:%M %Z")
        what = {
            WaitReason.START: f"starts {when}",
            WaitReason.WINDOW: f"window shut, next opening {when}",
            WaitReason.PACING: f"pacing, next message {when}",
            WaitReason.DUE: f"next request due {when}",
        }[self.reason]
        return f"campaign {self.campaign!r}: {what}"


@attrs.frozen
class DispatchReport:
    """What one or more passes did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    suppressed: int = 0
    reminded: int = 0
    completed: tuple[str, ...] = ()
    failed_campaigns: tuple[str, ...] = ()
    next_wait: Wait | None = None
    """The earliest campaign's wait: when it sends again and why not before."""

    @property
    def next_wakeup(self) -> datetime | None:
        """When the next send is due (UTC): ``next_wait.at``, or ``None``."""
        return None if self.next_wait is None else self.next_wait.at

    def __add__(self, other: DispatchReport) -> DispatchReport:
        """Counts and names add up; the wait is the later report's."""
        summed = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in attrs.fields(DispatchReport)
            if f.name != "next_wait"
        }
        return DispatchReport(**summed, next_wait=other.next_wait)


class _SlotTakenError(Exception):
    """Another worker holds a pacing slot until :attr:`until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


def _has_links(campaign: Campaign) -> bool:
    return any((campaign.unsubscribe_url, campaign.answer_url, campaign.open_url))


def _window_opens(after: datetime, campaign: Campaign, zone: ZoneInfo) -> datetime:
    """The first instant at or after *after* inside *campaign*'s window read in *zone*, in
    UTC (``next_send_time`` gives it in the zone, for display)."""
    return as_utc(next_send_time(after, campaign.window, zone))


def _wait(campaign: Campaign, at: datetime, reason: WaitReason) -> Wait:
    return Wait(at=as_utc(at), campaign=campaign.name, reason=reason, timezone=campaign.timezone)


def default_worker_id() -> str:
    """A worker id unique on this host: ``hostname:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@attrs.define
class _Pass:
    counts: Counter[Counted] = attrs.field(factory=Counter)
    completed: list[str] = attrs.field(factory=list)
    failed_campaigns: list[str] = attrs.field(factory=list)
    wakeups: list[Wait] = attrs.field(factory=list)


class Dispatcher:
    """Sends due requests through a transport.

    :param store: campaigns and requests.
    :param transport: where messages go.
    :param clock: the time; a :class:`~reviewkit.adapters.clock.ManualClock` makes runs
        instant.
    :param worker_id: this worker's name in claims (default ``hostname:pid``).
    :param batch_size: most requests claimed per campaign per pass (unpaced campaigns).
    :param lease: how long a claim lasts before another worker may take the request over.
    :param retry: backoff and attempt limit for transient failures.
    :param links: signs the unsubscribe links of campaigns that have an ``unsubscribe_url``
        (needed by those campaigns).
    :param chores: periodic work done between passes, each when it asks to be
        (:class:`~reviewkit.ports.Chore`; e.g. :class:`~reviewkit.services.alerts.AlertChore`).
        :meth:`run` wakes up for them, but ``until_idle`` still returns once nothing is left
        to send.
    :param record_every: record outcomes in groups of at most this many sends (one
        transaction per group; 10 by default).
    :param record_within: and never let an outcome wait longer than this to be recorded
        (0.2 s by default): before a send that would make the oldest unrecorded outcome
        older, the group is recorded first. A worker killed mid-batch can therefore cause
        at most the sends of its last *record_within* — never more than *record_every* —
        to repeat once their lease expires (each with the same Message-ID). With slow
        sends (a tarpitting server) every outcome is recorded before the next send; with
        ``record_every=1`` always.
    """

    def __init__(
        self,
        store: Store,
        transport: Transport,
        clock: Clock,
        *,
        worker_id: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        retry: RetryPolicy | None = None,
        record_every: int = 10,
        record_within: timedelta = timedelta(milliseconds=200),
        links: LinkSigner | None = None,
        chores: Sequence[Chore] = (),
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size
        self.lease = lease
        self.retry = retry or RetryPolicy()
        if record_every < 1:
            raise ValueError("record_every must be at least 1")
        if record_within < timedelta(0):
            raise ValueError("record_within must not be negative")
        self.record_every = record_every
        self.record_within = record_within.total_seconds()
        self.links = links
        self.chores = tuple(chores)
        self._chores_due = [_EPOCH_UTC] * len(self.chores)
        self._outcomes: list[Outcome] = []
        self._outcomes_at: datetime | None = None
        # Real time, whatever the clock: the first unrecorded outcome's, and how long sends
        # take (an exponential average), for record_within.
        self._unrecorded_since = 0.0
        self._send_seconds = 0.0
        self._send_time = timedelta(0)
        self._pass = _Pass()  # the pass under way, for its report when a fault cuts it short

    # -- the loop -------------------------------------------------------------------------

    def run(
        self,
        *,
        until_idle: bool = True,
        max_wait: timedelta | None = None,
        poll: timedelta = timedelta(seconds=5),
        max_passes: int | None = None,
        progress: Callable[[DispatchReport], None] | None = None,
    ) -> DispatchReport:
        """Dispatch pass after pass, sleeping on the clock in between.

        :param until_idle: return once no active campaign has anything left to send.
        :param max_wait: also return when the next send is further away than this
            (``None``: wait however long — across nights and weekends).
        :param poll: how long to sleep when nothing is scheduled at all (``until_idle=False``).
        :param max_passes: a safety limit on the number of passes.
        :param progress: called after each pass with what it did and what it waits for
            (``next_wait``), e.g. to show progress to an operator.
        """
        total = DispatchReport()
        passes = 0
        backoff = _STORAGE_BACKOFF[0]
        try:
            while max_passes is None or passes < max_passes:
                passes += 1
                try:
                    self._flush()  # outcomes a storage fault kept from being recorded
                    report = self.dispatch_due()
                except StorageError as exc:
                    if not exc.transient:
                        raise
                    total = total + self._report(self._pass)  # what the pass did before
                    self._pass = _Pass()  # counted once, whatever fails next
                    log.warning("storage fault, trying again in %s: %s", backoff, exc)
                    self.clock.sleep_until(as_utc(self.clock.now()) + backoff)
                    backoff = min(backoff * 2, _STORAGE_BACKOFF[1])
                    continue
                backoff = _STORAGE_BACKOFF[0]
                total = total + report
                if progress is not None:
                    progress(report)
                now = as_utc(self.clock.now())
                chores_wake = self.run_chores(now)
                wake = report.next_wakeup
                if wake is None:
                    if until_idle:
                        break
                    wake = now + poll
                if max_wait is not None and wake - now > max_wait:
                    break  # the next send, not the next chore, decides (chores run often)
                if chores_wake is not None:
                    wake = min(wake, chores_wake)
                if wake > now:
                    if wake - now > _IDLE_CLOSE:
                        # A long sleep (night, weekend, backoff): servers drop idle connections.
                        self.transport.close()
                    self.clock.sleep_until(wake)
        finally:
            self.transport.close()
            self._flush_before_exit()
        return total

    def run_chores(self, now: datetime) -> datetime | None:
        """Run the chores that are due at *now*; return when the next one is (``None``
        without chores). A chore that raises is logged and tried again a minute later."""
        for index, chore in enumerate(self.chores):
            if self._chores_due[index] > now:
                continue
            try:
                self._chores_due[index] = as_utc(chore.run(now))
            except Exception as exc:  # a chore's fault must not stop sending
                log.error("%s failed, trying again in a minute: %s", _chore_name(chore), exc)
                self._chores_due[index] = now + _CHORE_RETRY
        return min(self._chores_due, default=None)

    def dispatch_due(self) -> DispatchReport:
        """Run one pass over every active campaign at the clock's current instant."""
        # Every instant below is UTC: a gap, a lease or a backoff added to a local time would
        # be wall-clock arithmetic and lose or repeat an hour at a DST change.
        now = as_utc(self.clock.now())
        state = self._pass = _Pass()
        for campaign in self.store.list_campaigns(ACTIVE):
            try:
                self._dispatch_campaign(campaign, now, state)
            except (StaleVersionError, IllegalTransitionError):
                # Another worker or an operator changed the campaign; look again soon.
                state.wakeups.append(_wait(campaign, now, WaitReason.DUE))
        self._pass = _Pass()
        return self._report(state)

    @staticmethod
    def _report(state: _Pass) -> DispatchReport:
        first = min(state.wakeups, key=lambda w: w.at, default=None)
        return DispatchReport(
            **{kind.value: state.counts[kind] for kind in Counted},
            completed=tuple(state.completed),
            failed_campaigns=tuple(state.failed_campaigns),
            next_wait=first,
        )

    # -- one campaign ---------------------------------------------------------------------

    def _dispatch_campaign(self, campaign: Campaign, now: datetime, state: _Pass) -> None:
        if self.links is None and _has_links(campaign):
            # The worker's setup, not the campaign, is wrong: stop before claiming anything.
            raise ConfigurationError(
                f"campaign {campaign.name!r} has link URLs (unsubscribe, answer or open) but "
                "this dispatcher has no LinkSigner to sign them: pass links=LinkSigner(...) "
                "(on the command line: $REVIEWKIT_LINK_KEYS, or the variable --link-keys-env names)"
            )
        if campaign.start_at is not None and campaign.start_at > now:
            state.wakeups.append(_wait(campaign, campaign.start_at, WaitReason.START))
            return
        if self.store.next_due_at(campaign.id) is None:  # nothing Pending or Claimed
            self._complete(campaign, state)
            return
        zone = load_zone(campaign.timezone)
        if not campaign.respect_recipient_timezone and not campaign.window.contains(now, zone):
            if campaign.status is not CampaignStatus.WAITING:
                campaign = self.store.save_campaign(campaign.apply(CampaignEvent.WINDOW_CLOSED))
            opens = _window_opens(now, campaign, zone)
            state.wakeups.append(_wait(campaign, opens, WaitReason.WINDOW))
            return
        if campaign.status is not CampaignStatus.SENDING:
            campaign = self.store.save_campaign(campaign.apply(CampaignEvent.WINDOW_OPENED))

        paced = self._paced(campaign)
        gaps: dict[str, timedelta] = {}
        try:
            with self.store.transaction():
                claimed = self.store.claim_requests(
                    campaign.id,
                    now=now,
                    limit=1 if paced else self._batch_limit(),
                    worker_id=self.worker_id,
                    lease_until=now + self.lease,
                )
                if claimed:
                    log.info("claimed %d request(s) of campaign %r", len(claimed), campaign.name)
                if claimed and paced:
                    # Taking the slots in the claim's transaction keeps pacing across workers:
                    # when another worker holds a slot, the claim is rolled back.
                    gaps = self._pacing(campaign, claimed[0].sender or campaign.sender)
                    busy_until = self.store.reserve_slots(gaps, now=now)
                    if busy_until is not None:
                        raise _SlotTakenError(busy_until)
        except _SlotTakenError as taken:
            state.wakeups.append(_wait(campaign, taken.until, WaitReason.PACING))
            return
        try:
            self._send_claimed(campaign, claimed, now, state)
        finally:
            self._flush()
        campaign = self.store.get_campaign(campaign.id)
        if not campaign.active:  # failed just now, or another worker or operator moved it
            return
        due = self.store.next_due_at(campaign.id)
        if due is None:
            self._complete(campaign, state)
            return
        self._plan_wakeup(campaign, due, now, state, max(gaps.values(), default=None))

    def _account_gap(self, sender: str | None) -> tuple[str, timedelta] | None:
        if not isinstance(self.transport, RateLimitedTransport):
            return None
        try:
            account = self.transport.pacing(sender)
        except AccountError:
            return None  # the send itself reports it, and fails the campaign
        return account if account is not None and account[1] else None

    def _paced(self, campaign: Campaign) -> bool:
        """Whether each message of *campaign* must take a pacing slot."""
        senders = [campaign.sender, *campaign.senders]
        return bool(campaign.interval) or any(self._account_gap(s) for s in senders)

    def _pacing(self, campaign: Campaign, sender: str | None) -> dict[str, timedelta]:
        """The slots one message takes: the campaign's, and its sending account's."""
        gaps = {}
        if campaign.interval:
            gaps[f"campaign:{campaign.id}"] = campaign.interval
        account = self._account_gap(sender)
        if account is not None:
            gaps[f"account:{account[0]}"] = account[1]
        return gaps

    def _send_claimed(
        self, campaign: Campaign, claimed: list[Request], now: datetime, state: _Pass
    ) -> None:
        """Send a batch of claims, renewing their lease as it goes: a request is sent only
        while this worker still holds it, with enough lease left to outlive the send."""
        lease_end = min((d.lease_until for d in claimed if d.lease_until), default=now)
        lost: set[str] = set()
        index = 0
        try:
            for index, request in enumerate(claimed):
                at = as_utc(self.clock.now())
                if at + self._lease_margin() > lease_end:
                    lease_end = at + self.lease
                    rest = [d.id for d in claimed[index:] if d.id not in lost]
                    kept = self.store.renew_leases(
                        rest, worker_id=self.worker_id, lease_until=lease_end
                    )
                    for gone in set(rest) - kept:
                        log.warning("lease lost on request %s before sending; skipped", gone)
                        lost.add(gone)
                if request.id in lost:
                    continue
                self._record_before_a_long_wait()
                started = time.monotonic()
                self._send_one(campaign, request, now, state)
                self._observe_send(at, time.monotonic() - started)
        except AccountError as exc:
            for left in claimed[index + 1 :]:
                if left.id not in lost:
                    self._release(left, now, None)
                    state.counts[Counted.RELEASED] += 1
            self._flush()
            campaign = self.store.get_campaign(campaign.id)
            if campaign.status in ACTIVE:
                self.store.save_campaign(campaign.apply(CampaignEvent.FAIL, reason=str(exc)))
            state.failed_campaigns.append(campaign.name)
            log.error("campaign %s failed: %s", campaign.name, exc)
        except BaseException:
            # Stopped mid-batch (SIGTERM, Ctrl-C, a storage fault): what was not tried yet goes
            # back at once instead of waiting for the lease to run out.
            try:
                for left in claimed[index + 1 :]:
                    if left.id not in lost:
                        self._release(left, as_utc(self.clock.now()), None)
                self._flush()
            except StorageError as exc:  # the first exception is the one to report
                log.warning("untried claims not released (%s); they wait for their lease", exc)
            raise

    def _lease_margin(self) -> timedelta:
        """How much lease a send must have left: half the lease, or three sends' time."""
        return max(self.lease / 2, 3 * self._send_time)

    def _observe_send(self, started: datetime, seconds: float) -> None:
        took = as_utc(self.clock.now()) - started
        # Exponential averages: a slow server shows within a few messages.
        self._send_time = took if not self._send_time else (self._send_time * 3 + took) / 4
        self._send_seconds = (
            seconds if not self._send_seconds else (self._send_seconds * 3 + seconds) / 4
        )

    def _record_before_a_long_wait(self) -> None:
        """Record the unrecorded outcomes now if, by the end of the next send, the oldest
        would have waited longer than ``record_within``."""
        if not self._outcomes:
            return
        waited = time.monotonic() - self._unrecorded_since
        if waited + self._send_seconds >= self.record_within:
            self._flush()

    def _batch_limit(self) -> int:
        """Claims per pass: the batch size, fewer when sends are slow for the lease, so a
        batch is sent well inside one lease (renewal covers the rest)."""
        if not self._send_time:
            return self.batch_size
        fits = int(self.lease / (2 * self._send_time))
        return max(1, min(self.batch_size, fits))

    def _plan_wakeup(
        self,
        campaign: Campaign,
        due: datetime,
        now: datetime,
        state: _Pass,
        gap: timedelta | None,
    ) -> None:
        paced_until = now if gap is None else now + gap
        wake = max(as_utc(due), paced_until)
        reason = WaitReason.PACING if paced_until > as_utc(due) else WaitReason.DUE
        zone = load_zone(campaign.timezone)
        if not campaign.respect_recipient_timezone and not campaign.window.contains(wake, zone):
            wake = _window_opens(wake, campaign, zone)
            reason = WaitReason.WINDOW
        state.wakeups.append(_wait(campaign, wake, reason))

    def _complete(self, campaign: Campaign, state: _Pass) -> None:
        """End a drained one-off campaign: Completed, or Failed when every request it tried
        failed (nothing was sent). An always-on campaign goes on waiting for requests."""
        if not campaign.active or campaign.always_on:
            return
        counts = self.store.count_requests(campaign.id)
        failed = counts.get(RequestStatus.FAILED, 0)
        if failed and not counts.get(RequestStatus.SENT, 0):
            reason = f"every request failed ({failed}); none was sent"
            self.store.save_campaign(campaign.apply(CampaignEvent.FAIL, reason=reason))
            state.failed_campaigns.append(campaign.name)
            log.error("campaign %s failed: %s", campaign.name, reason)
            return
        self.store.save_campaign(campaign.apply(CampaignEvent.COMPLETE))
        state.completed.append(campaign.name)
        log.info("campaign %s completed", campaign.name)

    def _send_one(self, campaign: Campaign, request: Request, now: datetime, state: _Pass) -> None:
        """Look at one claimed request (or its reminder), send it if it may go, and record
        the outcome :func:`~reviewkit.domain.outcomes.decide` gives.

        :raises AccountError: after releasing the request, when the account cannot send.
        """
        attempt = self._attempt(campaign, request, now)
        _log_attempt(campaign, request, attempt)
        decision = decide(request, campaign, attempt, now, self.retry)
        if decision.counted is not None:
            # Counted first: recording may meet a storage fault; the send has happened.
            state.counts[decision.counted] += 1
        self._record(decision.outcome, now)
        if attempt.result is Result.ACCOUNT:
            raise AccountError(attempt.error or "the sender account cannot send")

    def _attempt(self, campaign: Campaign, request: Request, now: datetime) -> Attempt:
        """Whether the request may go now, and if so what the transport said."""
        reminder = request.sent_at is not None  # a Sent request claimed again: a reminder
        if reminder and not wants_reminder(campaign, request):
            return Attempt(Result.NO_REMINDER)
        if campaign.respect_recipient_timezone:
            zone = load_zone(request.recipient.timezone or campaign.timezone)
            if not campaign.window.contains(now, zone):
                return Attempt(Result.NOT_NOW, until=_window_opens(now, campaign, zone))
        why = self._suppressed(campaign, request, reminder)
        if why is not None:
            return Attempt(Result.SUPPRESSED, error=why[1], reason=why[0])
        try:
            self.transport.send(self._message(campaign, request, now, reminder))
        except (TemplateError, PermanentSendError) as exc:
            return Attempt(Result.PERMANENT, error=str(exc))
        except TransientSendError as exc:
            return Attempt(Result.TRANSIENT, error=str(exc))
        except AccountError as exc:
            return Attempt(Result.ACCOUNT, error=str(exc))
        except StorageError:  # the store's fault, not the request's
            raise
        except Exception as exc:  # whatever one request raises, it fails alone
            error = f"unexpected {type(exc).__name__}: {exc}"
            log.error("request %s of campaign %s failed: %s", request.id, campaign.name, error)
            log.debug("the request's traceback", exc_info=True)
            return Attempt(Result.PERMANENT, error=error)
        return Attempt(Result.SENT)

    def _message(
        self, campaign: Campaign, request: Request, now: datetime, reminder: bool
    ) -> OutgoingMessage:
        links, headers, score_links = self._links(campaign, request, now)
        message = render_message(
            campaign,
            request.recipient,
            to=request.address,
            message_id=request.message_id + (f".r{request.reminders_sent + 1}" if reminder else ""),
            now=now,
            request=request,
            links=links,
            headers=headers,
            sender=request.sender,
            reminder=reminder,
            score_links=score_links,
        )
        if campaign.channel is Channel.SMS and campaign.max_sms_segments is not None:
            cost = sms_segments(message.text)
            if cost.segments > campaign.max_sms_segments:
                raise PermanentSendError(
                    f"text is {cost.segments} SMS segments ({cost.encoding.value}, "
                    f"{cost.units} units); the campaign allows {campaign.max_sms_segments}"
                )
        return message

    def _suppressed(
        self, campaign: Campaign, request: Request, reminder: bool
    ) -> tuple[str, str] | None:
        """Why the request must not be sent now, as (reason, text), or ``None``.

        Checked at send time, not only at import: an unsubscribe after queueing counts.
        """
        # An erased contact's suppression is kept under a keyed hash of the address: both
        # are looked up at once.
        keys = [request.address]
        if self.links is not None:
            keys += [
                erased_address(secret, request.channel, request.address)
                for secret in self.links.secrets()
            ]
        suppression = self.store.find_suppression(request.channel, keys)
        if suppression is not None:
            note = f": {suppression.note}" if suppression.note else ""
            return suppression.reason.value, suppression.reason.value + note
        if not campaign.required_consents or reminder:
            return None
        missing = missing_consents(campaign.required_consents, consents_now(self.store, request))
        if missing:
            return SuppressionReason.NO_CONSENT.value, f"no consent: {', '.join(missing)}"
        return None

    def _release(
        self, request: Request, now: datetime, at: datetime | None, *, error: str | None = None
    ) -> None:
        """Give a claimed request back untried, to be claimed again at *at* (or at once)."""
        self._record(released(request, now, until=at, error=error), now)

    def _links(
        self, campaign: Campaign, request: Request, now: datetime
    ) -> tuple[dict[str, str], dict[str, str], dict[int, str]]:
        if self.links is None or not (
            campaign.unsubscribe_url or campaign.answer_url or campaign.open_url
        ):  # checked before claiming
            return {}, {}, {}
        links: dict[str, str] = {}
        for purpose in (TokenPurpose.UNSUBSCRIBE, TokenPurpose.ANSWER, TokenPurpose.OPEN):
            url = sign_link(self.links, campaign, request, purpose, now=now)
            if url is not None:
                links[purpose.name.lower()] = url
        score_links = {}
        if campaign.survey is not None and campaign.answer_url is not None:
            for score in campaign.survey.scale:
                url = sign_link(
                    self.links, campaign, request, TokenPurpose.ANSWER, now=now, score=score
                )
                assert url is not None
                score_links[score] = url
        headers = {}
        if campaign.channel is Channel.EMAIL and "unsubscribe" in links:
            # RFC 8058: mailbox providers show an unsubscribe button that POSTs to the URL.
            headers = {
                "List-Unsubscribe": f"<{links['unsubscribe']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        return links, headers, score_links

    def _record(self, outcome: Outcome, now: datetime) -> None:
        if not self._outcomes:
            self._unrecorded_since = time.monotonic()
        self._outcomes.append(outcome)
        self._outcomes_at = now
        if len(self._outcomes) >= self.record_every:
            self._flush()

    def _flush(self) -> None:
        if not self._outcomes or self._outcomes_at is None:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            lost = self.store.finish_requests(
                outcomes, worker_id=self.worker_id, now=self._outcomes_at
            )
        except BaseException:
            # Kept to be recorded later: a sent message whose outcome is lost would be sent
            # again once its lease runs out.
            self._outcomes = outcomes + self._outcomes
            raise
        for request_id in lost:
            # Our lease ran out and another worker owns the request now; its outcome wins.
            log.warning("lease lost on request %s; outcome not recorded", request_id)

    def _flush_before_exit(self) -> None:
        try:
            self._flush()
        except StorageError as exc:
            ids = ", ".join(o.request_id for o in self._outcomes)
            log.error(
                "the outcomes of %d requests could not be recorded (%s); they stay claimed "
                "until their lease runs out, and those already sent may then be sent again: %s",
                len(self._outcomes),
                exc,
                ids,
            )


def _chore_name(chore: Chore) -> str:
    return getattr(chore, "name", None) or type(chore).__name__


def _log_attempt(campaign: Campaign, request: Request, attempt: Attempt) -> None:
    """Log what became of one request: sends at debug, decisions not to send at info,
    failures at warning. Requests are named by id, never by address."""
    what = f"request {request.id} of campaign {campaign.name!r}"
    if attempt.result is Result.SENT:
        log.debug("%s sent", what)
    elif attempt.result is Result.SUPPRESSED:
        log.info("%s not sent: %s", what, attempt.error)
    elif attempt.result is Result.TRANSIENT:
        log.info("%s not sent this time: %s", what, attempt.error)
    elif attempt.result in (Result.PERMANENT, Result.ACCOUNT):
        log.warning("%s failed: %s", what, attempt.error)


def sign_link(
    links: LinkSigner,
    campaign: Campaign,
    request: Request,
    purpose: TokenPurpose,
    *,
    now: datetime,
    score: int | None = None,
) -> str | None:
    """The signed link of *purpose* that *request*'s message carries (with *score*: the
    one-click answer link that records it), or ``None`` when *campaign* has no such page.

    A survey's answer links live as long as the survey takes answers; an unsubscribe link
    carries its address, so it works even after the request or its campaign is deleted.
    """
    template = {
        TokenPurpose.UNSUBSCRIBE: campaign.unsubscribe_url,
        TokenPurpose.ANSWER: campaign.answer_url,
        TokenPurpose.OPEN: campaign.open_url,
    }.get(purpose)
    if template is None:
        return None
    ttl = None
    if purpose is TokenPurpose.ANSWER and campaign.survey is not None:
        ttl = campaign.survey.open_for
    extra = None if score is None else str(score)
    if purpose is TokenPurpose.UNSUBSCRIBE:
        extra = unsubscribe_extra(request.channel, request.address)
    token = links.sign(purpose, request.id, now=now, ttl=ttl, extra=extra)
    return template.replace("{token}", token)
