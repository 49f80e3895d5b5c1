"""Plan send times for N messages: the library's plan against a straightforward loop.

The window: Mon-Fri 09:00-17:00 Europe/Warsaw, Polish public holidays, a 2 s interval,
starting 2026-12-20 09:00 local. Both produce UTC epoch seconds; the benchmark checks that
they are identical on the whole run before timing them.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

import reviewkit as rk
from benchmarks.common import Row, median_time, peak_memory

ZONE_NAME = "Europe/Warsaw"
INTERVAL = 2
OPEN_S, CLOSE_S = 9 * 3600, 17 * 3600
WEEKDAYS = frozenset(range(5))


def _offset(zone: ZoneInfo, t: int) -> int:
    off = datetime.fromtimestamp(t, zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _transitions(zone: ZoneInfo, start: int, days: int) -> list[int]:
    """UTC instants where the offset changes, found hourly then to the second."""
    found = []
    t, off = start, _offset(zone, start)
    for _ in range(days * 24):
        nxt = t + 3600
        if _offset(zone, nxt) != off:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == off:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            off = _offset(zone, nxt)
        t = nxt
    return found


def baseline_plan(
    start: int, count: int, zone: ZoneInfo, closed_days: frozenset[int]
) -> Iterator[int]:
    """A well-written straightforward loop over UTC seconds, reading the local clock by offset."""
    changes = [*_transitions(zone, start, count // (8 * 3600 // INTERVAL) * 2 + 60), 2**62]
    change_index = 0
    offset = _offset(zone, start)
    t = start
    n = 0
    while n < count:
        if t >= changes[change_index]:
            offset = _offset(zone, t)
            while t >= changes[change_index]:
                change_index += 1
        local = t + offset
        day = local // 86400
        second = local - day * 86400
        if (day + 3) % 7 in WEEKDAYS and day not in closed_days and OPEN_S <= second < CLOSE_S:
            yield t
            n += 1
            t += INTERVAL
        elif second < OPEN_S:
            t += OPEN_S - second
        else:
            t += 86400 - second + OPEN_S


def run(n: int, repeat: int) -> list[Row]:
    zone = rk.load_zone(ZONE_NAME)
    start_dt = datetime(2026, 12, 20, 9, 0, tzinfo=zone)
    start = int(start_dt.timestamp())
    years = range(2026, 2026 + n // 2_000_000 + 3)
    closed = frozenset(
        (d - date(1970, 1, 1)).days
        for d in itertools.chain.from_iterable(
            holidays.country_holidays("PL", years=y) for y in years
        )
    )
    window = rk.SendWindow(
        weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL")
    )

    def library() -> Iterator[int]:
        plan = rk.plan_send_times(start_dt, n, window, zone, timedelta(seconds=INTERVAL))
        return plan.timestamps()

    # Identical on the whole run, compared pairwise so nothing is held in memory.
    mismatches = sum(
        1
        for a, b in itertools.zip_longest(library(), baseline_plan(start, n, zone, closed))
        if a != b
    )
    if mismatches:
        raise SystemExit(f"scheduler benchmark: library and baseline differ at {mismatches} times")

    drain = collections.deque
    base = median_time(lambda: drain(baseline_plan(start, n, zone, closed), maxlen=0), repeat)
    lib = median_time(lambda: drain(library(), maxlen=0), repeat)
    plan = rk.plan_send_times(start_dt, n, window, zone, timedelta(seconds=INTERVAL))
    runs = median_time(lambda: drain(plan.runs(), maxlen=0), repeat)
    datetimes = median_time(lambda: drain(iter(plan), maxlen=0), max(1, repeat // 2))

    small = max(n // 100, 1000)
    mem_small = peak_memory(
        lambda: drain(
            rk.plan_send_times(
                start_dt, small, window, zone, timedelta(seconds=INTERVAL)
            ).timestamps(),
            maxlen=0,
        )
    )
    mem_full = peak_memory(lambda: drain(library(), maxlen=0))
    return [
        Row("plan send times", "baseline loop (UTC ints)", n, base),
        Row(
            "plan send times",
            "reviewkit plan.timestamps()",
            n,
            lib,
            base,
            f"identical on all {n:,}; peak {mem_full / 1024:.0f} KiB "
            f"(n={small:,}: {mem_small / 1024:.0f} KiB)",
        ),
        Row("plan send times", "reviewkit plan.runs() (compact)", n, runs, base),
        Row("plan send times", "reviewkit iter(plan) (datetimes)", n, datetimes, base),
    ]
