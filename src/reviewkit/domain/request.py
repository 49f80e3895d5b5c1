"""Recipients and requests: one request per (campaign, recipient, channel).

A request's status says what reviewkit did with it::

    Pending ──claim──▶ Claimed ──▶ Sent
       ▲                  │ ────▶ Failed      (permanent error, or retries used up)
       └── transient ─────┘                   (retried with backoff)
    Pending ──▶ Suppressed (never sent: no consent, unsubscribed, blocklisted)
    Pending ──▶ Cancelled  (removed by an operator, or the campaign was cancelled)
    Failed  ──retry──▶ Pending
    Sent    ──reminder due──▶ Claimed ──▶ Sent   (a follow-up; the request stays Sent)

Engagement is recorded beside the status, each with its first time: opened, clicked,
answered, unsubscribed. For the collection view every request falls in one
:class:`RequestCategory`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.consent import Consent, consents_from
from reviewkit.domain.ids import new_id
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.window import load_zone
from reviewkit.errors import RequestStateError, ValidationError

__all__ = [
    "REQUEST_TRANSITIONS",
    "Engagement",
    "Outcome",
    "Recipient",
    "Request",
    "RequestCategory",
    "RequestStatus",
    "RetryPolicy",
    "apply_outcome",
]


class RequestStatus(enum.StrEnum):
    """What happened to one request."""

    PENDING = "pending"
    """Waiting for its send time."""
    CLAIMED = "claimed"
    """Taken by a dispatcher worker, under a lease, being sent now."""
    SENT = "sent"
    """Handed to the transport, which accepted it."""
    FAILED = "failed"
    """Not sent: a permanent error, or every retry used up. ``last_error`` says why."""
    SUPPRESSED = "suppressed"
    """Never sent on purpose: no consent, unsubscribed, blocklisted."""
    CANCELLED = "cancelled"
    """Withdrawn before it was sent."""


class RequestCategory(enum.StrEnum):
    """How the collection view groups requests."""

    PENDING = "pending"
    """Not sent yet (Pending, or being sent)."""
    SENT = "sent"
    """Sent, and the customer has not unsubscribed."""
    UNDELIVERED = "undelivered"
    """Failed: the address refused it, or every retry was used up."""
    REJECTED = "rejected"
    """Not sent on purpose: no consent, blocklisted, bounced before, complained."""
    UNSUBSCRIBED = "unsubscribed"
    """Not sent because the address unsubscribed, or sent and then unsubscribed."""
    CANCELLED = "cancelled"
    """Withdrawn by an operator or with its campaign."""


class Engagement(enum.StrEnum):
    """What a customer did with a request, recorded with its first time."""

    OPENED = "opened"
    """The message was opened (its pixel loaded), or a link in it was used."""
    CLICKED = "clicked"
    """A tracked link in the message was followed."""
    ANSWERED = "answered"
    """The customer answered: left the review, submitted the survey."""
    UNSUBSCRIBED = "unsubscribed"
    """The customer unsubscribed through the request's link."""
    DELIVERED = "delivered"
    """The receiving server or the SMS gateway reported the message delivered."""
    BOUNCED = "bounced"
    """The message bounced after it was handed over (a DSN, a provider's webhook)."""
    COMPLAINED = "complained"
    """The customer marked the message as spam (a feedback report, a provider's webhook)."""


