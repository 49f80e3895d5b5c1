"""The send window and the scheduler: inside the window, in order, paced, DST-correct."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.window import openings

ZONES = [
    "Europe/Warsaw",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight: a local midnight that repeats
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
]


def reference_plan(
    start: int,
    count: int,
    weekdays: frozenset[int],
    ranges: list[tuple[int, int]],
    closed: frozenset[date],
    zone: ZoneInfo,
    interval: int,
) -> list[int]:
    """Brute force: walk minute by minute, reading each instant on the local clock."""

    def allowed(t: int) -> bool:
        local = datetime.fromtimestamp(t, zone)
        second = local.hour * 3600 + local.minute * 60 + local.second
        return (
            local.weekday() in weekdays
            and local.date() not in closed
            and any(a <= second < b for a, b in ranges)
        )

    result: list[int] = []
    t = start
    while len(result) < count:
        while not allowed(t):
            t += 60
        result.append(t)
        t += interval
    return result


@st.composite
def hour_ranges(draw: st.DrawFn) -> list[tuple[int, int]]:
    # Quarter-hour edges, so ranges start and end inside DST gaps and repeated hours too.
    edges = sorted(draw(st.sets(st.integers(0, 96), min_size=2, max_size=6)))
    pairs = [(edges[i] * 900, edges[i + 1] * 900) for i in range(0, len(edges) - 1, 2)]
    return [p for p in pairs if p[0] < p[1]] or [(9 * 3600, 17 * 3600)]


# Start dates near the 2026 DST changes of the zones above.
START_DAYS = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 4, 5),
    date(2026, 9, 6),
    date(2026, 9, 27),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2026, 12, 20),
]


@given(
    zone_name=st.sampled_from(ZONES),
    day=st.sampled_from(START_DAYS),
    minute=st.integers(-2 * 24 * 60, 2 * 24 * 60),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    ranges=hour_ranges(),
    interval_minutes=st.sampled_from([0, 1, 7, 30, 45, 90, 200]),
    count=st.integers(1, 30),
    use_holidays=st.booleans(),
)
def test_plan_equals_minute_by_minute_reference(
    zone_name: str,
    day: date,
    minute: int,
    weekdays: set[int],
    ranges: list[tuple[int, int]],
    interval_minutes: int,
    count: int,
    use_holidays: bool,
) -> None:
    """The plan equals a brute-force walk of the local clock, DST and holidays included."""
    zone = rk.load_zone(zone_name)
    start = datetime.combine(day, time(0), zone) + timedelta(minutes=minute)
    calendar = rk.HolidayCalendar("PL") if use_holidays else None
    closed = (
        frozenset(
            itertools.chain.from_iterable(
                holidays.country_holidays("PL", years=y).keys() for y in (2026, 2027)
            )
        )
        if use_holidays
        else frozenset()
    )
    window = rk.SendWindow(
        weekdays=weekdays, hours=[rk.HourRange(a, b) for a, b in ranges], holidays=calendar
    )
    plan = rk.plan_send_times(start, count, window, zone, timedelta(minutes=interval_minutes))
    expected = reference_plan(
        int(start.timestamp()),
        count,
        frozenset(weekdays),
        ranges,
        closed,
        zone,
        interval_minutes * 60,
    )
    assert list(plan.timestamps()) == expected


@given(
    zone_name=st.sampled_from(ZONES),
    day=st.sampled_from(START_DAYS),
    minute=st.integers(0, 7 * 24 * 60),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    ranges=hour_ranges(),
    interval_seconds=st.integers(1, 4 * 3600),
    count=st.integers(1, 300),
)
def test_plan_is_inside_window_ordered_and_paced(
    zone_name: str,
    day: date,
    minute: int,
    weekdays: set[int],
    ranges: list[tuple[int, int]],
    interval_seconds: int,
    count: int,
) -> None:
    """Every planned time is inside the window, never goes back, and keeps the interval."""
    zone = rk.load_zone(zone_name)
    start = datetime.combine(day, time(0), zone) + timedelta(minutes=minute)
    window = rk.SendWindow(weekdays=weekdays, hours=[rk.HourRange(a, b) for a, b in ranges])
    times = list(
        rk.plan_send_times(start, count, window, zone, timedelta(seconds=interval_seconds))
    )
    assert len(times) == count
    assert times[0].timestamp() >= start.timestamp()  # real time, not wall-clock
    for moment in times:
        assert window.contains(moment, zone)
    for before, after in itertools.pairwise(times):
        # Compare real elapsed time: datetimes sharing one tzinfo subtract as wall-clock times.
        assert after.timestamp() - before.timestamp() >= interval_seconds


@given(
    zone_name=st.sampled_from(ZONES),
    day=st.sampled_from(START_DAYS),
    minute=st.integers(0, 7 * 24 * 60),
    ranges=hour_ranges(),
)
def test_openings_are_ordered_disjoint_and_exactly_the_window(
    zone_name: str, day: date, minute: int, ranges: list[tuple[int, int]]
) -> None:
    """Openings never overlap, come in order, and their edges are where the window flips."""
    zone = rk.load_zone(zone_name)
    window = rk.SendWindow(weekdays="mon-sat", hours=[rk.HourRange(a, b) for a, b in ranges])
    start = int((datetime.combine(day, time(0), zone) + timedelta(minutes=minute)).timestamp())
    found = list(itertools.islice(openings(window, zone, start), 21))
    previous_end = start
    for (opened, closed), (next_open, _) in itertools.pairwise(found):
        assert previous_end <= opened < closed
        assert window.contains(datetime.fromtimestamp(opened, UTC), zone)
        assert window.contains(datetime.fromtimestamp(closed - 1, UTC), zone)
        # The window shuts at the close, unless the next opening starts right there
        # (openings of two local days meeting at midnight are not merged).
        shut = not window.contains(datetime.fromtimestamp(closed, UTC), zone)
        assert shut or next_open == closed
        previous_end = closed


def test_next_send_time_skips_night_weekend_and_holiday() -> None:
    """After Wednesday 23 Dec 2026 17:00 in Warsaw, the next time is Monday 28 Dec 09:00."""
    zone = rk.load_zone("Europe/Warsaw")
    window = rk.SendWindow(
        weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL")
    )
    after = datetime(2026, 12, 23, 17, 0, tzinfo=zone)
    # 24 Dec (a public holiday in Poland since 2025), 25 and 26 Dec, then the weekend.
    assert rk.next_send_time(after, window, zone) == datetime(2026, 12, 28, 9, 0, tzinfo=zone)


def test_next_send_time_returns_the_instant_itself_when_open() -> None:
    """An instant inside the window is its own next send time."""
    zone = rk.load_zone("Europe/Warsaw")
    window = rk.SendWindow(weekdays="mon-fri", hours="09:00-17:00")
    now = datetime(2026, 1, 5, 12, 34, 56, tzinfo=zone)
    assert rk.next_send_time(now, window, zone) == now


def test_window_hour_in_a_dst_gap_opens_when_the_clock_jumps() -> None:
    """A 02:30 that does not exist (Warsaw, 29 Mar 2026) opens at 03:00 local, the jump."""
    zone = rk.load_zone("Europe/Warsaw")
    window = rk.SendWindow(hours="02:30-04:00")
    after = datetime(2026, 3, 29, 0, 0, tzinfo=zone)
    first = rk.next_send_time(after, window, zone)
    assert first == datetime(2026, 3, 29, 3, 0, tzinfo=zone)
    assert first.utcoffset() == timedelta(hours=2)


def test_window_hour_that_repeats_is_open_both_times() -> None:
    """02:30 exists twice on 25 Oct 2026 in Warsaw; a 02:00-03:00 window is open 2 real hours."""
    zone = rk.load_zone("Europe/Warsaw")
    window = rk.SendWindow(hours="02:00-03:00")
    start = int(datetime(2026, 10, 25, 0, 0, tzinfo=zone).timestamp())
    opened, closed = next(openings(window, zone, start))
    assert closed - opened == 2 * 3600
    plan = rk.plan_send_times(
        datetime(2026, 10, 25, 0, 0, tzinfo=zone), 5, window, zone, timedelta(minutes=30)
    )
    assert [t.strftime("%H:%M%z") for t in plan] == [
        "02:00+0200",
        "02:30+0200",
        "02:00+0100",
        "02:30+0100",
        "02:00+0100",
    ]


def test_plan_of_a_million_is_lazy_runs() -> None:
    """Planning a million messages yields runs, one per opening, summing to the count."""
    zone = rk.load_zone("Europe/Warsaw")
    window = rk.SendWindow(
        weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL")
    )
    plan = rk.plan_send_times(
        datetime(2026, 12, 20, 9, 0, tzinfo=zone), 1_000_000, window, zone, timedelta(seconds=2)
    )
    runs = list(plan.runs())
    assert sum(r.count for r in runs) == 1_000_000
    assert all(r.count <= 4 * 3600 for r in runs)
    assert len(runs) == 70


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat-sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("mon,wed,fri", {0, 2, 4}),
        ("Monday", {0}),
    ],
)
def test_weekday_parsing(text: str, expected: set[int]) -> None:
    """Weekday strings parse into Monday=0 numbers, ranges wrapping the week."""
    assert rk.SendWindow(weekdays=text).weekdays == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekdays": "mon-frx"}, "unknown weekday"),
        ({"weekdays": set()}, "at least one weekday"),
        ({"hours": "9-17"}, "is not HH:MM-HH:MM"),
        ({"hours": "17:00-09:00"}, "split a night range"),
        ({"hours": "25:00-26:00"}, "does not exist"),
        ({"hours": "09:00-12:00,11:00-13:00"}, "overlap"),
        ({"hours": []}, "at least one hour range"),
    ],
)
def test_bad_window_is_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    """A malformed window raises WindowError saying what is wrong."""
    with pytest.raises(rk.WindowError, match=message):
        rk.SendWindow(**kwargs)  # type: ignore[arg-type]


def test_unknown_zone_and_country_are_clear_errors() -> None:
    """An unknown time zone or holiday country names the bad value."""
    with pytest.raises(rk.WindowError, match="Mars/Olympus"):
        rk.load_zone("Mars/Olympus")
    with pytest.raises(rk.WindowError, match="'XX'"):
        rk.HolidayCalendar("XX")


def test_window_that_never_opens_is_an_error() -> None:
    """A window closed on every day by the user's own dates is refused, not looped on forever."""
    zone = rk.load_zone("UTC")
    days = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(4 * 366))
    window = rk.SendWindow(holidays=rk.HolidayCalendar(extra_dates=days))
    with pytest.raises(rk.WindowError, match="never opens"):
        rk.next_send_time(datetime(2026, 1, 1, tzinfo=zone), window, zone)


