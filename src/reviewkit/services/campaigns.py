"""Campaign service: create, edit, fill, schedule and steer campaigns on behalf of a user."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.campaign import (
    ACTIVE,
    Campaign,
    CampaignEvent,
    CampaignMode,
    CampaignStatus,
    Channel,
    Reminder,
)
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.instants import as_utc
from reviewkit.domain.messages import (
    OutgoingMessage,
    check_campaign_templates,
    missing_fields,
    render_message,
    sample_fields,
)
from reviewkit.domain.permissions import Actor, Permission
from reviewkit.domain.renamed import warn_renamed
from reviewkit.domain.request import Recipient, Request, RequestStatus
from reviewkit.domain.schedule import next_send_time
from reviewkit.domain.sms import SmsSegments, normalize_phone, sms_segments
from reviewkit.domain.survey import Survey
from reviewkit.domain.window import SendWindow, load_zone
from reviewkit.errors import (
    CampaignReadOnlyError,
    CampaignStateError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    RequestStateError,
    ValidationError,
)
from reviewkit.ports import BulkRequestStore, Clock, ContactSource, Store, Transport

__all__ = ["AddResult", "CampaignService", "Preview", "RequestRows", "checked_recipient"]


@attrs.frozen
class Preview:
    """A rendered message, and for SMS what it costs."""

    message: OutgoingMessage
    segments: SmsSegments | None


@attrs.frozen
class AddResult:
    """What adding recipients did: every recipient given is either added or a duplicate."""

    added: int
    duplicates: int


@attrs.frozen
class RequestRows:
    """Turns checked ``(recipient, address)`` pairs into a store's rows for new requests of
    one campaign, exactly as :meth:`CampaignService.add_checked` would store them; picklable,
    so a bulk loader can call it in its checking processes (see
    :meth:`CampaignService.checked_rows`)."""

    maker: Callable[[Request], tuple[object, ...]]
    campaign_id: str
    channel: Channel
    due_at: datetime | None
    sender: str | None
    created_at: datetime

    def __call__(self, recipient: Recipient, address: str) -> tuple[object, ...]:
        """The row of a new request to *recipient* at *address*."""
        return self.maker(
            Request(
                campaign_id=self.campaign_id,
                recipient=recipient,
                channel=self.channel,
                address=address,
                due_at=self.due_at,
                sender=self.sender,
                created_at=self.created_at,
            )
        )


class CampaignService:
    """Everything an operator does with campaigns, with permission checks.

    :param store: where campaigns and requests live.
    :param clock: the time source (creation times, "now" for a schedule without a start).
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # -- reading --------------------------------------------------------------------------

    def get(self, actor: Actor, name: str) -> Campaign:
        """Return the campaign with this name or id, its status as it reads now (an active
        campaign is Sending inside its window and Waiting outside it, whenever a dispatcher
        last looked at it).

        :raises PermissionDeniedError: without ``campaign.view``.
        :raises NotFoundError: no such campaign.
        """
        actor.require(Permission.VIEW_CAMPAIGN, "view campaigns")
        return self.store.get_campaign(name).as_of(as_utc(self.clock.now()))

    def list(
        self, actor: Actor, statuses: Collection[CampaignStatus] | None = None
    ) -> list[Campaign]:
        """Return every campaign, or those in *statuses*, each with its status as it reads
        now (see :meth:`get`)."""
        actor.require(Permission.VIEW_CAMPAIGN, "view campaigns")
        now = as_utc(self.clock.now())
        stored = self.store.list_campaigns(None if statuses is None else _stored_as(statuses))
        current = [c.as_of(now) for c in stored]
        return current if statuses is None else [c for c in current if c.status in statuses]

    def counts(self, actor: Actor, name: str) -> dict[RequestStatus, int]:
        """Return how many of the campaign's requests are in each request status."""
        campaign = self.get(actor, name)
        return self.store.count_requests(campaign.id)

    def requests(
        self, actor: Actor, name: str, statuses: Collection[RequestStatus] | None = None
    ) -> Iterator[Request]:
        """Yield the campaign's requests (in *statuses*, if given)."""
        campaign = self.get(actor, name)
        return self.store.iter_requests(campaign.id, statuses)

    def deliveries(
        self, actor: Actor, name: str, statuses: Collection[RequestStatus] | None = None
    ) -> Iterator[Request]:
        """Deprecated: use :meth:`requests`."""
        warn_renamed("CampaignService.deliveries()", "CampaignService.requests()")
        return self.requests(actor, name, statuses)

    def failure_reasons(
        self, actor: Actor, name: str, *, limit: int = 10
    ) -> tuple[tuple[RequestStatus, str, int], ...]:
        """Why the campaign's requests did not go out: ``(status, reason, how many)`` for
        its Failed, Suppressed and Cancelled requests, the most frequent first."""
        found: Counter[tuple[RequestStatus, str]] = Counter()
        ended = (RequestStatus.FAILED, RequestStatus.SUPPRESSED, RequestStatus.CANCELLED)
        for request in self.requests(actor, name, ended):
            why = request.last_error or request.reason or "no reason recorded"
            found[(request.status, why)] += 1
        return tuple((status, why, n) for (status, why), n in found.most_common(limit))

    def next_due(self, actor: Actor, name: str) -> datetime | None:
        """When the campaign's next request becomes due in the queue (``None``: nothing is
        Pending or Claimed); its window and pacing may make the send later."""
        return self.store.next_due_at(self.get(actor, name).id)

    def next_send(self, actor: Actor, name: str) -> datetime | None:
        """When the campaign's next message may go (UTC): its next due request, not before
        now or its start time, moved to its window's next opening (pacing aside).

        ``None`` when nothing is queued or the campaign is not sending (a draft, paused,
        completed or cancelled campaign sends nothing until it is scheduled or resumed).
        """
        campaign = self.get(actor, name)
        if not campaign.active:
            return None
        due = self.store.next_due_at(campaign.id)
        if due is None:
            return None
        at = max(as_utc(due), as_utc(self.clock.now()))
        if campaign.start_at is not None:
            at = max(at, as_utc(campaign.start_at))
        if campaign.respect_recipient_timezone:
            return at  # each recipient's own window decides
        return as_utc(next_send_time(at, campaign.window, load_zone(campaign.timezone)))

    # -- creating and editing -------------------------------------------------------------

    def create(
        self,
        actor: Actor,
        *,
        name: str,
        channel: Channel = Channel.EMAIL,
        mode: CampaignMode = CampaignMode.ONE_OFF,
        sender: str | None = None,
        senders: Iterable[str] = (),
        subject: str = "",
        body: str = "",
        html: str | None = None,
        timezone: str = "UTC",
        window: SendWindow | None = None,
        interval: timedelta = timedelta(0),
        start_at: datetime | None = None,
        respect_recipient_timezone: bool = False,
        send_delay: timedelta = timedelta(0),
        default_region: str | None = None,
        max_sms_segments: int | None = None,
        unsubscribe_url: str | None = None,
        answer_url: str | None = None,
        open_url: str | None = None,
        required_consents: Iterable[str] = (),
        reminder: Reminder | None = None,
        survey: Survey | None = None,
        public_review: bool = False,
    ) -> Campaign:
        """Create a draft campaign.

        Templates that are already written are checked now (a draft may leave them empty).

        :raises PermissionDeniedError: without ``campaign.create``.
        :raises ConflictError: the name is taken.
        :raises ValidationError: a bad time zone, window, interval or template.
        """
        actor.require(Permission.CREATE_CAMPAIGN, "create campaigns")
        campaign = Campaign(
            name=name,
            channel=Channel(channel),
            mode=CampaignMode(mode),
            sender=sender,
            senders=tuple(senders),
            subject=subject,
            body=body,
            html=html,
            timezone=timezone,
            window=window or SendWindow(),
            interval=interval,
            start_at=start_at,
            respect_recipient_timezone=respect_recipient_timezone,
            send_delay=send_delay,
            default_region=default_region,
            max_sms_segments=max_sms_segments,
            unsubscribe_url=unsubscribe_url,
            answer_url=answer_url,
            open_url=open_url,
            required_consents=tuple(required_consents),
            reminder=reminder,
            survey=survey,
            public_review=public_review,
            created_at=as_utc(self.clock.now()),
        )
        check_campaign_templates(campaign, complete=False)
        return self.store.add_campaign(campaign)

    def edit(self, actor: Actor, name: str, **changes: object) -> Campaign:
        """Change a campaign's settings (any of :meth:`create`'s keyword arguments).

        :raises CampaignReadOnlyError: the campaign is Completed or Cancelled.
        :raises ValidationError: a bad value.
        """
        actor.require(Permission.EDIT_CAMPAIGN, "edit campaigns")
        campaign = self.store.get_campaign(name)
        changed = campaign.edit(**changes)
        check_campaign_templates(changed, complete=changed.active)
        return self.store.save_campaign(changed)

    def delete(self, actor: Actor, name: str) -> None:
        """Delete a campaign that is not being sent, with its requests.

        :raises CampaignStateError: the campaign is Scheduled, Sending or Waiting (pause or
            cancel it first).
        """
        actor.require(Permission.DELETE_CAMPAIGN, "delete campaigns")
        campaign = self.store.get_campaign(name)
        if campaign.active:
            raise CampaignStateError(
                f"campaign {campaign.name!r} is {campaign.status.value}: pause or cancel it "
                "before deleting it"
            )
        self.store.delete_campaign(campaign.id)

    # -- recipients -----------------------------------------------------------------------

    def add_recipients(
        self,
        actor: Actor,
        name: str,
        recipients: Iterable[Recipient],
        *,
        sender: str | None = None,
    ) -> AddResult:
        """Add recipients; one request per transaction (or, without one, per address) and
        channel; duplicates are skipped.

        All are added together or, if one is unusable, none.

        :param sender: send these requests from this one of the campaign's ``senders``
            instead of its default ``sender``.

        :raises CampaignReadOnlyError: the campaign is Completed or Cancelled.
        :raises ValidationError: a recipient has no address for the campaign's channel
            (the message names which one, by position).
        """
        campaign = self.open_for_adding(actor, name, sender)

        def addressed() -> Iterator[tuple[Recipient, str]]:
            for position, recipient in enumerate(recipients, start=1):
                try:
                    yield checked_recipient(recipient, campaign)
                except ValidationError as exc:
                    raise ValidationError(f"recipient #{position}: {exc}") from None

        return self.add_checked(campaign, addressed(), sender)

    def request(
        self,
        actor: Actor,
        name: str,
        recipient: Recipient,
        *,
        at: datetime | None = None,
        sender: str | None = None,
    ) -> Request:
        """Make one request by hand : to *recipient*, about its
        transaction, now or at *at*. A campaign that does not exist yet is created as a draft.

        :returns: the stored request.
        :raises ConflictError: the campaign already has a request for this transaction (or,
            without a transaction id, this address) on its channel.
        :raises ValidationError: a bad address, or *at* is not timezone-aware.
        """
        if at is not None:
            at = as_utc(at, "the request time")
        try:
            campaign = self.open_for_adding(actor, name, sender)
        except NotFoundError:
            self.create(actor, name=name)
            campaign = self.open_for_adding(actor, name, sender)
        checked, address = checked_recipient(recipient, campaign)
        now = as_utc(self.clock.now())
        request = Request(
            campaign_id=campaign.id,
            recipient=checked,
            channel=campaign.channel,
            address=address,
            due_at=_due_at(campaign, now, at),
            sender=None if sender == campaign.sender else sender,
            created_at=now,
        )
        if not self.store.add_requests([request]):
            what = (
                f"transaction {checked.transaction_id!r}"
                if checked.transaction_id
                else f"address {address}"
            )
            raise ConflictError(
                f"campaign {campaign.name!r} already has a {campaign.channel.value} request "
                f"for {what}"
            )
        return self.store.get_request(request.id)

    def add_from_source(
        self,
        actor: Actor,
        name: str,
        source: ContactSource,
        *,
        since: datetime | None = None,
    ) -> AddResult:
        """Add the contacts the host's CRM lists.

        Contacts already requested (same transaction, or same address without one) are
        skipped, so the same source can be read again after new orders arrive.
        """
        return self.add_recipients(actor, name, source.contacts(since=since))

    def open_for_adding(self, actor: Actor, name: str, sender: str | None = None) -> Campaign:
        """Return the campaign *name* for adding requests to it, after checking that *actor*
        may add recipients, that the campaign takes them, and that it sends from *sender*
        (when given). A bulk loader calls this once, then :meth:`add_checked` per batch.

        :raises PermissionDeniedError: *actor* may not add recipients.
        :raises CampaignReadOnlyError: the campaign is Completed or Cancelled.
        :raises ValidationError: the campaign does not send from *sender*.
        """
        actor.require(Permission.ADD_RECIPIENT, "add recipients")
        campaign = self.store.get_campaign(name)
        _check_writable(campaign)
        if sender is not None and sender != campaign.sender and sender not in campaign.senders:
            raise ValidationError(
                f"campaign {campaign.name!r} does not send from {sender!r}; its senders are "
                f"{[campaign.sender, *campaign.senders]}"
            )
        return campaign

    def add_checked(
        self,
        campaign: Campaign,
        addressed: Iterable[tuple[Recipient, str]],
        sender: str | None = None,
    ) -> AddResult:
        """Store one request per ``(recipient, address)`` pair already checked with
        :func:`checked_recipient` for *campaign* (as returned by
        :meth:`open_for_adding`); nothing is checked again, so a bulk loader that checked its
        rows in parallel does not pay for it twice. Duplicates are skipped."""
        seen = 0
        now = as_utc(self.clock.now())
        due_at = _due_at(campaign, now, None)

        def requests() -> Iterator[Request]:
            nonlocal seen
            for recipient, address in addressed:
                seen += 1
                yield Request(
                    campaign_id=campaign.id,
                    recipient=recipient,
                    channel=campaign.channel,
                    address=address,
                    due_at=due_at,
                    sender=None if sender == campaign.sender else sender,
                    created_at=now,
                )

        added = self.store.add_requests(requests())
        return AddResult(added=added, duplicates=seen - added)

    def checked_rows(self, campaign: Campaign, sender: str | None = None) -> RequestRows | None:
        """For a bulk loader: a :class:`RequestRows` that makes the store's rows for checked
        recipients of *campaign* (from :meth:`open_for_adding`), to store with
        :meth:`add_checked_rows`; ``None`` when the store takes only requests (it is no
        :class:`~reviewkit.ports.BulkRequestStore`), then use :meth:`add_checked`."""
        if not isinstance(self.store, BulkRequestStore):
            return None
        now = as_utc(self.clock.now())
        return RequestRows(
            maker=self.store.request_row_maker(),
            campaign_id=campaign.id,
            channel=campaign.channel,
            due_at=_due_at(campaign, now, None),
            sender=None if sender == campaign.sender else sender,
            created_at=now,
        )

    def add_checked_rows(self, rows: Sequence[tuple[object, ...]]) -> AddResult:
        """Store rows made by :meth:`checked_rows` in one transaction; duplicates are
        skipped."""
        if not isinstance(self.store, BulkRequestStore):
            raise ConfigurationError("this store takes requests only: use add_checked")
        added = self.store.add_request_rows(rows)
        return AddResult(added=added, duplicates=len(rows) - added)

    def remove_requests(self, actor: Actor, name: str, request_ids: Collection[str]) -> int:
        """Withdraw pending requests (they become Cancelled and are never sent).

        :raises RequestStateError: one of them is no longer pending; nothing is changed.
        """
        actor.require(Permission.REMOVE_RECIPIENT, "remove recipients")
        campaign = self.store.get_campaign(name)
        _check_writable(campaign)
        with self.store.transaction():
            for request_id in request_ids:
                request = self.store.get_request(request_id)
                if request.campaign_id != campaign.id:
                    raise NotFoundError(
                        f"request {request_id!r} is not in campaign {campaign.name!r}"
                    )
                if request.status is not RequestStatus.PENDING:
                    raise RequestStateError(
                        f"request to {request.address} is {request.status.value}: only pending "
                        "requests can be removed"
                    )
            return self.store.set_request_status(
                campaign.id,
                ids=request_ids,
                from_statuses={RequestStatus.PENDING},
                to_status=RequestStatus.CANCELLED,
                error="removed by the operator",
            )

    def remove_recipients(self, actor: Actor, name: str, request_ids: Collection[str]) -> int:
        """Deprecated: use :meth:`remove_requests`."""
        warn_renamed("CampaignService.remove_recipients()", "CampaignService.remove_requests()")
        return self.remove_requests(actor, name, request_ids)

    # -- the state machine ----------------------------------------------------------------

    def schedule(self, actor: Actor, name: str, start_at: datetime | None = None) -> Campaign:
        """Schedule a draft: from *start_at* (or its own start time) the dispatcher sends it.

        :raises CampaignStateError: no start time, no sender, or (for a one-off campaign)
            no pending recipient; an always-on campaign may start empty.
        :raises TemplateError: a template does not parse or reads an unknown variable.
        :raises IllegalTransitionError: the campaign is not a draft.
        """
        actor.require(Permission.EDIT_CAMPAIGN, "schedule campaigns")
        campaign = self.store.get_campaign(name)
        if start_at is not None:
            campaign = campaign.edit(start_at=start_at)
        missing = []
        if campaign.start_at is None:
            missing.append("a start time")
        if not campaign.sender:
            missing.append("a sender account")
        if (
            not campaign.always_on
            and not self.store.count_requests(campaign.id)[RequestStatus.PENDING]
        ):
            missing.append("at least one pending recipient")
        if campaign.survey is not None and campaign.answer_url is None:
            missing.append("an answer_url for the survey's answer links")
        if missing and campaign.status is CampaignStatus.DRAFT:
            raise CampaignStateError(
                f"campaign {campaign.name!r} cannot be scheduled without {' and '.join(missing)}"
            )
        check_campaign_templates(campaign)
        return self.store.save_campaign(campaign.apply(CampaignEvent.SCHEDULE))

    def pause(self, actor: Actor, name: str) -> Campaign:
        """Stop sending until :meth:`resume`."""
        return self._event(actor, name, CampaignEvent.PAUSE, "pause campaigns")

    def resume(self, actor: Actor, name: str) -> Campaign:
        """Resume a paused campaign, or a failed one once its cause is fixed."""
        actor.require(Permission.EDIT_CAMPAIGN, "resume campaigns")
        campaign = self.store.get_campaign(name)
        check_campaign_templates(campaign)
        return self.store.save_campaign(campaign.apply(CampaignEvent.RESUME))

    def cancel(self, actor: Actor, name: str) -> Campaign:
        """Cancel for good: pending requests become Cancelled."""
        actor.require(Permission.EDIT_CAMPAIGN, "cancel campaigns")
        with self.store.transaction():
            campaign = self.store.get_campaign(name)
            cancelled = self.store.save_campaign(campaign.apply(CampaignEvent.CANCEL))
            self.store.set_request_status(
                campaign.id,
                from_statuses={RequestStatus.PENDING},
                to_status=RequestStatus.CANCELLED,
                error="campaign cancelled",
            )
            return cancelled

    def reopen(self, actor: Actor, name: str) -> Campaign:
        """Make a Completed one-off campaign a draft again, so that requests can be added
        and it can be scheduled once more. Requests it already sent stay as they are.

        :raises IllegalTransitionError: the campaign is not Completed.
        """
        return self._event(actor, name, CampaignEvent.REOPEN, "reopen campaigns")

    def retry_failed(
        self, actor: Actor, name: str, request_ids: Collection[str] | None = None
    ) -> int:
        """Send failed requests again (all, or those in *request_ids*).

        A Completed or Failed campaign is scheduled again for them; a Cancelled one refuses.

        :returns: how many requests went back to Pending.
        """
        return self.send_again(actor, name, request_ids, from_statuses={RequestStatus.FAILED})

    def send_again(
        self,
        actor: Actor,
        name: str,
        request_ids: Collection[str] | None,
        *,
        from_statuses: Collection[RequestStatus],
        at: datetime | None = None,
    ) -> int:
        """Put requests in *from_statuses* (all of the campaign's, or *request_ids*) back in
        the queue, due at *at* (now by default); the campaign's window and pacing apply. A
        Completed or Failed campaign is scheduled again for them; a Cancelled one refuses.

        :returns: how many requests went back to Pending.
        """
        actor.require(Permission.EDIT_CAMPAIGN, "send requests again")
        with self.store.transaction():
            campaign = self.store.get_campaign(name)
            if campaign.status is CampaignStatus.CANCELLED:
                raise CampaignReadOnlyError(f"campaign {campaign.name!r} is cancelled")
            count = self.store.set_request_status(
                campaign.id,
                ids=request_ids,
                from_statuses=from_statuses,
                to_status=RequestStatus.PENDING,
                due_at=as_utc(at or self.clock.now()),
            )
            if count and campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.FAILED):
                self.store.save_campaign(campaign.apply(CampaignEvent.RETRY))
            return count

    def _event(self, actor: Actor, name: str, event: CampaignEvent, action: str) -> Campaign:
        actor.require(Permission.EDIT_CAMPAIGN, action)
        campaign = self.store.get_campaign(name)
        return self.store.save_campaign(campaign.apply(event))

    # -- preview and test send ------------------------------------------------------------

    def preview(self, actor: Actor, name: str, recipient: Recipient | None = None) -> Preview:
        """Render the campaign for *recipient* (or a sample) without sending anything.

        For SMS the preview carries the segment count, to see the cost before sending.
        """
        actor.require(Permission.VIEW_CAMPAIGN, "preview campaigns")
        campaign = self.store.get_campaign(name)
        check_campaign_templates(campaign)
        who = recipient or Recipient(
            email=actor.email or "customer@example.com",
            phone="+48500100200",
            chat_id="preview",
            name="Customer",
            transaction_id="PREVIEW",
            fields=sample_fields(campaign),
        )
        message = render_message(
            campaign,
            who,
            to=who.address_for(campaign.channel),
            message_id="preview",
            now=as_utc(self.clock.now()),
        )
        segments = sms_segments(message.text) if campaign.channel is Channel.SMS else None
        return Preview(message=message, segments=segments)

    # -- test send ------------------------------------------------------------------------

    def send_test(self, actor: Actor, name: str, transport: Transport) -> OutgoingMessage:
        """Render the campaign for the acting user and send it to the user's own address.

        No request is created or changed.

        :raises ValidationError: the actor has no e-mail address.
        :raises TemplateError: a template is broken.
        :raises TransportError: the transport refused the message.
        """
        actor.require(Permission.EDIT_CAMPAIGN, "send test messages")
        campaign = self.store.get_campaign(name)
        if not actor.email:
            raise ValidationError(f"user {actor.id!r} has no e-mail address for a test send")
        check_campaign_templates(campaign)
        recipient = Recipient(
            email=actor.email, name=actor.id, transaction_id="TEST", fields=sample_fields(campaign)
        )
        message = render_message(
            campaign,
            recipient,
            to=actor.email,
            message_id=f"test.{uuid.uuid4().hex}",
            now=as_utc(self.clock.now()),
        )
        message = attrs.evolve(
            message, subject=f"[TEST] {message.subject}", headers={"X-Reviewkit-Test": "yes"}
        )
        transport.send(message)
        return message


