"""Clocks: the real one, and one a test or a script moves by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from reviewkit.errors import ValidationError

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, instant: datetime) -> None:
        delay = (instant - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


class ManualClock:
    """A clock that stands still until it is told to move.

    ``sleep_until`` jumps straight to the instant, so a dispatcher driven by this clock runs a
    month-long campaign in moments.
    """

    def __init__(self, start: datetime) -> None:
        _check_aware(start)
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        """Move the clock to *instant* (forward or back)."""
        _check_aware(instant)
        with self._lock:
            self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by *delta* and return the new time."""
        with self._lock:
            self._now += delta
            return self._now

    def sleep_until(self, instant: datetime) -> None:
        with self._lock:
            if instant > self._now:
                self._now = instant


def _check_aware(instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ValidationError(f"naive datetime {instant.isoformat()}: the clock needs an aware one")
