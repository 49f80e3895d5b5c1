"""The send-window scheduler: when the next message may go, and the plan for N messages.

Both answers follow from one rule. The first send time is the first instant at or after the
start that is inside the window; each later one is the first instant inside the window at
least ``interval`` after the one before. Times have whole-second resolution.

A plan is kept as *runs* — ``(first, interval, count)`` — one per window opening, so planning a
million messages touches each opening once and holds nothing per message.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from reviewkit.domain.window import SendWindow, epoch_of, openings
from reviewkit.errors import WindowError

__all__ = ["PlanRun", "SendPlan", "next_send_time", "plan_send_times", "whole_seconds"]


@attrs.frozen
class PlanRun:
    """``count`` send times ``first, first + interval, …`` (UTC epoch seconds)."""

    first: int
    interval: int
    count: int

    @property
    def last(self) -> int:
        """The last send time of the run."""
        return self.first + (self.count - 1) * self.interval

    def timestamps(self) -> Iterable[int]:
        """The run's send times as UTC epoch seconds."""
        if self.interval == 0:
            return itertools.repeat(self.first, self.count)
        return range(self.first, self.first + self.count * self.interval, self.interval)


def whole_seconds(duration: timedelta, what: str = "interval") -> int:
    """Return *duration* in seconds; pacing and delays work in whole seconds.

    :raises WindowError: for a negative duration or a fraction of a second.
    """
    seconds = duration.total_seconds()
    if seconds < 0 or seconds != int(seconds):
        raise WindowError(f"{what} {duration} must be a whole, non-negative number of seconds")
    return int(seconds)


def next_send_time(after: datetime, window: SendWindow, zone: ZoneInfo) -> datetime:
    """Return the first instant at or after *after* that is inside *window* read in *zone*.

    The result is in *zone*; a fraction of a second in *after* is rounded up.

    :raises WindowError: for a naive *after* or a window that never opens.
    """
    start = epoch_of(after)
    opened, _ = next(openings(window, zone, start))
    return datetime.fromtimestamp(opened, zone)


@attrs.frozen
class SendPlan:
    """The send times of *count* messages; iterate it for aware datetimes.

    Nothing is computed until it is iterated, and iterating holds one opening at a time,
    so a plan of a million messages costs no list. Use :meth:`timestamps` for UTC epoch
    seconds (the fast path), :meth:`runs` for the compact form, or iterate for datetimes
    in the plan's zone.
    """

    window: SendWindow
    zone: ZoneInfo
    start: int
    interval: int
    count: int

    def runs(self) -> Iterator[PlanRun]:
        """Yield the plan as runs of equally spaced send times, one per window opening."""
        remaining = self.count
        step = self.interval
        earliest = self.start
        for opened, closed in openings(self.window, self.zone, self.start):
            if remaining <= 0:
                return
            first = max(opened, earliest)
            if first >= closed:
                continue
            n = remaining if step == 0 else min(remaining, (closed - 1 - first) // step + 1)
            yield PlanRun(first, step, n)
            remaining -= n
            earliest = first + (n - 1) * step + step

    def timestamps(self) -> Iterator[int]:
        """Yield every send time as UTC epoch seconds, in order."""
        # chain walks each run's range in C: no Python frame per send time.
        return itertools.chain.from_iterable(run.timestamps() for run in self.runs())

    def __iter__(self) -> Iterator[datetime]:
        zone = self.zone
        fromtimestamp = datetime.fromtimestamp
        for ts in self.timestamps():
            yield fromtimestamp(ts, zone)

    def __len__(self) -> int:
        return self.count


def plan_send_times(
    start: datetime,
    count: int,
    window: SendWindow,
    zone: ZoneInfo,
    interval: timedelta = timedelta(0),
) -> SendPlan:
    """Plan the send times of *count* messages from *start* on.

    :param start: the earliest send time (aware).
    :param count: how many messages.
    :param window: when sending is allowed, read in *zone*.
    :param zone: the campaign's (or recipient's) time zone.
    :param interval: the minimum time between two messages; zero sends all at once.
    :returns: a lazy :class:`SendPlan`.
    :raises WindowError: for a naive *start*, a negative count or a fractional interval.
    """
    if count < 0:
        raise WindowError(f"cannot plan {count} messages")
    return SendPlan(window, zone, epoch_of(start), whole_seconds(interval), count)
