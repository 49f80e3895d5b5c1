"""Answers to survey requests: recorded from a signed answer token, handed to the host.

::

    answers = AnswerService(store, clock, signer)
    answers.on_answer(lambda answer, request, survey: crm.comment(...))
    answers.record(token, score=9, comment="Quick and friendly")

A request has one current answer: a second one within the survey's expiry replaces it and
the first is kept as history. An expired survey, a tampered token, a score off the scale or
a comment the survey does not take are refused with a clear error and change nothing.

An open survey link (:meth:`AnswerService.open_link`) takes answers without a request sent
first — a QR code at the till, a tablet in the store, a link on the shop's site. Each answer
through it is recorded on a request of the ``link`` channel made for it, with the link's
location as the customer segment, and scored like any other.

The host's answer hooks run after the answer is stored. A hook that raises does not lose
the answer: it is retried later with backoff (:meth:`AnswerService.deliver_hooks`, which
a worker calls now and then, e.g. with each dispatch pass).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Campaign, CampaignStatus, Channel
from reviewkit.domain.instants import as_utc
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.request import Engagement, Recipient, Request, RequestStatus, RetryPolicy
from reviewkit.domain.survey import Survey
from reviewkit.domain.tokens import LinkSigner, TokenPurpose
from reviewkit.errors import RateLimitedError, SurveyClosedError, ValidationError
from reviewkit.ports import Clock, Store

__all__ = ["MAX_ANSWERS", "AnswerHook", "AnswerService", "SurveyPage"]

log = logging.getLogger("reviewkit.answers")

AnswerHook = Callable[[Answer, Request, Survey], None]
"""Called with each new answer, its request and the survey (for ``comment_author``)."""

MAX_ANSWERS = 20
"""The most answers kept for one request (the current one and those it replaced); past it,
a change is refused and the last answer stays."""


@attrs.frozen
class SurveyPage:
    """What an answer page shows for a token: the survey, the score a one-click link chose,
    and the answer already given, if any."""

    request: Request
    campaign: Campaign
    survey: Survey
    score: int | None
    current: Answer | None
    closes_at: datetime

    delivery = renamed_attribute("delivery", "request")


class AnswerService:
    """Record answers from tokens and pass them to the host.

    :param links: the signer the dispatcher signed the answer links with.
    :param hook_retry: backoff for failing hooks (retried until they succeed).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        links: LinkSigner,
        *,
        hook_retry: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.links = links
        self.hook_retry = hook_retry or RetryPolicy(base=timedelta(minutes=1))
        self._hooks: list[AnswerHook] = []

    def on_answer(self, hook: AnswerHook) -> None:
        """Register *hook*, called with every new answer (after it is stored)."""
        self._hooks.append(hook)

    def record_chat(
        self, request_id: str, *, sender_id: str, score: int, comment: str | None = None
    ) -> Answer:
        """Record an answer that came through the chat channel's webhook (already verified
        by its signature): only from the person the request went to.

        :raises ValidationError: the sender is not the request's recipient, not a chat
            survey request, a score off the scale, a comment too long.
        :raises SurveyClosedError: after the survey's expiry.
        """
        request = self.store.get_request(request_id)
        if request.channel is not Channel.CHAT or request.address != sender_id:
            raise ValidationError(f"request {request_id} was not sent to chat user {sender_id!r}")
        return self.answer(self._page_of(request, None), score=score, comment=comment)

    def page(self, token: str) -> SurveyPage:
        """Read an answer token for the answer page: which survey, which score was clicked.

        :raises TokenError: malformed, tampered, expired or not an answer token.
        :raises ValidationError: the request is not a survey request.
        :raises SurveyClosedError: the survey no longer takes answers.
        """
        found = self.links.verify(token, purpose=TokenPurpose.ANSWER, now=as_utc(self.clock.now()))
        return self._page_of(self.store.get_request(found.request_id), found.extra)

    def _page_of(self, request: Request, extra: str | None) -> SurveyPage:
        now = as_utc(self.clock.now())
        campaign = self.store.get_campaign(request.campaign_id)
        if campaign.survey is None:
            raise ValidationError(f"request {request.id} is not a survey request")
        survey = campaign.survey
        closes_at = survey.closes_at(request.asked_at)
        if now >= closes_at:
            raise SurveyClosedError(
                f"the survey closed at {closes_at.isoformat()}", language=survey.language
            )
        score = None
        if extra is not None:
            score = survey.checked_score(extra)
        current = next((a for a in self.store.answers_for(request.id) if a.current), None)
        return SurveyPage(request, campaign, survey, score, current, closes_at)

    # -- open survey links -----------------------------------------------------------------

    def open_link(
        self, campaign: str, location: str, *, ttl: timedelta = timedelta(days=366)
    ) -> str:
        """Sign an open survey link's token: *campaign*'s survey at *location* (a store, a
        till, a kiosk), for anyone who has the link; put it after the answer page's ``/s/``.

        :param ttl: how long the link works (print a new QR code before it ends).
        :raises NotFoundError: no such campaign.
        :raises ValidationError: the campaign has no survey, a location that is empty,
            over 100 characters or holds ``|`` or a line break.
        """
        found = self.store.get_campaign(campaign)
        if found.survey is None:
            raise ValidationError(f"campaign {found.name!r} has no survey to link to")
        location = location.strip()
        if not location or len(location) > 100 or not location.isprintable() or "|" in location:
            raise ValidationError(
                f"location {location!r}: 1 to 100 printable characters, without '|'"
            )
        now = as_utc(self.clock.now())
        return self.links.sign(TokenPurpose.SURVEY, found.id, now=now, ttl=ttl, extra=location)

    def open_page(self, token: str) -> SurveyPage:
        """Read an open survey link for the answer page. The page's request is made for
        the answer (and stored only when :meth:`answer_open` records one).

        :raises TokenError: malformed, tampered, expired or not an open-link token.
        :raises ValidationError: the campaign has no survey any more.
        :raises SurveyClosedError: the campaign was cancelled.
        """
        now = as_utc(self.clock.now())
        found = self.links.verify(token, purpose=TokenPurpose.SURVEY, now=now)
        campaign = self.store.get_campaign(found.request_id)
        if campaign.survey is None:
            raise ValidationError(f"campaign {campaign.name!r} has no survey any more")
        if campaign.status is CampaignStatus.CANCELLED:
            raise SurveyClosedError(
                f"campaign {campaign.name!r} was cancelled", language=campaign.survey.language
            )
        location = found.extra or ""
        request = Request(
            campaign_id=campaign.id,
            recipient=Recipient(segment=location or None, fields={"location": location}),
            channel=Channel.LINK,
            address=f"link:{uuid.uuid4().hex}",
            status=RequestStatus.SENT,
            created_at=now,
            scheduled_at=now,
        )
        survey = campaign.survey
        return SurveyPage(request, campaign, survey, None, None, survey.closes_at(now))

    def answer_open(
        self,
        page: SurveyPage,
        *,
        score: int | str | None = None,
        comment: str | None = None,
        per_minute: int | None = None,
    ) -> Answer:
        """Record an answer through an open link's page (:meth:`open_page`): its request
        and the answer are stored together.

        :param per_minute: at most this many answers a minute through the same link
            (campaign and location), against ballot stuffing; ``None`` for no limit.
        :raises ValidationError: as :meth:`record`.
        :raises RateLimitedError: the link took its answers for now; nothing was stored.
        """
        request = page.request
        if request.channel is not Channel.LINK:
            raise ValidationError("answer_open takes the page of an open survey link")
        now = as_utc(self.clock.now())
        if per_minute is not None and per_minute < 1:
            raise ValidationError(f"per_minute must be at least 1, not {per_minute}")
        with self.store.transaction():  # the request, its answer and the slot: all or none
            if per_minute is not None:
                key = f"link:{request.campaign_id}:{request.recipient.segment or ''}"
                busy = self.store.reserve_slots({key: timedelta(seconds=60 / per_minute)}, now=now)
                if busy is not None:
                    raise RateLimitedError(
                        "this link is taking many answers just now; try again in a minute",
                        busy,
                    )
            self.store.add_requests([attrs.evolve(request, created_at=now, scheduled_at=now)])
            stored, new = self._store_answer(page, score, comment, now)
        if new and self._hooks:
            self._call_hooks(stored, request, page.survey, now)
        return stored

    def record(
        self, token: str, *, score: int | str | None = None, comment: str | None = None
    ) -> Answer:
        """Record an answer: *score* (or the score a one-click token carries) and an
        optional comment. Replaces an earlier answer to the same request.

        :raises TokenError: malformed, tampered, expired or not an answer token.
        :raises SurveyClosedError: after the survey's expiry.
        :raises ValidationError: no score, a score off the scale, or a comment the survey
            does not take (or too long).
        """
        return self.answer(self.page(token), score=score, comment=comment)

    def answer(
        self, page: SurveyPage, *, score: int | str | None = None, comment: str | None = None
    ) -> Answer:
        """Record an answer on a survey page already read with :meth:`page` (a web view
        that shows the page again on a bad answer reads the token once).

        :raises ValidationError: as :meth:`record`.
        """
        now = as_utc(self.clock.now())
        stored, new = self._store_answer(page, score, comment, now)
        if new and self._hooks:
            self._call_hooks(stored, page.request, page.survey, now)
        return stored

    def _store_answer(
        self, page: SurveyPage, score: int | str | None, comment: str | None, now: datetime
    ) -> tuple[Answer, bool]:
        """Check and store an answer; ``(answer, False)`` when it repeats the current one."""
        survey = page.survey
        chosen = survey.checked_score(score) if score not in (None, "") else page.score
        if chosen is None:
            raise ValidationError(f"choose a score from {survey.scale.low} to {survey.scale.high}")
        text = survey.checked_comment(comment, chat=page.request.channel is Channel.CHAT)
        answer = Answer(
            request_id=page.request.id,
            campaign_id=page.campaign.id,
            kind=survey.type,
            score=chosen,
            comment=text,
            at=now,
            channel=page.request.channel,
            segment=page.request.recipient.segment,
        )
        with self.store.transaction():
            history = self.store.answers_for(page.request.id)
            current = next((a for a in history if a.current), None)
            if current is not None and (current.score, current.comment) == (chosen, text):
                return current, False  # the same answer again (a reload, a double click)
            if len(history) >= MAX_ANSWERS:
                raise ValidationError(
                    f"this request has been answered {len(history)} times, the most it takes; "
                    "the last answer stays"
                )
            stored = self.store.add_answer(answer)
            self.store.record_engagement(page.request.id, Engagement.ANSWERED, now)
        return stored, True

    def deliver_hooks(self, limit: int = 100) -> int:
        """Call the hooks for answers they have not taken yet (new ones, and failed ones
        whose retry time has come). Returns how many were delivered."""
        if not self._hooks:
            return 0
        now = as_utc(self.clock.now())
        delivered = 0
        for answer in self.store.due_answer_hooks(now, limit):
            request = self.store.get_request(answer.request_id)
            survey = self.store.get_campaign(answer.campaign_id).survey
            if survey is None:  # the campaign's survey was removed; nothing to report
                self.store.finish_answer_hook(answer.id, done=True, error=None, next_at=None)
                continue
            delivered += self._call_hooks(answer, request, survey, now)
        return delivered

    def _call_hooks(self, answer: Answer, request: Request, survey: Survey, now: datetime) -> bool:
        """Hand *answer* to the hooks and record whether they took it."""
        try:
            for hook in self._hooks:
                hook(answer, request, survey)
        except Exception as exc:
            retry_at = now + self.hook_retry.backoff(answer.hook_attempts + 1)
            log.warning("answer hook failed on %s, retry at %s: %s", answer.id, retry_at, exc)
            self.store.finish_answer_hook(
                answer.id, done=False, error=f"{type(exc).__name__}: {exc}", next_at=retry_at
            )
            return False
        self.store.finish_answer_hook(answer.id, done=True, error=None, next_at=None)
        return True