def test_naive_datetime_is_refused() -> None:
    """Naive datetimes are an error, not silently read as UTC."""
    with pytest.raises(rk.WindowError, match="naive"):
        rk.next_send_time(datetime(2026, 1, 1), rk.SendWindow(), rk.load_zone("UTC"))  # noqa: DTZ001


def test_user_dates_add_and_remove_holidays() -> None:
    """Extra dates close a day; working dates reopen a public holiday."""
    cal = rk.HolidayCalendar("PL", extra_dates={date(2026, 1, 7)}, working_dates={date(2026, 1, 6)})
    assert cal.is_holiday(date(2026, 1, 7))
    assert not cal.is_holiday(date(2026, 1, 6))  # Epiphany, worked anyway
    assert cal.is_holiday(date(2026, 11, 11))


def test_always_open_window_plans_across_midnight() -> None:
    """The default window is open around the clock: a plan crosses midnight without a gap."""
    zone = rk.load_zone("Europe/Warsaw")
    start = datetime(2026, 1, 5, 22, 0, tzinfo=zone)
    plan = rk.plan_send_times(start, 5, rk.SendWindow(), zone, timedelta(hours=1))
    assert [t.hour for t in plan] == [22, 23, 0, 1, 2]
    assert rk.next_send_time(start, rk.SendWindow(), zone) == start


# Poland's public holidays (Dz.U. 1951 nr 4 poz. 28 as amended; 24 December from 2025 on).
POLISH_HOLIDAYS = {
    2026: [
        (1, 1), (1, 6), (4, 5), (4, 6), (5, 1), (5, 3), (5, 24), (6, 4),
        (8, 15), (11, 1), (11, 11), (12, 24), (12, 25), (12, 26),
    ],
    2027: [
        (1, 1), (1, 6), (3, 28), (3, 29), (5, 1), (5, 3), (5, 16), (5, 27),
        (8, 15), (11, 1), (11, 11), (12, 24), (12, 25), (12, 26),
    ],
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(POLISH_HOLIDAYS))
def test_polish_calendar_is_the_statutory_one(year: int) -> None:
    """Every day of the year is a holiday exactly when Polish law says so, Christmas Eve too."""
    cal = rk.HolidayCalendar("PL")
    expected = {date(year, m, d) for m, d in POLISH_HOLIDAYS[year]}
    day, found = date(year, 1, 1), set()
    while day.year == year:
        if cal.is_holiday(day):
            found.add(day)
        day += timedelta(days=1)
    assert found == expected
