"""Clocks: the real one, and one a test or a script moves by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, tzinfo

from reviewkit.domain.instants import as_utc
from reviewkit.domain.window import load_zone

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, instant: datetime) -> None:
        delay = (as_utc(instant) - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


class ManualClock:
    """A clock that stands still until it is told to move.

    It keeps the instant in UTC and moves in real elapsed time: ``advance(timedelta(hours=24))``
    is 24 hours later, also across a DST change, when the local date may be one day later
    at another hour. ``now()`` shows the instant in the clock's display *zone* — the zone of
    *start* unless one is given — so a test reads local times that change to summer time.

    ``sleep_until`` jumps straight to the instant, so a dispatcher driven by this clock runs a
    month-long campaign in moments.

    :param start: the first instant, timezone-aware.
    :param zone: the display zone (an IANA name or a tzinfo); the default is *start*'s.
    :raises ValidationError: for a naive *start*.
    """

    def __init__(self, start: datetime, *, zone: str | tzinfo | None = None) -> None:
        self._utc = as_utc(start, "the clock's start")
        if isinstance(zone, str):
            zone = load_zone(zone)
        shown = zone or start.tzinfo
        assert shown is not None  # as_utc refused a naive start
        self._zone: tzinfo = shown
        self._lock = threading.Lock()

    @property
    def zone(self) -> tzinfo:
        """The zone :meth:`now` displays its instant in."""
        return self._zone

    def now(self) -> datetime:
        with self._lock:
            return self._utc.astimezone(self._zone)

    def set(self, instant: datetime) -> None:
        """Move the clock to *instant* (forward or back); the display zone stays."""
        utc = as_utc(instant, "the clock's new time")
        with self._lock:
            self._utc = utc

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock by *delta* of real elapsed time (back, when negative) and return
        the new time."""
        with self._lock:
            self._utc += delta
            return self._utc.astimezone(self._zone)

    def sleep_until(self, instant: datetime) -> None:
        target = as_utc(instant)
        with self._lock:
            if target > self._utc:
                self._utc = target
