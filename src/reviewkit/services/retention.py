"""Retention: a purge that removes what is past its time, a batch per transaction.

::

    purge = RetentionService(store, clock, RetentionPolicy(comments=timedelta(days=365)))
    result = purge.purge()              # or, inside a dispatcher: RetentionChore(purge)

See :mod:`reviewkit.domain.retention` for what each kind keeps and loses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from reviewkit.domain.instants import as_utc
from reviewkit.domain.retention import DEFAULT_RETENTION, PurgeResult, RetentionPolicy
from reviewkit.errors import ValidationError
from reviewkit.ports import Clock, Store

__all__ = ["RetentionChore", "RetentionService"]

log = logging.getLogger("reviewkit.retention")


class RetentionService:
    """Purge what the policy no longer keeps.

    :param batch: rows per transaction (so a purge never holds the database for long).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        policy: RetentionPolicy = DEFAULT_RETENTION,
        *,
        batch: int = 500,
    ) -> None:
        if batch < 1:
            raise ValidationError(f"batch must be at least 1, not {batch}")
        self.store = store
        self.clock = clock
        self.policy = policy
        self.batch = batch

    def purge(self, now: datetime | None = None) -> PurgeResult:
        """Remove everything past its time at *now* (default: the clock's); safe to run
        again, from any worker."""
        cutoffs = self.policy.cutoffs(now or self.clock.now())
        requests = comments = engagement = 0
        personal = cutoffs["personal_data"]
        while personal is not None:
            ids = self.store.requests_made_before(personal, limit=self.batch)
            if not ids:
                break
            requests += self.store.erase_contact(ids, {})
        if cutoffs["comments"] is not None:
            comments = self._drain(self.store.clear_comments, cutoffs["comments"])
        if cutoffs["engagement"] is not None:
            engagement = self._drain(self.store.clear_engagement, cutoffs["engagement"])
        result = PurgeResult(requests, comments, engagement)
        if requests or comments or engagement:
            log.info(
                "retention: %d requests anonymised, %d comments and %d engagement times cleared",
                requests,
                comments,
                engagement,
            )
        return result

    def _drain(self, step: Callable[..., int], before: datetime) -> int:
        """Call *step* a batch at a time until a batch comes back short."""
        total = 0
        while True:
            done = int(step(before, limit=self.batch))
            total += done
            if done < self.batch:
                return total


class RetentionChore:
    """The purge as a :class:`~reviewkit.ports.Chore` of a dispatcher, once every *every*
    (a day by default)."""

    name = "retention purge"

    def __init__(self, service: RetentionService, *, every: timedelta = timedelta(days=1)) -> None:
        if every <= timedelta(0):
            raise ValidationError(f"every must be a positive duration, not {every}")
        self.service = service
        self.every = every
        self.last: PurgeResult | None = None

    def run(self, now: datetime) -> datetime:
        """Purge once; return when to run again."""
        self.last = self.service.purge(now)
        return as_utc(now) + self.every
