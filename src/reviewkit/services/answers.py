"""Answers to survey requests: recorded from a signed answer token, handed to the host.

::

    answers = AnswerService(store, clock, signer)
    answers.on_answer(lambda answer, request, survey: crm.comment(...))
    answers.record(token, score=9, comment="Quick and friendly")

A request has one current answer: a second one within the survey's expiry replaces it and
the first is kept as history. An expired survey, a tampered token, a score off the scale or
a comment the survey does not take are refused with a clear error and change nothing.

The host's answer hooks run after the answer is stored. A hook that raises does not lose
the answer: it is retried later with backoff (:meth:`AnswerService.deliver_hooks`, which
a worker calls now and then, e.g. with each dispatch pass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Campaign, Channel
from reviewkit.domain.instants import as_utc
from reviewkit.domain.renamed import renamed_attribute
from reviewkit.domain.request import Engagement, Request, RetryPolicy
from reviewkit.domain.survey import Survey
from reviewkit.domain.tokens import LinkSigner, TokenPurpose
from reviewkit.errors import SurveyClosedError, ValidationError
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
            raise SurveyClosedError(f"the survey closed at {closes_at.isoformat()}")
        score = None
        if extra is not None:
            score = survey.checked_score(extra)
        current = next((a for a in self.store.answers_for(request.id) if a.current), None)
        return SurveyPage(request, campaign, survey, score, current, closes_at)

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
        survey = page.survey
        chosen = survey.checked_score(score) if score not in (None, "") else page.score
        if chosen is None:
            raise ValidationError(f"choose a score from {survey.scale.low} to {survey.scale.high}")
        text = survey.checked_comment(comment, chat=page.request.channel is Channel.CHAT)
        now = as_utc(self.clock.now())
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
                return current  # the same answer again (a reload, a double click)
            if len(history) >= MAX_ANSWERS:
                raise ValidationError(
                    f"this request has been answered {len(history)} times, the most it takes; "
                    "the last answer stays"
                )
            stored = self.store.add_answer(answer)
            self.store.record_engagement(page.request.id, Engagement.ANSWERED, now)
        if self._hooks:
            self._call_hooks(stored, page.request, survey, now)
        return stored

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
