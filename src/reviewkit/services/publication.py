"""Publishing reviews: moderate the answers whose customers consented, and read the approved
ones as a feed for the shop's site (JSON, or an HTML fragment to embed).

::

    reviews = PublicationService(store, clock)
    for answer, request in reviews.awaiting(limit=20):     # the moderator's queue
        ...
    reviews.approve(answer.id, by="ola")
    reviews.hide(other.id, by="ola", reason="names a member of staff")
    html = reviews.feed_html(limit=10, timezone="Europe/Warsaw")
"""

from __future__ import annotations

import html
import json
from datetime import timedelta

from reviewkit.domain.answers import Answer
from reviewkit.domain.instants import as_utc
from reviewkit.domain.publication import (
    Moderation,
    ModerationState,
    PublishedReview,
    author_name,
    may_publish,
)
from reviewkit.domain.request import Request
from reviewkit.domain.survey import DEFAULT_SCALES
from reviewkit.domain.window import load_zone
from reviewkit.errors import ValidationError
from reviewkit.ports import Clock, Store
from reviewkit.services.consent import consents_now

__all__ = ["PublicationService"]


class PublicationService:
    """Moderate and publish reviews; nothing without the customer's consent."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def awaiting(
        self, *, limit: int = 50, since: timedelta = timedelta(days=90)
    ) -> list[tuple[Answer, Request]]:
        """Answers of the last *since* with a comment whose customer consented to
        publication and that no moderator decided on yet, oldest first."""
        start = as_utc(self.clock.now()) - since
        found: list[tuple[Answer, Request]] = []
        page: list[Answer] = []
        for answer in self.store.iter_answers(since=start):
            if answer.comment:
                page.append(answer)
            if len(page) == 200:
                found += self._undecided(page)
                page = []
                if len(found) >= limit:
                    return found[:limit]
        return (found + self._undecided(page))[:limit]

    def _undecided(self, answers: list[Answer]) -> list[tuple[Answer, Request]]:
        """Those of *answers* no moderator decided on whose customer consents, with their
        requests (one moderation lookup for the lot)."""
        decided = self.store.moderations_of([a.id for a in answers])
        found = []
        for answer in answers:
            if answer.id in decided:
                continue
            request = self.store.get_request(answer.request_id)
            if may_publish(request, consents_now(self.store, request)):
                found.append((answer, request))
        return found

    def approve(self, answer_id: str, *, by: str) -> Moderation:
        """Approve an answer for publication.

        :raises ValidationError: the customer has not consented, or the answer was replaced
            by a newer one (approve that instead).
        :raises NotFoundError: no such answer.
        """
        answer, request = self._answer(answer_id)
        if not may_publish(request, consents_now(self.store, request)):
            raise ValidationError(
                f"answer {answer_id}: the customer has not consented to publication"
            )
        if not answer.current:
            raise ValidationError(f"answer {answer_id} was replaced by a newer answer")
        return self._decide(answer_id, ModerationState.APPROVED, by, None)

    def hide(self, answer_id: str, *, by: str, reason: str) -> Moderation:
        """Keep an answer off the feed, for *reason*.

        :raises ValidationError: no reason given.
        :raises NotFoundError: no such answer.
        """
        self._answer(answer_id)
        return self._decide(answer_id, ModerationState.HIDDEN, by, reason)

    def _decide(
        self, answer_id: str, state: ModerationState, by: str, reason: str | None
    ) -> Moderation:
        moderation = Moderation(
            answer_id=answer_id, state=state, by=by, at=as_utc(self.clock.now()), reason=reason
        )
        self.store.save_moderation(moderation)
        return moderation

    def _answer(self, answer_id: str) -> tuple[Answer, Request]:
        answer = self.store.get_answer(answer_id)
        return answer, self.store.get_request(answer.request_id)

    def feed(self, *, limit: int = 20, timezone: str = "UTC") -> list[PublishedReview]:
        """The approved reviews whose customers still consent, newest first.

        :raises ValidationError: an unknown time zone.
        """
        zone = load_zone(timezone)
        found = []
        for answer in self.store.approved_answers(limit=limit * 2 + 10):
            request = self.store.get_request(answer.request_id)
            if not may_publish(request, consents_now(self.store, request)):
                continue  # the consent was withdrawn (or the contact erased) since
            found.append(
                PublishedReview(
                    answer_id=answer.id,
                    kind=answer.kind,
                    score=answer.score,
                    comment=answer.comment,
                    author=author_name(request.recipient.name),
                    day=answer.at.astimezone(zone).date(),
                )
            )
            if len(found) >= limit:
                break
        return found

    def feed_json(self, *, limit: int = 20, timezone: str = "UTC") -> str:
        """The feed as a JSON array of ``{kind, score, out_of, comment, author, date}``."""
        return json.dumps(
            [
                {
                    "kind": r.kind.value,
                    "score": r.score,
                    "out_of": DEFAULT_SCALES[r.kind][1],
                    "comment": r.comment,
                    "author": r.author,
                    "date": r.day.isoformat(),
                }
                for r in self.feed(limit=limit, timezone=timezone)
            ],
            ensure_ascii=False,
        )

    def feed_html(self, *, limit: int = 20, timezone: str = "UTC") -> str:
        """The feed as an HTML fragment to embed in the shop's page: a list of
        ``<article>`` elements with class names to style, everything escaped, no scripts."""
        items = []
        for r in self.feed(limit=limit, timezone=timezone):
            comment = html.escape(r.comment or "")
            items.append(
                '<article class="reviewkit-review">'
                f'<p class="reviewkit-score">{r.score}/{DEFAULT_SCALES[r.kind][1]}</p>'
                f'<blockquote class="reviewkit-comment">{comment}</blockquote>'
                f'<p class="reviewkit-author">{html.escape(r.author)}, '
                f'<time datetime="{r.day.isoformat()}">{r.day.isoformat()}</time></p>'
                "</article>"
            )
        return f'<section class="reviewkit-reviews">{"".join(items)}</section>'
