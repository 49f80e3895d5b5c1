"""Campaigns: what is sent, from whom, when, and the state machine that moves them.

The whole state machine is :data:`TRANSITIONS`: a table from (status, event) to the next
status. Nothing else changes a campaign's status.

::

    Draft ──schedule──▶ Scheduled ──window_opened──▶ Sending ◀──window_opened── Waiting
                            │                          │ ──window_closed──────────▶ │
                            └──────── complete / fail ─┴──── complete / fail ──────┘
    Paused ◀──pause── Scheduled, Sending, Waiting      Paused ──resume──▶ Scheduled
    Failed ──resume──▶ Scheduled                       Completed ──retry──▶ Scheduled
    Failed ──retry──▶ Scheduled                        Completed ──reopen──▶ Draft
    any status but Completed and Cancelled ──cancel──▶ Cancelled

A one-off campaign completes by itself when nothing is left to send, or fails when every
request it tried failed; an always-on campaign (:class:`CampaignMode`) never does.
:meth:`Campaign.as_of` reads Sending or Waiting from the window at the moment asked.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import attrs

from reviewkit.domain.headers import check_header_value
from reviewkit.domain.ids import new_id
from reviewkit.domain.schedule import whole_seconds
from reviewkit.domain.survey import Survey
from reviewkit.domain.window import SendWindow, load_zone
from reviewkit.errors import CampaignReadOnlyError, IllegalTransitionError, ValidationError

__all__ = [
    "TRANSITIONS",
    "Campaign",
    "CampaignEvent",
    "CampaignMode",
    "CampaignStatus",
    "Channel",
    "Reminder",
    "next_status",
]


class Channel(enum.StrEnum):
    """How a request reaches the customer."""

    EMAIL = "email"
    """An e-mail message."""
    SMS = "sms"
    """A text message to a mobile phone."""
    CHAT = "chat"
    """A message in a chat app (Messenger-like), through the host's integration; the
    recipient's ``chat_id`` is the address."""
    LINK = "link"
    """An open survey link (a QR code at the till, a kiosk, a link on the shop's site):
    answers come in without a request being sent, so a campaign never sends on it."""


SENDING_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.CHAT)
"""The channels a campaign sends requests on."""


class CampaignMode(enum.StrEnum):
    """How a campaign ends."""

    ONE_OFF = "one_off"
    """Sends the requests it was given and completes by itself once none is pending (or
    fails, when every request it tried failed)."""
    ALWAYS_ON = "always_on"
    """Keeps accepting requests (imports, manual requests, triggers, contact sources) and
    sending them for as long as it runs; it never completes by itself, only an operator
    ends it (cancel, or pause)."""


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    """Being prepared (planned); nothing is sent."""
    SCHEDULED = "scheduled"
    """Ready: the dispatcher picks it up from its start time on."""
    SENDING = "sending"
    """Inside its send window with requests still pending."""
    WAITING = "waiting"
    """Outside its send window (night, weekend, holiday); resumes by itself when it opens."""
    PAUSED = "paused"
    """Stopped by an operator; nothing is sent until it is resumed."""
    COMPLETED = "completed"
    """A one-off campaign with nothing pending any more. Read-only; :meth:`reopen
    <reviewkit.CampaignService.reopen>` makes it a draft again."""
    FAILED = "failed"
    """Sending cannot go on (the sender account was refused), or every request of a one-off
    campaign failed; see ``failure_reason``."""
    CANCELLED = "cancelled"
    """Stopped for good by an operator; pending requests are cancelled. Read-only."""


class CampaignEvent(enum.StrEnum):
    """What can happen to a campaign; each event is one column of :data:`TRANSITIONS`."""

    SCHEDULE = "schedule"
    """The operator schedules a draft."""
    WINDOW_OPENED = "window_opened"
    """The dispatcher finds the send window open and requests pending."""
    WINDOW_CLOSED = "window_closed"
    """The dispatcher finds the send window shut."""
    COMPLETE = "complete"
    """Nothing is pending any more."""
    FAIL = "fail"
    """The transport reports that the sender account cannot send."""
    PAUSE = "pause"
    """The operator pauses sending."""
    RESUME = "resume"
    """The operator resumes a paused or failed campaign."""
    CANCEL = "cancel"
    """The operator cancels the campaign."""
    RETRY = "retry"
    """The operator sends the failed requests of a completed or failed campaign again."""
    REOPEN = "reopen"
    """The operator makes a completed one-off campaign a draft again, to add requests."""


