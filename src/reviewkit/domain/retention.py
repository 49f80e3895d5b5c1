"""How long reviewkit keeps each kind of data, and what a purge does past it.

- **personal data** of a request (the recipient's name, addresses, transaction, fields,
  consents; its address and error text), counted from when the request was made: the
  request is then anonymised as an erased contact's are — campaign, channel, segment,
  status, times, engagement and its answers' scores stay, so scores and reports keep their
  counts; suppressions stay (an address that asked not to be contacted must stay so).
- **comments** of answers, counted from the answer: the comment goes, the score stays.
- **engagement** (opened, clicked and delivered times), counted from the send: the times go;
  whether the request was answered stays with its answer.

``None`` keeps that kind for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from reviewkit.domain.instants import as_utc
from reviewkit.errors import ValidationError

__all__ = ["DEFAULT_RETENTION", "PurgeResult", "RetentionPolicy"]


def _check_span(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, timedelta) or value < timedelta(days=1)):
        raise ValidationError(f"retention of {attribute.name} must be at least a day, or None")


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """How long each kind of data is kept (``None``: for good).

    The defaults (``DEFAULT_RETENTION``) keep personal data three years, comments two
    years and engagement times one year: long enough for year-on-year reports, short
    enough that nothing lingers without a reason. Set your own to match your privacy notice.
    """

    personal_data: timedelta | None = attrs.field(
        default=timedelta(days=3 * 365), validator=_check_span
    )
    comments: timedelta | None = attrs.field(default=timedelta(days=2 * 365), validator=_check_span)
    engagement: timedelta | None = attrs.field(default=timedelta(days=365), validator=_check_span)

    def cutoffs(self, now: datetime) -> dict[str, datetime | None]:
        """For each kind, the instant before which its data goes (``None``: kept)."""
        now = as_utc(now)
        return {
            "personal_data": None if self.personal_data is None else now - self.personal_data,
            "comments": None if self.comments is None else now - self.comments,
            "engagement": None if self.engagement is None else now - self.engagement,
        }


DEFAULT_RETENTION = RetentionPolicy()
"""Three years of personal data, two of comments, one of engagement times."""


@attrs.frozen
class PurgeResult:
    """What one purge removed: requests anonymised, comments and engagement times cleared."""

    requests: int = 0
    comments: int = 0
    engagement: int = 0
