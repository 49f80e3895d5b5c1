"""The dispatcher computes in UTC: a clock shown in any zone sends at the same instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.testing import clock_at
from tests.test_window import ZONES, hour_ranges, reference_plan

ACTOR = rk.Actor.system(email="owner@shop.example")


def send_times(
    clock: rk.ManualClock,
    *,
    zone: str,
    window: rk.SendWindow,
    interval: timedelta,
    count: int,
) -> list[datetime]:
    """Run a campaign of *count* requests to completion on *clock*; return the send instants."""
    store, outbox = rk.InMemoryStore(), rk.InMemoryTransport()
    service = rk.CampaignService(store, clock)
    service.create(
        ACTOR,
        name="dst",
        sender="Shop <reviews@shop.example>",
        subject="Order {{ recipient.transaction_id }}",
        body="Hello",
        timezone=zone,
        window=window,
        interval=interval,
        start_at=clock.now(),
    )
    service.add_recipients(
        ACTOR,
        "dst",
        [rk.Recipient(email=f"c{i}@example.com", transaction_id=f"T{i}") for i in range(count)],
    )
    service.schedule(ACTOR, "dst")
    rk.Dispatcher(store, outbox, clock, worker_id="w").run(max_passes=20 * count + 20)
    assert len(outbox.sent) == count
    return [m.created_at for m in outbox.sent]


@pytest.mark.parametrize(
    ("zone", "night", "hours"),
    [
        ("Europe/Warsaw", date(2026, 10, 25), "02:00-03:00"),
        ("America/New_York", date(2026, 11, 1), "01:00-02:00"),
    ],
)
def test_a_repeated_hour_is_sent_in_twice(zone: str, night: date, hours: str) -> None:
    """On the night clocks go back, a window on the repeated hour is open for both of them."""
    tz = rk.load_zone(zone)
    start = datetime.combine(night, time.fromisoformat(hours[:5]), tz)
    clock = rk.ManualClock(start)
    window = rk.SendWindow(hours=hours)
    times = send_times(clock, zone=zone, window=window, interval=timedelta(minutes=20), count=8)
    first = start.astimezone(UTC)
    expected = [first + timedelta(minutes=20 * i) for i in range(6)]
    # The seventh waits for the window of the next night, which is one hour long again.
    next_night = datetime.combine(night + timedelta(days=1), time.fromisoformat(hours[:5]), tz)
    expected += [next_night.astimezone(UTC), next_night.astimezone(UTC) + timedelta(minutes=20)]
    assert times == expected


START_DAYS = [
    date(2026, 3, 8),  # New York springs forward
    date(2026, 3, 29),  # Warsaw springs forward
    date(2026, 4, 5),  # Lord Howe and Santiago fall back
    date(2026, 9, 6),  # Santiago springs forward
    date(2026, 9, 27),  # Chatham springs forward
    date(2026, 10, 4),  # Lord Howe springs forward
    date(2026, 10, 25),  # Warsaw falls back
    date(2026, 11, 1),  # New York falls back
]


@given(
    zone_name=st.sampled_from(ZONES),
    day=st.sampled_from(START_DAYS),
    minute=st.integers(-18 * 60, 30 * 60),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    ranges=hour_ranges(),
    interval_minutes=st.sampled_from([1, 7, 20, 30, 45, 90]),
    count=st.integers(1, 10),
)
def test_dispatcher_sends_at_the_reference_instants_on_a_clock_in_any_zone(
    zone_name: str,
    day: date,
    minute: int,
    weekdays: set[int],
    ranges: list[tuple[int, int]],
    interval_minutes: int,
    count: int,
) -> None:
    """Across DST nights the dispatcher's send instants equal a minute-by-minute walk of
    the local clock, and a clock shown in UTC gives the very same instants."""
    zone = rk.load_zone(zone_name)
    start = datetime.fromtimestamp(
        datetime.combine(day, time(0), zone).timestamp() + minute * 60, UTC
    )
    window = rk.SendWindow(weekdays=weekdays, hours=[rk.HourRange(a, b) for a, b in ranges])
    interval = timedelta(minutes=interval_minutes)
    plan = {"zone": zone_name, "window": window, "interval": interval, "count": count}
    local = send_times(rk.ManualClock(start, zone=zone), **plan)  # type: ignore[arg-type]
    in_utc = send_times(rk.ManualClock(start), **plan)  # type: ignore[arg-type]
    expected = reference_plan(
        int(start.timestamp()), count, frozenset(weekdays), ranges, frozenset(), zone,
        interval_minutes * 60,
    )  # fmt: skip
    assert [int(t.timestamp()) for t in local] == expected
    assert local == in_utc


# -- the manual clock ---------------------------------------------------------------------


def test_advance_moves_real_elapsed_time_across_a_dst_change() -> None:
    """24 hours from Saturday 09:00 before spring-forward is Sunday 10:00 summer time."""
    warsaw = rk.load_zone("Europe/Warsaw")
    clock = rk.ManualClock(datetime(2026, 3, 28, 9, 0, tzinfo=warsaw))
    after = clock.advance(timedelta(hours=24))
    assert after == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert (after.hour, after.utcoffset()) == (10, timedelta(hours=2))
    assert clock.now().tzinfo is warsaw


def test_sleep_until_inside_the_repeated_hour_only_moves_forward() -> None:
    """02:10 of the second pass of 02:00 is later than 02:30 of the first pass."""
    warsaw = rk.load_zone("Europe/Warsaw")
    clock = rk.ManualClock(datetime(2026, 10, 25, 2, 30, tzinfo=warsaw))  # CEST, fold 0
    later = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=warsaw)  # CET
    clock.sleep_until(later)
    assert clock.now() == later
    assert clock.now().astimezone(UTC) == datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    clock.sleep_until(datetime(2026, 10, 25, 2, 20, tzinfo=warsaw))  # earlier: no move
    assert clock.now() == later


@pytest.mark.reviewkit_now("2026-03-29T01:30:00+01:00")
def test_marker_with_an_offset_shows_a_zone_that_changes_to_summer_time(
    reviewkit_clock: rk.ManualClock,
) -> None:
    """An offset in the marker fixes the instant; the clock still shows Warsaw's DST."""
    assert reviewkit_clock.now().utcoffset() == timedelta(hours=1)
    after = reviewkit_clock.advance(timedelta(hours=1))
    assert (after.hour, after.minute, after.utcoffset()) == (3, 30, timedelta(hours=2))


