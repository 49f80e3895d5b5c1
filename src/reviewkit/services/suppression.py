"""Suppression service: keep addresses that must never be sent to."""

from __future__ import annotations

from collections.abc import Iterator

from reviewkit.domain.campaign import Channel
from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Engagement
from reviewkit.domain.suppression import Suppression, SuppressionReason, unsubscribe_target
from reviewkit.domain.tokens import LinkSigner, TokenPurpose
from reviewkit.errors import NotFoundError
from reviewkit.ports import Clock, Store

__all__ = ["SuppressionService"]


class SuppressionService:
    """Suppress, look up and lift addresses on a channel.

    Suppressions apply to every campaign and are checked by the dispatcher just before each
    send; a suppressed request ends Suppressed with the reason and is never sent. The host
    calls :meth:`suppress` from its unsubscribe handler, bounce processing or blocklist UI.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def suppress(
        self,
        address: str,
        *,
        channel: Channel = Channel.EMAIL,
        reason: SuppressionReason = SuppressionReason.UNSUBSCRIBED,
        note: str | None = None,
    ) -> Suppression:
        """Suppress *address* on *channel* from now on (idempotent: a repeat updates it).

        :raises ValidationError: for an empty address or one with a line break.
        """
        suppression = Suppression(
            channel=Channel(channel),
            address=address.strip(),
            reason=SuppressionReason(reason),
            at=as_utc(self.clock.now()),
            note=note,
        )
        self.store.add_suppression(suppression)
        return suppression

    def suppressions(self, channel: Channel | None = None) -> Iterator[Suppression]:
        """Every suppression (of *channel*, or of all), by channel and address."""
        return self.store.iter_suppressions(None if channel is None else Channel(channel))

    def unsubscribe(self, token: str, links: LinkSigner) -> Suppression:
        """Unsubscribe the address an unsubscribe link was sent to (one click, RFC 8058).

        Works once and is idempotent after: a repeat returns the existing suppression. The
        token carries the address it was sent to, so the address is suppressed even when the
        request, or its whole campaign, has been deleted since.

        :raises TokenError: the token is malformed, tampered with or expired.
        :raises NotFoundError: the request no longer exists and the token does not carry its
            address (tokens signed by earlier development versions carried only the request).
        """
        now = as_utc(self.clock.now())
        found = links.verify(token, purpose=TokenPurpose.UNSUBSCRIBE, now=now)
        with self.store.transaction():
            try:
                # The request shows as unsubscribed in the view, and its reminders stop.
                request = self.store.record_engagement(
                    found.request_id, Engagement.UNSUBSCRIBED, now
                )
            except NotFoundError:
                target = unsubscribe_target(found.extra)
                if target is None:  # an older token, which does not carry its address
                    raise
                channel, address = target
                note = f"unsubscribe link of deleted request {found.request_id}"
            else:
                channel, address = request.channel, request.address
                note = f"unsubscribe link of request {request.id}"
            existing = self.store.get_suppression(channel, address)
            if existing is not None and existing.reason is SuppressionReason.UNSUBSCRIBED:
                return existing
            return self.suppress(
                address, channel=channel, reason=SuppressionReason.UNSUBSCRIBED, note=note
            )

    def check(self, address: str, *, channel: Channel = Channel.EMAIL) -> Suppression | None:
        """Return the suppression of *address* on *channel*, or ``None``."""
        return self.store.get_suppression(Channel(channel), address.strip())

    def lift(self, address: str, *, channel: Channel = Channel.EMAIL) -> bool:
        """Allow *address* again; return whether it was suppressed."""
        return self.store.remove_suppression(Channel(channel), address.strip())
