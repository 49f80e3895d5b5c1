"""Tracking: record what customers do with a request, from the signed token in a link.

Every link reviewkit puts in a message carries a signed, expiring token
(:class:`~reviewkit.domain.tokens.LinkSigner`). A web framework's view only has to pass the
token on::

    tracking.opened(token)              # the open pixel; serve PIXEL_GIF
    target = tracking.clicked(token)    # a tracked link; redirect to target
    tracking.answered(token)            # the review / survey page was submitted
    tracking.unsubscribed(token)        # the unsubscribe page or RFC 8058 one-click POST

A tampered, expired or wrong-purpose token raises :class:`~reviewkit.errors.TokenError`
and changes nothing. Each event keeps its first time; repeating one is harmless.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Engagement, Request
from reviewkit.domain.suppression import Suppression
from reviewkit.domain.tokens import LinkSigner, TokenPurpose
from reviewkit.errors import ValidationError
from reviewkit.ports import Clock, Store
from reviewkit.services.suppression import SuppressionService

__all__ = ["PIXEL_GIF", "TrackingService"]

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""A transparent 1x1 GIF, the body of an open-pixel response (``image/gif``)."""


class TrackingService:
    """Record opens, clicks, answers and unsubscribes from link tokens.

    :param links: the same signer (keys) the dispatcher signs links with.
    """

    def __init__(self, store: Store, clock: Clock, links: LinkSigner) -> None:
        self.store = store
        self.clock = clock
        self.links = links
        self._suppressions = SuppressionService(store, clock)

    def opened(self, token: str) -> Request:
        """Record that the message was opened (the pixel was loaded).

        :raises TokenError: malformed, tampered, expired or not an open token.
        :raises NotFoundError: the request no longer exists.
        """
        return self._record(token, TokenPurpose.OPEN, Engagement.OPENED)

    def clicked(self, token: str) -> str:
        """Record a click and return the URL to redirect to.

        :raises TokenError: malformed, tampered, expired or not a click token.
        """
        now = as_utc(self.clock.now())
        found = self.links.verify(token, purpose=TokenPurpose.CLICK, now=now)
        if not found.extra:
            raise ValidationError("the click token carries no target URL")
        self.store.record_engagement(found.request_id, Engagement.CLICKED, now)
        return found.extra

    def answered(self, token: str) -> Request:
        """Record that the customer answered (left the review, submitted the survey); the
        request's reminders stop.

        :raises TokenError: malformed, tampered, expired or not an answer token.
        """
        return self._record(token, TokenPurpose.ANSWER, Engagement.ANSWERED)

    def unsubscribed(self, token: str) -> Suppression:
        """Unsubscribe the address the request went to (see
        :meth:`SuppressionService.unsubscribe`): suppressed for every campaign, the request
        marked unsubscribed, its reminders stopped."""
        return self._suppressions.unsubscribe(token, self.links)

    def click_link(
        self, url: str, request_id: str, target: str, *, ttl: timedelta | None = None
    ) -> str:
        """Return a tracked link: *url* with ``{token}`` replaced by a click token that
        leads to *target*.

        :raises ValidationError: *target* is not an http(s) URL, or *url* has no ``{token}``.
        """
        if not target.startswith(("https://", "http://")) or any(c in target for c in " \r\n"):
            raise ValidationError(f"click target {target!r} must be an http(s) URL")
        if "{token}" not in url:
            raise ValidationError(f"tracking URL {url!r} needs a {{token}} placeholder")
        token = self.links.sign(
            TokenPurpose.CLICK, request_id, now=as_utc(self.clock.now()), ttl=ttl, extra=target
        )
        return url.replace("{token}", token)

    def _record(self, token: str, purpose: TokenPurpose, what: Engagement) -> Request:
        now = as_utc(self.clock.now())
        found = self.links.verify(token, purpose=purpose, now=now)
        return self.store.record_engagement(found.request_id, what, now)