@pytest.mark.reviewkit_now("2026-03-08T01:30:00-05:00[America/New_York]")
def test_marker_names_the_zone_in_brackets(reviewkit_clock: rk.ManualClock) -> None:
    """An RFC 9557 zone suffix makes the clock show that zone."""
    after = reviewkit_clock.advance(timedelta(hours=1))
    assert (after.hour, after.utcoffset()) == (3, timedelta(hours=-4))


@pytest.mark.reviewkit_now("2026-10-25T02:30:00", zone="Europe/Warsaw")
def test_marker_reads_a_time_without_offset_in_its_zone(reviewkit_clock: rk.ManualClock) -> None:
    """A wall-clock time is read in the marker's zone (the first of a repeated hour)."""
    assert reviewkit_clock.now().astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_marker_refuses_two_zones_that_disagree() -> None:
    """A bracketed zone and a zone keyword that differ are an error, not a guess."""
    with pytest.raises(rk.ValidationError, match="two zones"):
        clock_at("2026-01-01T00:00:00+00:00[UTC]", "Europe/Warsaw")


def test_services_store_instants_in_utc(reviewkit_clock: rk.ManualClock) -> None:
    """A clock shown in Warsaw gives UTC creation and due times to stored campaigns."""
    service = rk.CampaignService(rk.InMemoryStore(), reviewkit_clock)
    campaign = service.create(ACTOR, name="c", start_at=reviewkit_clock.now())
    assert campaign.created_at is not None
    assert campaign.created_at.tzinfo is UTC
    assert campaign.start_at == reviewkit_clock.now()
    assert campaign.start_at is not None
    assert campaign.start_at.tzinfo is UTC
