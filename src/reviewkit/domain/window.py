"""Send windows: on which days and at which hours messages may go out.

A window is judged on the *local wall clock* of a time zone: an instant is inside the window
when, read on a clock in that zone, its weekday is allowed, its date is not a holiday and its
time of day falls in one of the hour ranges. Everything else (DST gaps and repeated hours
included) follows from that one rule; :func:`openings` turns it into the real-time intervals
the scheduler works with.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from reviewkit.errors import WindowError

__all__ = [
    "WEEKDAY_NAMES",
    "HolidayCalendar",
    "HourRange",
    "SendWindow",
    "epoch_micros",
    "epoch_of",
    "load_zone",
    "openings",
    "parse_weekdays",
]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = 86_400
# No zone in the IANA database is further than this from UTC; used to bound searches.
_MAX_OFFSET = 15 * 3_600
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A window that has not opened in this many days never will (an all-holiday calendar, say).
_GIVE_UP_DAYS = 3 * 366


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone *name*.

    :raises WindowError: when the name is not a known IANA zone.
    """
    try:
        return _load_zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Warsaw'"
        ) from exc


@lru_cache(maxsize=256)
def _load_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_weekdays(text: str) -> frozenset[int]:
    """Parse ``"mon-fri"``, ``"mon,wed,fri"`` or ``"sat-sun,wed"`` into weekday numbers (Mon=0).

    :raises WindowError: on an unknown day name.
    """
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            lo = WEEKDAY_NAMES.index(first[:3])
            hi = WEEKDAY_NAMES.index(last[:3]) if last else lo
        except ValueError:
            raise WindowError(
                f"unknown weekday in {text!r}: use mon, tue, wed, thu, fri, sat, sun"
            ) from None
        day = lo
        days.add(day)
        while day != hi:
            day = (day + 1) % 7
            days.add(day)
    if not days:
        raise WindowError(f"no weekday in {text!r}")
    return frozenset(days)


