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

Mark a test ``@pytest.mark.reviewkit_now("2026-03-29T01:30:00+01:00")`` to start the clock
elsewhere.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.memory import InMemoryStore, InMemoryTransport
from reviewkit.domain.window import load_zone

__all__ = [
    "DEFAULT_NOW",
    "InMemoryStore",
    "InMemoryTransport",
    "ManualClock",
    "reviewkit_clock",
    "reviewkit_store",
    "reviewkit_transport",
]

DEFAULT_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=load_zone("Europe/Warsaw"))
"""Where ``reviewkit_clock`` starts: a Monday morning in Warsaw, no holiday."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reviewkit_now(iso): start the reviewkit_clock fixture at this instant"
    )


@pytest.fixture
def reviewkit_clock(request: pytest.FixtureRequest) -> ManualClock:
    """A manual clock; see the module docstring."""
    marker = request.node.get_closest_marker("reviewkit_now")
    if marker is None:
        return ManualClock(DEFAULT_NOW)
    start = marker.args[0]
    return ManualClock(start if isinstance(start, datetime) else datetime.fromisoformat(start))


@pytest.fixture
def reviewkit_store() -> InMemoryStore:
    """An empty in-memory store."""
    return InMemoryStore()


@pytest.fixture
def reviewkit_transport() -> InMemoryTransport:
    """A recording in-memory transport."""
    return InMemoryTransport()
