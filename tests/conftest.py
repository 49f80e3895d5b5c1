"""Shared fixtures; the reviewkit plugin's clock, store and transport come by entry point."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore

from . import pg_server
from .browser import browser  # noqa: F401 - the headless Chromium fixture

# The suite is deterministic by default: every run tries the same generated examples, so a
# green run stays green and a failure is reproduced by running again. HYPOTHESIS_PROFILE=explore
# searches with fresh random examples and remembers failures outside the checkout.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    max_examples=600,
    deadline=None,
    database=DirectoryBasedExampleDatabase(
        os.path.join(tempfile.gettempdir(), "reviewkit-hypothesis")
    ),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WARSAW = rk.load_zone("Europe/Warsaw")


@pytest.fixture
def actor() -> rk.Actor:
    return rk.Actor.system(email="owner@shop.example")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.Server]:
    """A throwaway PostgreSQL server for the whole run, with a migrated template database."""
    with pg_server.running() as server:
        if isinstance(server, str):
            pg_server.unavailable(server)
            return
        from reviewkit.adapters.postgres import PostgresStore

        PostgresStore(server.create_database("reviewkit_template"), pool_size=1).close()
        yield server


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres: pg_server.Server) -> str:
    """The URL of a new database on the test server, with reviewkit's schema in place."""
    return postgres.create_database(f"test_{next(_databases)}", template="reviewkit_template")


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Store]:
    """Every store adapter: the tests that use this fixture are the storage contract."""
    if request.param == "memory":
        yield rk.InMemoryStore()
        return
    if request.param == "postgres":
        from reviewkit.adapters.postgres import PostgresStore

        url = request.getfixturevalue("postgres_url")
        with PostgresStore(url, pool_size=2) as postgres_store:
            yield postgres_store
        return
    sqlite_store = SQLiteStore(tmp_path / "reviewkit.sqlite3")
    yield sqlite_store
    sqlite_store.close()


@pytest.fixture
def service(store: rk.Store, reviewkit_clock: rk.ManualClock) -> rk.CampaignService:
    return rk.CampaignService(store, reviewkit_clock)


@pytest.fixture
def dispatcher(
    store: rk.Store,
    reviewkit_transport: rk.InMemoryTransport,
    reviewkit_clock: rk.ManualClock,
) -> rk.Dispatcher:
    return rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, worker_id="test-worker")


def office_window() -> rk.SendWindow:
    return rk.SendWindow(weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL"))


def make_campaign(
    service: rk.CampaignService,
    actor: rk.Actor,
    *,
    name: str = "reviews",
    recipients: int = 3,
    interval: timedelta = timedelta(seconds=30),
    start_at: datetime | None = None,
    schedule: bool = True,
    **overrides: object,
) -> rk.Campaign:
    """Create a campaign in Warsaw office hours with *recipients* recipients."""
    settings_: dict[str, object] = {
        "sender": "Shop <reviews@shop.example>",
        "subject": "How was order {{ recipient.transaction_id }}?",
        "body": "Hello {{ recipient.name }}, how did we do?",
        "timezone": "Europe/Warsaw",
        "window": office_window(),
        "interval": interval,
        "start_at": start_at or service.clock.now(),
    }
    settings_.update(overrides)
    service.create(actor, name=name, **settings_)  # type: ignore[arg-type]
    service.add_recipients(
        actor,
        name,
        [
            rk.Recipient(
                email=f"customer{i}@example.com", name=f"Customer {i}", transaction_id=f"T{i}"
            )
            for i in range(recipients)
        ],
    )
    if schedule:
        return service.schedule(actor, name)
    return service.get(actor, name)


def add_answer(
    store: rk.Store,
    campaign_id: str,
    address: str,
    *,
    score: int,
    at: datetime,
    segment: str | None = None,
    fields: dict[str, object] | None = None,
    kind: rk.SurveyType = rk.SurveyType.NPS,
) -> rk.Answer:
    """Store a request to *address* and an answer to it (for score tests)."""
    request = rk.Request(
        campaign_id=campaign_id,
        recipient=rk.Recipient(email=address, segment=segment, fields=fields or {}),
        channel=rk.Channel.EMAIL,
        address=address,
    )
    store.add_requests([request])
    return store.add_answer(
        rk.Answer(
            request_id=request.id,
            campaign_id=campaign_id,
            kind=kind,
            score=score,
            at=at,
            segment=segment,
        )
    )