_S = CampaignStatus
_E = CampaignEvent

TRANSITIONS: Final[dict[tuple[CampaignStatus, CampaignEvent], CampaignStatus]] = {
    (_S.DRAFT, _E.SCHEDULE): _S.SCHEDULED,
    (_S.DRAFT, _E.CANCEL): _S.CANCELLED,
    (_S.SCHEDULED, _E.WINDOW_OPENED): _S.SENDING,
    (_S.SCHEDULED, _E.WINDOW_CLOSED): _S.WAITING,
    (_S.SCHEDULED, _E.COMPLETE): _S.COMPLETED,
    (_S.SCHEDULED, _E.FAIL): _S.FAILED,
    (_S.SCHEDULED, _E.PAUSE): _S.PAUSED,
    (_S.SCHEDULED, _E.CANCEL): _S.CANCELLED,
    (_S.SENDING, _E.WINDOW_OPENED): _S.SENDING,
    (_S.SENDING, _E.WINDOW_CLOSED): _S.WAITING,
    (_S.SENDING, _E.COMPLETE): _S.COMPLETED,
    (_S.SENDING, _E.FAIL): _S.FAILED,
    (_S.SENDING, _E.PAUSE): _S.PAUSED,
    (_S.SENDING, _E.CANCEL): _S.CANCELLED,
    (_S.WAITING, _E.WINDOW_OPENED): _S.SENDING,
    (_S.WAITING, _E.WINDOW_CLOSED): _S.WAITING,
    (_S.WAITING, _E.COMPLETE): _S.COMPLETED,
    (_S.WAITING, _E.FAIL): _S.FAILED,
    (_S.WAITING, _E.PAUSE): _S.PAUSED,
    (_S.WAITING, _E.CANCEL): _S.CANCELLED,
    (_S.PAUSED, _E.RESUME): _S.SCHEDULED,
    (_S.PAUSED, _E.CANCEL): _S.CANCELLED,
    (_S.FAILED, _E.RESUME): _S.SCHEDULED,
    (_S.FAILED, _E.CANCEL): _S.CANCELLED,
    (_S.FAILED, _E.RETRY): _S.SCHEDULED,
    (_S.COMPLETED, _E.RETRY): _S.SCHEDULED,
    (_S.COMPLETED, _E.REOPEN): _S.DRAFT,
}
"""Every legal status change: ``(status, event) -> next status``. Anything absent is illegal."""

READ_ONLY: Final = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
"""Statuses in which a campaign's settings and recipients cannot change."""

ACTIVE: Final = frozenset(
    {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.WAITING}
)
"""Statuses the dispatcher works on."""


def next_status(status: CampaignStatus, event: CampaignEvent) -> CampaignStatus:
    """Return the status *event* moves a campaign in *status* to.

    :raises IllegalTransitionError: when the table has no such edge.
    """
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s == status)
        raise IllegalTransitionError(
            f"a {status.value} campaign cannot {event.value.replace('_', ' ')}; "
            f"allowed from {status.value}: {', '.join(allowed) or 'nothing'}"
        ) from None