def _due_at(campaign: Campaign, now: datetime, at: datetime | None) -> datetime | None:
    """When a request made *now* (for *at*, if given) may go: not before the campaign's
    send delay (until then it can still be withdrawn); ``None`` for at once."""
    earliest = now + campaign.send_delay if campaign.send_delay else None
    if at is None:
        return earliest
    return max(at, earliest) if earliest is not None else at


def checked_recipient(recipient: Recipient, campaign: Campaign) -> tuple[Recipient, str]:
    """Return *recipient* with its e-mail normalised and its phone in E.164 (read in the
    campaign's default region), and its address on the campaign's channel.

    :raises ValidationError: no address for the channel, one that is not valid, or no
        value for a custom field the campaign's templates read.
    """
    recipient.address_for(campaign.channel)  # raises when the channel's address is missing
    missing = missing_fields(campaign, recipient)
    if missing:
        raise ValidationError(
            f"no field {', '.join(map(repr, missing))}, which the campaign's templates read "
            f"(recipient.fields.{missing[0]})"
        )
    email = normalize_email(recipient.email) if recipient.email else None
    sms = campaign.channel is Channel.SMS
    phone = (
        normalize_phone(recipient.phone, campaign.default_region, mobile=sms)
        if recipient.phone
        else None
    )
    if (email, phone) != (recipient.email, recipient.phone):
        recipient = attrs.evolve(recipient, email=email, phone=phone)
    return recipient, recipient.address_for(campaign.channel)


def _stored_as(statuses: Collection[CampaignStatus]) -> set[CampaignStatus]:
    """The stored statuses that may read as one of *statuses* now: an active campaign can
    read as any active status, whatever its dispatcher last wrote."""
    wanted = set(statuses)
    return wanted | set(ACTIVE) if wanted & ACTIVE else wanted


def _check_writable(campaign: Campaign) -> None:
    if campaign.read_only:
        raise CampaignReadOnlyError(
            f"campaign {campaign.name!r} is {campaign.status.value} and can no longer be edited"
        )
