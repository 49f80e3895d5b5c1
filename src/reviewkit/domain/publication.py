"""Reviews that may be published: an answer whose customer consented to publication,
approved by a moderator, shown with a first name and an initial.

Nothing is published without both the customer's ``publication`` consent (checked when it
is approved and again whenever the feed is read, so an erased contact's review goes down)
and a moderator's approval of that very answer (a changed answer is moderated again).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import date, datetime

import attrs

from reviewkit.domain.consent import PUBLICATION, Consent
from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Request
from reviewkit.domain.survey import SurveyType
from reviewkit.errors import ValidationError

__all__ = [
    "Moderation",
    "ModerationState",
    "PublishedReview",
    "author_name",
    "may_publish",
]


class ModerationState(enum.StrEnum):
    """A moderator's decision on one answer."""

    APPROVED = "approved"
    """May be published (while the customer's consent holds)."""
    HIDDEN = "hidden"
    """Not published, for the reason given."""


def _check_by(_: object, __: object, value: str) -> None:
    if not value.strip():
        raise ValidationError("a moderation needs the moderator's name")


@attrs.frozen(kw_only=True)
class Moderation:
    """A moderator's decision on one answer, with who made it, when, and (to hide) why."""

    answer_id: str
    state: ModerationState = attrs.field(converter=ModerationState)
    by: str = attrs.field(validator=_check_by)
    at: datetime = attrs.field(converter=as_utc)
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.state is ModerationState.HIDDEN and not (self.reason or "").strip():
            raise ValidationError("hiding a review needs a reason")


@attrs.frozen
class PublishedReview:
    """One review as the shop's site shows it.

    :ivar author: the first name and the initial of the last (``Anna N.``), or
        ``"Customer"`` when no name is known.
    :ivar day: the day it was given, on the feed's calendar.
    """

    answer_id: str
    kind: SurveyType
    score: int
    comment: str | None
    author: str
    day: date


def may_publish(request: Request, consents: Mapping[str, Consent] | None = None) -> bool:
    """Whether the customer of *request* consents to publication (granted, not withdrawn):
    by *consents* (those that hold now, when the consent log was read) or else by those the
    request came with."""
    consent = (request.recipient.consents if consents is None else consents).get(PUBLICATION)
    return consent is not None and consent.granted


def author_name(name: str | None) -> str:
    """How a review is signed: ``"Anna Nowak-Kowalska"`` → ``"Anna N."``; one word stays
    as it is; no name (or nothing but symbols) → ``"Customer"``. Only letters, hyphens and
    apostrophes are kept, so markup or an e-mail address in a name field shows no more
    than a name."""
    text = re.sub(r"<[^>]*>", " ", name or "")  # markup pasted into a name field
    words = [_letters(w) for w in text.split()]
    words = [w for w in words if w]
    if not words:
        return "Customer"
    if len(words) == 1:
        return words[0]
    initial = next(c for c in words[-1] if c.isalpha())
    return f"{words[0]} {initial.upper()}."


def _letters(word: str) -> str:
    kept = "".join(c for c in word if c.isalpha() or c in "-'")
    return kept if any(c.isalpha() for c in kept) else ""