def _check_zone(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    load_zone(value)


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError("a campaign needs a non-empty name")
    if len(value) > 200 or any(c in value for c in "\r\n\t"):
        raise ValidationError(
            f"campaign name {value[:40]!r}: at most 200 characters, no line breaks or tabs"
        )


def _check_interval(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    whole_seconds(value, attribute.name)


def _check_aware(
    _: object, attribute: attrs.Attribute[datetime | None], value: datetime | None
) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{attribute.name} must be timezone-aware, got {value.isoformat()}")


def _to_utc(value: datetime | None) -> datetime | None:
    """Instants are kept in UTC; a naive value is left for the validator to refuse."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC)


def _to_senders(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_senders(_: object, __: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    for sender in value:
        _check_sender(None, None, sender)


def _check_sender(_: object, __: object, value: str | None) -> None:
    if value is None:
        return
    if not value.strip():
        raise ValidationError("a sender cannot be empty")
    check_header_value("sender", value)


def _check_header_template(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_header_value(attribute.name, value)


def _check_link_url(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    what = attribute.name.replace("_", " ").replace(" url", " URL")
    if not value.startswith("https://") and not value.startswith("http://"):
        raise ValidationError(f"{what} {value!r} must start with https://")
    if "{token}" not in value or any(c in value for c in " \r\n<>"):
        raise ValidationError(
            f"{what} {value!r} needs a {{token}} placeholder and no spaces or brackets"
        )


def _to_names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    names = tuple(str(v).strip() for v in value)  # type: ignore[attr-defined]
    if any(not n for n in names):
        raise ValidationError("a required consent needs a name")
    return names


@attrs.frozen(kw_only=True)
class Reminder:
    """Follow-up messages for requests nobody answered (reminders).

    The first reminder goes *after* this long since the request was sent, the next one
    *after* as long again, at most *count* in all; never once the request is answered or
    the customer unsubscribed, and only inside the campaign's send window (and with its
    pacing). Empty *subject* / *body* reuse the campaign's.

    :param after: the wait before each reminder, at least an hour.
    :param count: how many reminders at most (1 to 10).
    """

    after: timedelta = attrs.field(default=timedelta(days=3))
    count: int = attrs.field(default=1, validator=[attrs.validators.ge(1), attrs.validators.le(10)])
    subject: str = attrs.field(default="", validator=_check_header_template)
    body: str = ""

    @after.validator
    def _check_after(self, _: attrs.Attribute[timedelta], value: timedelta) -> None:
        if value < timedelta(hours=1):
            raise ValidationError(f"a reminder must wait at least an hour, not {value}")


_Member = TypeVar("_Member", bound=enum.Enum)


def _member(kind: type[_Member], value: object) -> _Member:
    """*value* as a member of the enum *kind* (its member or its value)."""
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(str(m.value) for m in kind)
        raise ValidationError(f"{value!r} is not a {kind.__name__} (one of {names})") from None


def _channel(value: object) -> Channel:
    return _member(Channel, value)


def _mode(value: object) -> CampaignMode:
    return _member(CampaignMode, value)


def _status(value: object) -> CampaignStatus:
    return _member(CampaignStatus, value)


@attrs.frozen(kw_only=True)
class Campaign:
    """A campaign: a message, a sender, a window and a start.

    Campaigns are values: every change returns a new one (:meth:`evolve`, :meth:`apply`),
    which the services store.

    :param name: unique, shown to operators.
    :param channel: e-mail or SMS.
    :param sender: the default sender account (an account name, or an address).
    :param senders: other accounts a request of this campaign may be sent from, chosen when
        it is added (several sender mailboxes, one default).
    :param subject: the subject template (e-mail only).
    :param body: the plain-text body template (the whole text for SMS).
    :param html: an optional HTML body template (e-mail only), autoescaped.
    :param timezone: IANA zone the window is read in.
    :param window: days and hours sending is allowed.
    :param interval: minimum time between two messages of this campaign.
    :param start_at: the earliest send time.
    :param respect_recipient_timezone: read the window in each recipient's own zone when it
        has one.
    :param send_delay: how long a request waits after it is added before it may be sent;
        until then an operator can still withdraw it.
    :param default_region: the country (``"PL"``) phone numbers without a country code are
        read in.
    :param unsubscribe_url: where unsubscribing happens, with ``{token}`` where the signed
        token goes (``https://shop.example/unsubscribe?t={token}``); e-mails then carry
        ``List-Unsubscribe`` and one-click ``List-Unsubscribe-Post`` headers (RFC 8058), and
        templates can link to ``{{ links.unsubscribe }}``.
    :param max_sms_segments: an SMS longer than this many segments is not sent (it fails
        with the count), so one long name cannot triple the bill.
    :param answer_url: the review or survey page, with ``{token}`` for a signed answer token;
        templates link to it as ``{{ links.answer }}``.
    :param open_url: the open-tracking pixel, with ``{token}``; HTML templates embed
        ``{{ links.open }}``.
    :param required_consents: consents a recipient must have granted; a request to one who
        has not is never sent (Suppressed, ``no_consent``), checked at send time.
    :param reminder: follow-ups for unanswered requests, or ``None``.
    :param mode: one-off (completes when drained, the default) or always-on (runs until
        the operator ends it: requests after every order, from triggers).
    :param survey: makes the requests survey requests (NPS, CSAT, CES): templates get
        ``{{ survey.question }}`` and the scale as one-click links
        (``{% for option in survey.options %}``), and answers are recorded from them.
        Needs an ``answer_url``. Checked against the chat limits on the chat channel.
    :param public_review: the requests invite customers to review publicly (Google,
        Trustpilot, the shop's own review page). Such invitations go to every customer
        alike: a trigger rule that sends them only after a good private score is refused
        (review gating, which those platforms' policies forbid).
    """

    id: str = attrs.field(factory=new_id)
    name: str = attrs.field(validator=_check_name)
    channel: Channel = attrs.field(default=Channel.EMAIL, converter=_channel)
    mode: CampaignMode = attrs.field(default=CampaignMode.ONE_OFF, converter=_mode)
    sender: str | None = attrs.field(default=None, validator=_check_sender)
    senders: tuple[str, ...] = attrs.field(
        default=(), converter=_to_senders, validator=_check_senders
    )
    subject: str = attrs.field(default="", validator=_check_header_template)
    body: str = ""
    html: str | None = None
    timezone: str = attrs.field(default="UTC", validator=_check_zone)
    window: SendWindow = attrs.field(factory=SendWindow)
    interval: timedelta = attrs.field(default=timedelta(0), validator=_check_interval)
    start_at: datetime | None = attrs.field(default=None, converter=_to_utc, validator=_check_aware)
    respect_recipient_timezone: bool = False
    send_delay: timedelta = attrs.field(default=timedelta(0), validator=_check_interval)
    default_region: str | None = None
    unsubscribe_url: str | None = attrs.field(default=None, validator=_check_link_url)
    max_sms_segments: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    answer_url: str | None = attrs.field(default=None, validator=_check_link_url)
    open_url: str | None = attrs.field(default=None, validator=_check_link_url)
    required_consents: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    reminder: Reminder | None = None
    survey: Survey | None = None
    public_review: bool = False
    status: CampaignStatus = attrs.field(default=CampaignStatus.DRAFT, converter=_status)
    failure_reason: str | None = None
    created_at: datetime | None = attrs.field(
        default=None, converter=_to_utc, validator=_check_aware
    )
    version: int = 0

    def __attrs_post_init__(self) -> None:
        if self.channel not in SENDING_CHANNELS:
            raise ValidationError(
                f"campaign {self.name!r}: a campaign sends by e-mail, SMS or chat; open "
                "survey links take answers on any campaign with a survey"
            )
        if self.survey is not None and self.channel is Channel.CHAT:
            self.survey.check_for_chat()

    @property
    def read_only(self) -> bool:
        """Whether settings and recipients are frozen (Completed or Cancelled)."""
        return self.status in READ_ONLY

    @property
    def active(self) -> bool:
        """Whether the dispatcher works on this campaign."""
        return self.status in ACTIVE

    @property
    def always_on(self) -> bool:
        """Whether the campaign runs until an operator ends it."""
        return self.mode is CampaignMode.ALWAYS_ON

    def as_of(self, now: datetime) -> Campaign:
        """Return the campaign with its status as it reads at *now*.

        The stored status of an active campaign is the one its dispatcher last wrote, which
        can be hours old (a worker asleep from Friday evening to Monday morning). Read at
        *now*, an active campaign past its start is Sending while its window is open and
        Waiting while it is shut; before its start it is Scheduled. Other statuses are
        what they are. With ``respect_recipient_timezone`` the window is each recipient's,
        so the campaign reads Sending from its start on.
        """
        if not self.active or (self.start_at is not None and self.start_at > now):
            return self
        shut = not self.respect_recipient_timezone and not self.window.contains(
            now, load_zone(self.timezone)
        )
        event = CampaignEvent.WINDOW_CLOSED if shut else CampaignEvent.WINDOW_OPENED
        return self.apply(event)

    def apply(self, event: CampaignEvent, *, reason: str | None = None) -> Campaign:
        """Return the campaign after *event*.

        :raises IllegalTransitionError: when the event is not allowed in the current status.
        """
        status = next_status(self.status, event)
        failure = reason if status is CampaignStatus.FAILED else None
        return attrs.evolve(self, status=status, failure_reason=failure)

    def edit(self, **changes: object) -> Campaign:
        """Return the campaign with settings changed.

        :raises CampaignReadOnlyError: for a Completed or Cancelled campaign.
        :raises ValidationError: for a bad value.
        """
        if self.read_only:
            raise CampaignReadOnlyError(
                f"campaign {self.name!r} is {self.status.value} and can no longer be edited"
            )
        forbidden = {"id", "status", "version", "failure_reason"} & changes.keys()
        if forbidden:
            raise ValidationError(f"{', '.join(sorted(forbidden))} cannot be edited directly")
        return attrs.evolve(self, **changes)  # type: ignore[arg-type]
