"""Instants in UTC: the one rule for time arithmetic inside reviewkit.

Python adds a :class:`~datetime.timedelta` to a zone-aware datetime on its wall clock, and
compares or subtracts two datetimes of the same zone on their wall clocks too, ignoring the
offset. Across a DST change that loses or repeats an hour. reviewkit therefore turns every
instant that reaches it (from a clock, a user, an event) into UTC before it computes with it;
local time is read only where a send window, a reporting period or a display needs it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reviewkit.errors import ValidationError

__all__ = ["as_utc"]


def as_utc(instant: datetime, what: str = "instant") -> datetime:
    """Return the aware *instant* as the same instant in UTC.

    :param what: names the value in the error message.
    :raises ValidationError: for a naive datetime, which names no instant.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationError(
            f"{what} {instant.isoformat()} is naive: reviewkit needs a timezone-aware datetime"
        )
    if instant.tzinfo is UTC:
        return instant
    return instant.astimezone(UTC)
