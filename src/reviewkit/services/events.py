"""Delivery events after the handoff: bounces, complaints, delivery receipts, a provider's
opens and clicks — recorded on their request, and the addresses that must not be sent to
again suppressed.

::

    events = DeliveryEventService(store, clock)
    for event in sendgrid_events(request.json):      # reviewkit.adapters.webhooks
        events.record(event)

- **delivered**: the request's ``delivered_at``.
- **bounced, hard** (and **rejected**): the request fails with the server's reason
  (Undelivered in the collection view), ``bounced_at`` is set, and the address is
  suppressed (``hard_bounce``).
- **bounced, soft**: ``bounced_at`` is set and the address's soft bounces counted; at
  ``soft_bounce_limit`` the address is suppressed as a hard bounce would be.
- **complained**: ``complained_at`` is set and the address suppressed (``complaint``).
- **opened**, **clicked**, **unsubscribed**: recorded as the answer page records them.

An event names its request by the ``Message-ID`` reviewkit wrote (or the request id a gateway
echoes); an event about an address other than the request's is ignored, so a forged report
cannot suppress someone else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.events import DeliveryEvent, EventKind
from reviewkit.domain.request import Engagement, RequestStatus
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.errors import NotFoundError, ValidationError
from reviewkit.ports import Clock, Store

__all__ = ["DeliveryEventService", "EventOutcome"]

log = logging.getLogger("reviewkit.events")

_ENGAGEMENTS = {
    EventKind.DELIVERED: Engagement.DELIVERED,
    EventKind.OPENED: Engagement.OPENED,
    EventKind.CLICKED: Engagement.CLICKED,
    EventKind.UNSUBSCRIBED: Engagement.UNSUBSCRIBED,
    EventKind.COMPLAINED: Engagement.COMPLAINED,
    EventKind.BOUNCED: Engagement.BOUNCED,
    EventKind.REJECTED: Engagement.BOUNCED,
}


@attrs.frozen
class EventOutcome:
    """What recording one event did.

    :ivar request_id: the request it was about (``None``: none could be found).
    :ivar action: ``recorded``, ``failed and suppressed``, ``soft bounce N of M``,
        ``suppressed``, ``ignored: …`` (why nothing changed).
    """

    event: DeliveryEvent
    request_id: str | None
    action: str


class DeliveryEventService:
    """Record delivery events on their requests and suppress what must be.

    :param soft_bounce_limit: soft bounces after which an address is suppressed.
    """

    def __init__(self, store: Store, clock: Clock, *, soft_bounce_limit: int = 3) -> None:
        if soft_bounce_limit < 1:
            raise ValidationError(f"soft_bounce_limit must be at least 1, not {soft_bounce_limit}")
        self.store = store
        self.clock = clock
        self.soft_bounce_limit = soft_bounce_limit

    def record_all(self, events: Iterable[DeliveryEvent]) -> list[EventOutcome]:
        """Record several events in order (as a webhook delivers a batch)."""
        return [self.record(event) for event in events]

    def record(self, event: DeliveryEvent) -> EventOutcome:
        """Record one event; see the module's description for what each kind does."""
        target = event.target
        if target is None:
            return self._ignored(event, None, "not a message reviewkit sent")
        try:
            request = self.store.get_request(target)
        except NotFoundError:
            return self._ignored(event, target, "no such request (deleted?)")
        address = request.address
        if event.address and event.address.strip().casefold() != address.casefold():
            return self._ignored(event, target, "the request went to another address")
        kind = event.kind
        if kind is EventKind.DEFERRED:
            return self._done(event, target, "noted (the sender keeps trying)")
        with self.store.transaction():
            self.store.record_engagement(target, _ENGAGEMENTS[kind], event.at)
            if kind in (EventKind.BOUNCED, EventKind.REJECTED) and event.hard:
                self.store.set_request_status(
                    request.campaign_id,
                    from_statuses=[RequestStatus.SENT],
                    to_status=RequestStatus.FAILED,
                    ids=[target],
                    error=f"bounced: {event.reason or 'no reason given'}",
                )
                self._suppress(event, request.channel, address, SuppressionReason.HARD_BOUNCE)
                return self._done(event, target, "failed and suppressed")
            if kind is EventKind.BOUNCED:
                count = self.store.add_soft_bounce(request.channel, address, event.at)
                if count >= self.soft_bounce_limit:
                    self._suppress(
                        event,
                        request.channel,
                        address,
                        SuppressionReason.HARD_BOUNCE,
                        note=f"{count} soft bounces; the last: {event.reason or 'no reason'}",
                    )
                    return self._done(event, target, f"soft bounce {count}: suppressed")
                return self._done(event, target, f"soft bounce {count} of {self.soft_bounce_limit}")
            if kind is EventKind.COMPLAINED:
                self._suppress(event, request.channel, address, SuppressionReason.COMPLAINT)
                return self._done(event, target, "suppressed")
            if kind is EventKind.UNSUBSCRIBED:
                self._suppress(event, request.channel, address, SuppressionReason.UNSUBSCRIBED)
                return self._done(event, target, "suppressed")
        return self._done(event, target, "recorded")

    def _suppress(
        self,
        event: DeliveryEvent,
        channel: Channel,
        address: str,
        reason: SuppressionReason,
        *,
        note: str | None = None,
    ) -> None:
        text = note or event.reason or f"reported by {event.source or 'a delivery event'}"
        self.store.add_suppression(
            Suppression(channel=channel, address=address, reason=reason, at=event.at, note=text)
        )

    def _done(self, event: DeliveryEvent, target: str, action: str) -> EventOutcome:
        log.info("%s %s for request %s: %s", event.source, event.kind.value, target, action)
        return EventOutcome(event, target, action)

    def _ignored(self, event: DeliveryEvent, target: str | None, why: str) -> EventOutcome:
        log.info("%s %s ignored: %s", event.source, event.kind.value, why)
        return EventOutcome(event, target, f"ignored: {why}")