UNSUBSCRIBED_REASON = "unsubscribed"
"""The suppression reason that puts a request in :attr:`RequestCategory.UNSUBSCRIBED`."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _freeze(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _check_zone(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        load_zone(value)


@attrs.frozen(kw_only=True)
class Recipient:
    """Who a request goes to.

    :param email: e-mail address (needed for the e-mail channel).
    :param phone: phone number, E.164 preferred (needed for the SMS channel).
    :param name: how to address the person in a template.
    :param transaction_id: the order or ticket the request is about.
    :param timezone: the person's IANA zone, if known.
    :param segment: the customer segment the collection view and scores group by.
    :param chat_id: the person's id in the host's chat integration (a Messenger PSID).
    :param consents: consents by name (see :mod:`reviewkit.domain.consent`); a plain
        ``bool`` is accepted for a consent without time or source.
    :param fields: anything else a template may use (``{{ recipient.fields.store }}``).
    """

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    transaction_id: str | None = None
    timezone: str | None = attrs.field(default=None, validator=_check_zone)
    segment: str | None = None
    chat_id: str | None = None
    consents: Mapping[str, Consent] = attrs.field(factory=dict, converter=consents_from)
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze)

    def address_for(self, channel: Channel) -> str:
        """Return the address this recipient is reached at on *channel*.

        :raises ValidationError: when the recipient has none for that channel.
        """
        address = {
            Channel.EMAIL: self.email,
            Channel.SMS: self.phone,
            Channel.CHAT: self.chat_id,
            Channel.LINK: None,
        }[channel]
        if not address:
            what = {
                Channel.EMAIL: "e-mail address",
                Channel.SMS: "phone number",
                Channel.CHAT: "chat id",
                Channel.LINK: "address (nothing is sent on open links)",
            }[channel]
            raise ValidationError(
                f"recipient {self.name or self.transaction_id or '(unnamed)'} has no {what} "
                f"for the {channel.value} channel"
            )
        return address

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The read-only mappings do not pickle; rebuild them (already checked) on the way in.
        values = tuple(getattr(self, name) for name in _PLAIN_RECIPIENT_FIELDS)
        return _restore_recipient, (values, dict(self.consents), dict(self.fields))

    def __attrs_post_init__(self) -> None:
        texts = (self.email, self.phone, self.name, self.transaction_id, self.timezone,
                 self.segment, self.chat_id)  # fmt: skip
        # One look at all the texts together first: nearly every recipient has none of these.
        if _CONTROL.search("".join(filter(None, texts))) is not None:
            self._refuse_control_characters()

    def _refuse_control_characters(self) -> None:
        for label, value in (
            ("e-mail", self.email),
            ("phone", self.phone),
            ("name", self.name),
            ("segment", self.segment),
        ):
            if value is not None and any(c in value for c in "\r\n"):
                raise ValidationError(f"recipient {label} {value!r} contains a line break")
        for label, value in (
            ("e-mail", self.email),
            ("phone", self.phone),
            ("name", self.name),
            ("transaction id", self.transaction_id),
            ("time zone", self.timezone),
            ("segment", self.segment),
            ("chat id", self.chat_id),
        ):
            # A NUL character is no text a person typed (a database refuses it, too).
            if value is not None and "\x00" in value:
                raise ValidationError(f"recipient {label} {value!r} contains a NUL character")


_CONTROL = re.compile("[\r\n\x00]")
_PLAIN_RECIPIENT_FIELDS = (
    "email",
    "phone",
    "name",
    "transaction_id",
    "timezone",
    "segment",
    "chat_id",
)


def _restore_recipient(
    values: tuple[Any, ...], consents: dict[str, Consent], fields: dict[str, Any]
) -> Recipient:
    recipient = object.__new__(Recipient)
    for name, value in zip(_PLAIN_RECIPIENT_FIELDS, values, strict=True):
        object.__setattr__(recipient, name, value)
    object.__setattr__(recipient, "consents", MappingProxyType(consents))
    object.__setattr__(recipient, "fields", MappingProxyType(fields))
    return recipient


def _requested_time(request: Request) -> datetime:
    return request.due_at or request.created_at or _EPOCH


@attrs.frozen(kw_only=True)
class Request:
    """One request to one recipient on one channel, and what became of it.

    :ivar due_at: the earliest instant it may be sent (the start, a retry's backoff).
    :ivar claimed_by: the worker holding it while Claimed.
    :ivar lease_until: when that worker's claim expires.
    :ivar message_id: stable across retries, so a resend is recognisable as the same message.
    :ivar sender: one of the campaign's other senders to send from; ``None`` for its default.
    :ivar created_at: when the request was made.
    :ivar scheduled_at: the time it was requested for (its due time, or when it was made,
        by default); the collection view's "scheduled" date. Unlike ``due_at`` it does not
        move on retries.
    :ivar sent_at: when it was first sent (a reminder does not move it).
    :ivar reason: why it was suppressed (a :class:`~reviewkit.domain.suppression.SuppressionReason`
        value), for the view's rejected / unsubscribed split.
    :ivar remind_at: while Sent, when the next reminder is due (``None``: no more reminders).
    :ivar reminders_sent: how many reminders went out.
    """

    id: str = attrs.field(factory=new_id)
    campaign_id: str
    recipient: Recipient
    channel: Channel
    address: str
    status: RequestStatus = RequestStatus.PENDING
    due_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = None
    sender: str | None = None
    created_at: datetime | None = None
    scheduled_at: datetime = attrs.field(default=attrs.Factory(_requested_time, takes_self=True))
    reason: str | None = None
    remind_at: datetime | None = None
    reminders_sent: int = 0
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    answered_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    delivered_at: datetime | None = None
    bounced_at: datetime | None = None
    complained_at: datetime | None = None

    @property
    def message_id(self) -> str:
        """The Message-ID local part / idempotency key: the same on every attempt."""
        return f"{self.id}.{self.campaign_id[:12]}"

    @property
    def asked_at(self) -> datetime:
        """When the customer was asked: the first send, else when the request was made."""
        return self.sent_at or self.created_at or self.scheduled_at

    def held_by(self, worker_id: str) -> bool:
        """Whether *worker_id* holds this request's claim (its lease may have run out while
        nobody took it over)."""
        return self.status is RequestStatus.CLAIMED and self.claimed_by == worker_id

    @property
    def claimable_at(self) -> datetime | None:
        """When a worker may claim it: Pending from ``due_at`` (at once when unset), Claimed
        once the lease expires, Sent when a reminder is due; never otherwise."""
        if self.status is RequestStatus.PENDING:
            return self.due_at or _EPOCH
        if self.status is RequestStatus.CLAIMED:
            return self.lease_until
        if self.status is RequestStatus.SENT:
            return self.remind_at
        return None

    @property
    def request_key(self) -> str:
        """One request per transaction and channel: the transaction id when the recipient
        has one, otherwise the case-folded address."""
        transaction = self.recipient.transaction_id
        return f"t:{transaction}" if transaction else f"a:{self.address.casefold()}"

    @property
    def key(self) -> tuple[str, Channel, str]:
        """What makes a request unique: campaign, channel and :attr:`request_key`."""
        return (self.campaign_id, self.channel, self.request_key)

    @property
    def category(self) -> RequestCategory:
        """Where the collection view shows this request."""
        return category_of(self.status, self.reason, self.unsubscribed_at is not None)


def erased(request: Request) -> Request:
    """*request* without its recipient's personal data: what an erased contact leaves (the
    campaign, channel, segment, status, times and engagement, for the counts)."""
    return attrs.evolve(
        request,
        recipient=Recipient(segment=request.recipient.segment),
        address=f"erased:{request.id}",
        last_error=None if request.last_error is None else "erased",
    )


ERASED_TASK_TITLE = "Task about an erased contact"
"""The title a task about an erased contact keeps."""


def category_of(status: RequestStatus, reason: str | None, unsubscribed: bool) -> RequestCategory:
    """The view's category for a request's status, suppression reason and unsubscribe mark
    (the SQLite store computes the same in SQL; a contract test holds them equal)."""
    if status in (RequestStatus.PENDING, RequestStatus.CLAIMED):
        return RequestCategory.PENDING
    if status is RequestStatus.CANCELLED:
        return RequestCategory.CANCELLED
    if status is RequestStatus.FAILED:
        return RequestCategory.UNDELIVERED
    if unsubscribed or (status is RequestStatus.SUPPRESSED and reason == UNSUBSCRIBED_REASON):
        return RequestCategory.UNSUBSCRIBED
    if status is RequestStatus.SUPPRESSED:
        return RequestCategory.REJECTED
    return RequestCategory.SENT


@attrs.frozen(kw_only=True)
class Outcome:
    """What became of one claimed request, for :meth:`reviewkit.ports.Store.finish_requests`.

    :param status: Sent, Failed, Suppressed, or Pending to retry at *due_at*.
    :param count_attempt: whether this try counts toward the retry limit.
    :param reason: for Suppressed, the suppression reason.
    :param remind_at: for Sent, when the next reminder is due (``None``: none).
    :param reminded: a reminder went out (counted in ``reminders_sent``).
    """

    request_id: str
    status: RequestStatus
    error: str | None = None
    due_at: datetime | None = None
    count_attempt: bool = True
    reason: str | None = None
    remind_at: datetime | None = None
    reminded: bool = False

    delivery_id = renamed_attribute("delivery_id", "request_id")


_S = RequestStatus

REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    _S.PENDING: frozenset({_S.CLAIMED, _S.CANCELLED}),
    _S.CLAIMED: frozenset({_S.SENT, _S.FAILED, _S.SUPPRESSED, _S.PENDING, _S.CANCELLED}),
    _S.SENT: frozenset({_S.CLAIMED}),  # a reminder is due
    _S.FAILED: frozenset({_S.PENDING, _S.CANCELLED}),  # retried by an operator
    _S.SUPPRESSED: frozenset(),
    _S.CANCELLED: frozenset(),
}
"""The statuses a request may move to from each status: the requests' state machine, beside
the campaigns' ``TRANSITIONS``. A claim ends in one of the outcome statuses; a Sent request is
claimed again only for a reminder, whose outcome keeps it Sent."""


def apply_outcome(request: Request, outcome: Outcome, now: datetime) -> Request:
    """The request once *outcome* is recorded at *now* and its claim released: the rules
    every store applies (a SQL store in one statement).

    :raises RequestStateError: the request is not Claimed, or the outcome's status is not
        one a claim may end in.
    """
    if request.status is not _S.CLAIMED or outcome.status not in REQUEST_TRANSITIONS[_S.CLAIMED]:
        raise RequestStateError(
            f"request {request.id} is {request.status.value}; a claim cannot end "
            f"{outcome.status.value}"
        )
    sent = outcome.status is RequestStatus.SENT
    still_open = request.answered_at is None and request.unsubscribed_at is None
    return attrs.evolve(
        request,
        status=outcome.status,
        attempts=request.attempts + (1 if outcome.count_attempt else 0),
        last_error=outcome.error,
        sent_at=request.sent_at or (now if sent else None),
        due_at=outcome.due_at if outcome.due_at is not None else request.due_at,
        reason=outcome.reason if outcome.reason is not None else request.reason,
        remind_at=outcome.remind_at if sent and still_open else None,
        reminders_sent=request.reminders_sent + (1 if outcome.reminded else 0),
        claimed_by=None,
        lease_until=None,
    )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How transient failures are retried: exponential backoff up to a number of attempts.

    The n-th retry waits ``base * factor ** (n - 1)``, at most ``cap``.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    base: timedelta = timedelta(minutes=1)
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1.0))
    cap: timedelta = timedelta(hours=6)

    def backoff(self, attempts: int) -> timedelta:
        """Return the wait before the next try, after *attempts* tries have failed."""
        seconds = self.base.total_seconds() * self.factor ** max(attempts - 1, 0)
        return min(timedelta(seconds=seconds), self.cap)

    def gives_up(self, attempts: int) -> bool:
        """Return whether *attempts* failed tries are the last allowed."""
        return attempts >= self.max_attempts
