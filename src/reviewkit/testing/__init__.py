"""Fakes and a pytest plugin for testing code that embeds reviewkit.

Installing reviewkit registers this module as a pytest plugin (entry point ``pytest11``), so
these fixtures are available in any test suite without an import:

``reviewkit_clock``
    a :class:`~reviewkit.adapters.clock.ManualClock` standing at Monday 2026-01-05 09:00
    Europe/Warsaw; move it with ``set`` and ``advance``.
``reviewkit_store``
    an empty :class:`~reviewkit.adapters.memory.InMemoryStore`.
``reviewkit_transport``
    an :class:`~reviewkit.adapters.memory.InMemoryTransport` recording every message; make it
    fail with ``fail_next``.

Adapter authors: :class:`StoreContract` and :class:`TransportContract` (in
:mod:`reviewkit.testing.contracts`) are the suites every store and transport passes;
subclass one and give it your adapter.

Mark a test ``@pytest.mark.reviewkit_now("2026-03-29T01:30:00+01:00")`` to start the clock
at another instant. The clock shows its instants in Europe/Warsaw unless the marker names a
zone, with ``zone="America/New_York"`` or the bracketed suffix of RFC 9557
(``"2026-03-08T01:30:00-05:00[America/New_York]"``); a time without an offset is read as
local time in that zone. The zone is a real IANA zone, so the clock's local time changes to
and from summer time as the instant moves; an offset alone would never change.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.memory import InMemoryStore, InMemoryTransport
from reviewkit.domain.window import load_zone
from reviewkit.errors import ValidationError
from reviewkit.testing.contracts import Received, StoreContract, TransportContract

__all__ = [
    "DEFAULT_NOW",
    "DEFAULT_ZONE",
    "InMemoryStore",
    "InMemoryTransport",
    "ManualClock",
    "Received",
    "StoreContract",
    "TransportContract",
    "clock_at",
    "reviewkit_clock",
    "reviewkit_store",
    "reviewkit_transport",
]

DEFAULT_ZONE = "Europe/Warsaw"
"""The zone ``reviewkit_clock`` displays its time in unless the marker names another."""

DEFAULT_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=load_zone(DEFAULT_ZONE))
"""Where ``reviewkit_clock`` starts: a Monday morning in Warsaw, no holiday."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reviewkit_now(iso, zone=None): start the reviewkit_clock fixture at this instant, "
        "shown in this IANA zone (default Europe/Warsaw)",
    )


@pytest.fixture
def reviewkit_clock(request: pytest.FixtureRequest) -> ManualClock:
    """A manual clock; see the module docstring."""
    marker = request.node.get_closest_marker("reviewkit_now")
    if marker is None:
        return ManualClock(DEFAULT_NOW)
    return clock_at(marker.args[0], marker.kwargs.get("zone"))


def clock_at(start: datetime | str, zone: str | None = None) -> ManualClock:
    """Return a manual clock at *start* shown in *zone* (see the module docstring).

    :param start: an aware datetime, or an ISO 8601 text with an optional offset and an
        optional ``[Zone/Name]`` suffix.
    :raises ValidationError: an unknown zone, or a zone given twice that disagrees.
    """
    if isinstance(start, str):
        text, _, suffix = start.partition("[")
        if suffix:
            named = suffix.rstrip("]")
            if zone is not None and zone != named:
                raise ValidationError(f"reviewkit_now names two zones: {named!r} and {zone!r}")
            zone = named
        parsed = datetime.fromisoformat(text)
    else:
        parsed = start
    if zone is None and isinstance(parsed.tzinfo, ZoneInfo):
        zone = parsed.tzinfo.key  # an aware datetime in a named zone keeps it
    shown = load_zone(zone or DEFAULT_ZONE)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=shown)
    return ManualClock(parsed, zone=shown)


@pytest.fixture
def reviewkit_store() -> InMemoryStore:
    """An empty in-memory store."""
    return InMemoryStore()


@pytest.fixture
def reviewkit_transport() -> InMemoryTransport:
    """A recording in-memory transport."""
    return InMemoryTransport()
