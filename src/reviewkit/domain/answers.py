"""Answers to survey requests: a score on the survey's scale and an optional comment.

One answer counts per request. A second answer within the survey's expiry replaces the
first; the replaced one is kept, marked not current, so the history stays.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.ids import new_id
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.survey import SurveyType
from reviewkit.errors import ValidationError

__all__ = ["Answer"]


def _check_aware(_: object, __: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None:
        raise ValidationError("an answer time must be timezone-aware")


@attrs.frozen(kw_only=True)
class Answer:
    """One answer.

    :ivar current: whether it is the answer that counts (a later one replaced it if not).
    :ivar segment: the request's customer segment, kept with the answer for grouping.
    :ivar hook_done: the host's answer hook has taken it.
    :ivar hook_attempts: how often the hook failed on it.
    """

    id: str = attrs.field(factory=new_id)
    request_id: str
    campaign_id: str
    kind: SurveyType
    score: int
    comment: str | None = None
    at: datetime = attrs.field(validator=_check_aware)
    channel: Channel = Channel.EMAIL
    segment: str | None = None
    current: bool = True
    hook_done: bool = False
    hook_attempts: int = 0
    hook_error: str | None = None
    hook_next_at: datetime | None = None

    delivery_id = renamed_attribute("delivery_id", "request_id")