_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@attrs.frozen(order=True)
class HourRange:
    """A half-open range of local time of day, ``[start, end)``, in seconds after midnight.

    ``end`` may be 86 400 (midnight at the end of the day). Build one with
    :meth:`parse` (``"09:00-17:00"``) or :meth:`of` (two :class:`datetime.time`).
    """

    start: int = attrs.field()
    end: int = attrs.field()

    @start.validator
    def _check_start(self, _: attrs.Attribute[int], value: int) -> None:
        if not 0 <= value < _DAY:
            raise WindowError(f"hour range start {value}s is outside the day")

    @end.validator
    def _check_end(self, _: attrs.Attribute[int], value: int) -> None:
        if not self.start < value <= _DAY:
            raise WindowError(
                f"hour range {_clock(self.start)}-{_clock(value)} is empty or runs past "
                "midnight: split a night range in two (22:00-24:00 and 00:00-06:00)"
            )

    @classmethod
    def parse(cls, text: str) -> HourRange:
        """Parse ``"HH:MM-HH:MM"`` (``24:00`` allowed as the end).

        :raises WindowError: on anything else.
        """
        match = _HOURS_RE.match(text.strip())
        if match is None:
            raise WindowError(f"hour range {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise WindowError(f"hour range {text!r} names a time that does not exist")
        return cls(h1 * 3_600 + m1 * 60, h2 * 3_600 + m2 * 60)

    @classmethod
    def of(cls, start: time, end: time | None) -> HourRange:
        """Build from two times of day; ``end=None`` means midnight at the end of the day."""
        return cls(_seconds_of(start), _DAY if end is None else _seconds_of(end))

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _seconds_of(moment: time) -> int:
    return moment.hour * 3_600 + moment.minute * 60 + moment.second


def _clock(seconds: int) -> str:
    return f"{seconds // 3_600:02d}:{seconds % 3_600 // 60:02d}"


def _to_dates(values: Iterable[date]) -> frozenset[date]:
    return frozenset(values)


@attrs.frozen
class HolidayCalendar:
    """Days on which nothing is sent: a country's public holidays plus the user's own dates.

    :param country: ISO 3166 country code understood by the ``holidays`` package (``"PL"``),
        or ``None`` for no public holidays.
    :param subdivision: a state, province or region code of that country, if it matters.
    :param extra_dates: the user's own closed days (a stock-taking day, a company holiday).
    :param working_dates: public holidays the user works on anyway (removed from the calendar).
    """

    country: str | None = None
    subdivision: str | None = None
    extra_dates: frozenset[date] = attrs.field(default=frozenset(), converter=_to_dates)
    working_dates: frozenset[date] = attrs.field(default=frozenset(), converter=_to_dates)

    def __attrs_post_init__(self) -> None:
        if self.country is not None:
            _public_holidays(self.country, self.subdivision, 2000)  # fail early on a bad code

    @classmethod
    def parse(cls, text: str) -> HolidayCalendar:
        """A country's calendar from ``"PL"`` or, with a subdivision, ``"DE-BY"`` (any case).

        :raises WindowError: an unknown country or subdivision.
        """
        country, _, subdivision = text.strip().partition("-")
        if not country:
            raise WindowError(f"holidays {text!r}: write a country code, e.g. PL or DE-BY")
        return cls(country.upper(), subdivision.upper() or None)

    def is_holiday(self, day: date) -> bool:
        """Return whether nothing may be sent on the local date *day*."""
        if day in self.extra_dates:
            return True
        if self.country is None or day in self.working_dates:
            return False
        return day in _public_holidays(self.country, self.subdivision, day.year)


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays

    try:
        calendar: Any = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise WindowError(
            f"no public-holiday calendar for country {country!r}: use an ISO 3166 code "
            "such as 'PL', 'DE' or 'US'"
        ) from exc
    except ValueError as exc:  # unknown subdivision or bad year
        raise WindowError(f"holiday calendar {country}/{subdivision}: {exc}") from exc
    return frozenset(calendar.keys())


def _to_weekdays(value: Iterable[int] | str) -> frozenset[int]:
    if isinstance(value, str):
        return parse_weekdays(value)
    return frozenset(value)


def _to_hours(value: Iterable[HourRange | str] | str) -> tuple[HourRange, ...]:
    if isinstance(value, str):
        value = value.split(",")
    ranges = sorted(HourRange.parse(v) if isinstance(v, str) else v for v in value)
    return tuple(ranges)


def _check_weekdays(_: object, __: attrs.Attribute[frozenset[int]], days: frozenset[int]) -> None:
    if not days:
        raise WindowError("a send window needs at least one weekday")
    bad = sorted(d for d in days if not 0 <= d <= 6)
    if bad:
        raise WindowError(f"weekday numbers {bad} are not 0 (Monday) to 6 (Sunday)")


def _check_hours(
    _: object, __: attrs.Attribute[tuple[HourRange, ...]], hours: tuple[HourRange, ...]
) -> None:
    if not hours:
        raise WindowError("a send window needs at least one hour range")
    for before, after in itertools.pairwise(hours):
        if after.start < before.end:
            raise WindowError(f"hour ranges {before} and {after} overlap")


@attrs.frozen
class SendWindow:
    """When messages may go out, read on a local wall clock.

    :param weekdays: allowed weekdays, Monday = 0 … Sunday = 6 (or a string like ``"mon-fri"``).
    :param hours: one or more non-overlapping :class:`HourRange` (or strings ``"09:00-17:00"``).
    :param holidays: closed dates; ``None`` for none.

    The default window is always open.
    """

    weekdays: frozenset[int] = attrs.field(
        default=frozenset(range(7)), converter=_to_weekdays, validator=_check_weekdays
    )
    hours: tuple[HourRange, ...] = attrs.field(
        default=(HourRange(0, _DAY),), converter=_to_hours, validator=_check_hours
    )
    holidays: HolidayCalendar | None = None

    def is_open_on(self, day: date) -> bool:
        """Return whether the local date *day* is a sending day at all."""
        if day.weekday() not in self.weekdays:
            return False
        return self.holidays is None or not self.holidays.is_holiday(day)

    def contains(self, instant: datetime, zone: ZoneInfo) -> bool:
        """Return whether the aware *instant*, read in *zone*, is inside the window."""
        if instant.tzinfo is None:
            raise WindowError("naive datetime: reviewkit needs timezone-aware datetimes")
        local = instant.astimezone(zone)
        if not self.is_open_on(local.date()):
            return False
        second = local.hour * 3_600 + local.minute * 60 + local.second
        return any(r.start <= second < r.end for r in self.hours)


def openings(window: SendWindow, zone: ZoneInfo, start: int) -> Iterator[tuple[int, int]]:
    """Yield the window's open intervals ``[open, close)`` in UTC epoch seconds, in order.

    Intervals are yielded from the one containing *start* (or the first after it) on, clipped
    to begin no earlier than *start*. Intervals never overlap; touching ones of one local
    day are merged (a repeated DST hour is one opening). The generator is endless for any
    window that opens.

    :raises WindowError: when the window stays shut for three years (every day a holiday).
    """
    pending: list[tuple[int, int]] = []
    held: tuple[int, int] | None = None
    day_ordinal = _local_ordinal(start, zone) - 1
    shut_days = 0
    while True:
        day = date.fromordinal(day_ordinal)
        if window.is_open_on(day):
            shut_days = 0
            for interval in _day_intervals(window.hours, zone, day_ordinal):
                if interval[1] > start:
                    heapq.heappush(pending, (max(interval[0], start), interval[1]))
        else:
            shut_days += 1
            if shut_days > _GIVE_UP_DAYS:
                raise WindowError(
                    f"the send window never opens in the {_GIVE_UP_DAYS} days after {day}"
                )
        day_ordinal += 1
        # Every instant of a later local date is at least this late in UTC, so whatever is
        # earlier is final: this keeps the order right where a zone repeats midnight.
        horizon = (day_ordinal - _EPOCH_ORDINAL) * _DAY - _MAX_OFFSET
        while pending and pending[0][0] < horizon:
            opened, closed = heapq.heappop(pending)
            if held is not None and opened <= held[1]:
                held = (held[0], max(held[1], closed))  # touching: one opening, not two
                continue
            if held is not None:
                yield held
            held = (opened, closed)
        # Hold an opening back only while a queued one touches it (a repeated hour split
        # across two offsets); openings meeting at midnight stay two, which the scheduler
        # treats the same, and an always-open window cannot hold forever.
        if held is not None and not (pending and pending[0][0] <= held[1]):
            yield held
            held = None


def _local_ordinal(epoch: int, zone: ZoneInfo) -> int:
    return datetime.fromtimestamp(epoch, zone).toordinal()


def _day_intervals(
    hours: tuple[HourRange, ...], zone: ZoneInfo, day_ordinal: int
) -> list[tuple[int, int]]:
    """Return the UTC intervals whose local wall-clock time is on that date within *hours*."""
    midnight = (day_ordinal - _EPOCH_ORDINAL) * _DAY  # the date's midnight as if it were UTC
    result: list[tuple[int, int]] = []
    for seg_start, seg_end, offset in _offset_segments(
        zone, midnight - _MAX_OFFSET, midnight + _DAY + _MAX_OFFSET
    ):
        for r in hours:
            lo = max(seg_start, midnight + r.start - offset)
            hi = min(seg_end, midnight + r.end - offset)
            if lo < hi:
                result.append((lo, hi))
    result.sort()
    return result


def _offset_at(zone: ZoneInfo, epoch: int) -> int:
    offset = datetime.fromtimestamp(epoch, zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _offset_segments(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Split UTC ``[lo, hi)`` into pieces of constant UTC offset: ``(start, end, offset)``."""
    segments: list[tuple[int, int, int]] = []
    while lo < hi:
        offset = _offset_at(zone, lo)
        # Probe every 6 hours so two transitions in one span are not mistaken for none.
        probe = lo
        change = hi
        while probe < hi:
            nxt = min(probe + 21_600, hi - 1)
            if nxt <= probe:
                break
            if _offset_at(zone, nxt) != offset:
                # Bisect to the first second with another offset.
                a, b = probe, nxt
                while b - a > 1:
                    mid = (a + b) // 2
                    if _offset_at(zone, mid) == offset:
                        a = mid
                    else:
                        b = mid
                change = b
                break
            probe = nxt
        segments.append((lo, change, offset))
        lo = change
    return segments


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(instant: datetime) -> int:
    """Return *instant* as whole UTC epoch microseconds (exact: no float on the way)."""
    delta = instant - _EPOCH
    return (delta.days * _DAY + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_of(instant: datetime) -> int:
    """Return *instant* as whole UTC epoch seconds, rounding a fraction of a second up."""
    if instant.tzinfo is None:
        raise WindowError("naive datetime: reviewkit needs timezone-aware datetimes")
    delta = instant - _EPOCH
    whole = delta.days * _DAY + delta.seconds
    return whole + (1 if delta.microseconds else 0)
