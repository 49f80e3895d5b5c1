"""What becomes of a claimed request: the dispatcher's decisions as pure functions.

A worker claims a request, looks at it, perhaps hands a message to a transport, and then
asks :func:`decide` what the request's :class:`~reviewkit.domain.request.Outcome` is; the
store applies it (:func:`~reviewkit.domain.request.apply_outcome`). Nothing here reads a
clock or a store, so every rule — retries and their backoff, permanent failures,
suppression, reminders, a window that has closed for the recipient — is tested without I/O.

:data:`REQUEST_TRANSITIONS` is the requests' state machine, beside the campaigns'
:data:`~reviewkit.domain.campaign.TRANSITIONS`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from functools import partial

import attrs

from reviewkit.domain.campaign import Campaign
from reviewkit.domain.request import (
    REQUEST_TRANSITIONS,
    Outcome,
    Request,
    RequestStatus,
    RetryPolicy,
)

__all__ = [
    "REQUEST_TRANSITIONS",
    "Attempt",
    "Counted",
    "Decision",
    "Result",
    "decide",
    "released",
    "wants_reminder",
]

_S = RequestStatus


class Result(enum.Enum):
    """What happened when the worker looked at, or tried to send, one claimed request."""

    SENT = "sent"
    """The transport accepted the message."""
    TRANSIENT = "transient"
    """A failure that may go away (4xx, a dropped connection): retry with backoff."""
    PERMANENT = "permanent"
    """This request will never go out as it is (5xx for the address, a template error for its
    data, an SMS over the segment cap, anything unexpected it raised)."""
    ACCOUNT = "account"
    """The sender account cannot send at all: the request is not at fault."""
    SUPPRESSED = "suppressed"
    """The address is suppressed, or a required consent is missing: not sent."""
    NOT_NOW = "not now"
    """The recipient's own window is closed: back to the queue until it opens."""
    NO_REMINDER = "no reminder"
    """A reminder that is no longer wanted (answered, unsubscribed, or all sent)."""


class Counted(enum.Enum):
    """How a decision counts in a dispatch report."""

    SENT = "sent"
    REMINDED = "reminded"
    FAILED = "failed"
    RETRIED = "retried"
    RELEASED = "released"
    SUPPRESSED = "suppressed"


@attrs.frozen
class Attempt:
    """What happened to one claimed request: the :class:`Result` and its text.

    :param reason: for ``SUPPRESSED``, the suppression reason (``"unsubscribed"``, ``"no
        consent"``…).
    :param until: for ``NOT_NOW``, when the recipient's window opens.
    """

    result: Result
    error: str | None = None
    reason: str | None = None
    until: datetime | None = None


@attrs.frozen
class Decision:
    """The outcome to record, and how it counts (``None``: not counted)."""

    outcome: Outcome
    counted: Counted | None


def wants_reminder(campaign: Campaign, request: Request) -> bool:
    """Whether a sent request still gets a reminder: the campaign has one, not all were sent,
    and the customer neither answered nor unsubscribed."""
    follow_up = campaign.reminder
    return (
        follow_up is not None
        and request.reminders_sent < follow_up.count
        and request.answered_at is None
        and request.unsubscribed_at is None
    )


def decide(
    request: Request, campaign: Campaign, attempt: Attempt, now: datetime, retry: RetryPolicy
) -> Decision:
    """The outcome of one claimed request (a first send or a reminder) after *attempt*.

    *now* is a UTC instant; backoffs and reminder times are added to it, never to a local
    time. A reminder's failures never fail the request — it was sent; they end or retry its
    reminders.
    """
    reminder = request.sent_at is not None
    result = attempt.result

    outcome = partial(Outcome, request_id=request.id)

    if result is Result.NO_REMINDER:
        return Decision(
            outcome(status=_S.SENT, error=request.last_error, count_attempt=False), None
        )
    if result in (Result.NOT_NOW, Result.ACCOUNT):
        return Decision(
            released(request, now, until=attempt.until, error=attempt.error), Counted.RELEASED
        )
    if result is Result.SUPPRESSED:
        if reminder:  # it was sent; only the reminders stop
            return Decision(outcome(status=_S.SENT, error=attempt.error, count_attempt=False), None)
        suppressed = outcome(
            status=_S.SUPPRESSED, error=attempt.error, count_attempt=False, reason=attempt.reason
        )
        return Decision(suppressed, Counted.SUPPRESSED)
    if result is Result.PERMANENT:
        if reminder:
            return Decision(outcome(status=_S.SENT, error=f"reminder: {attempt.error}"), None)
        return Decision(outcome(status=_S.FAILED, error=attempt.error), Counted.FAILED)
    if result is Result.TRANSIENT:
        attempts = request.attempts + 1
        again = now + retry.backoff(attempts)
        if reminder:
            # Retried within the request's attempt budget; then its reminders stop.
            retry_at = None if retry.gives_up(attempts) else again
            decided = outcome(
                status=_S.SENT, error=f"reminder: {attempt.error}", remind_at=retry_at
            )
            return Decision(decided, Counted.RETRIED if retry_at is not None else None)
        if retry.gives_up(attempts):
            error = f"gave up after {attempts} attempts: {attempt.error}"
            return Decision(outcome(status=_S.FAILED, error=error), Counted.FAILED)
        return Decision(
            outcome(status=_S.PENDING, error=attempt.error, due_at=again), Counted.RETRIED
        )
    sent = request.reminders_sent + (1 if reminder else 0)
    follow_up = campaign.reminder
    remind_at = now + follow_up.after if follow_up and sent < follow_up.count else None
    decided = outcome(status=_S.SENT, remind_at=remind_at, reminded=reminder)
    return Decision(decided, Counted.REMINDED if reminder else Counted.SENT)


def released(
    request: Request, now: datetime, *, until: datetime | None = None, error: str | None = None
) -> Outcome:
    """A claimed request given back untried, claimable again at *until* (at once when
    ``None``); a reminder's request stays Sent with its reminder moved."""
    if request.sent_at is not None:
        return Outcome(
            request_id=request.id,
            status=_S.SENT,
            error=error,
            count_attempt=False,
            remind_at=until or request.remind_at or now,
        )
    return Outcome(
        request_id=request.id, status=_S.PENDING, error=error, due_at=until, count_attempt=False
    )
