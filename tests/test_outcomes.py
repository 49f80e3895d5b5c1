"""The dispatcher's decisions, as the pure domain function it asks: no store, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.outcomes import (
    REQUEST_TRANSITIONS,
    Attempt,
    Counted,
    Result,
    decide,
    released,
)
from reviewkit.domain.request import apply_outcome

D = rk.RequestStatus
NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward in Europe
MINUTE = timedelta(minutes=1)
RETRY = rk.RetryPolicy(max_attempts=3, base=timedelta(minutes=1))
CAMPAIGN = rk.Campaign(
    name="c", reminder=rk.Reminder(after=timedelta(days=3), count=2, subject="s", body="b")
)


def claimed(**kw: object) -> rk.Request:
    d = rk.Request(
        campaign_id=CAMPAIGN.id,
        recipient=rk.Recipient(email="a@example.com"),
        channel=rk.Channel.EMAIL,
        address="a@example.com",
    )
    return attrs.evolve(d, status=D.CLAIMED, claimed_by="w", lease_until=NOW, **kw)


@pytest.mark.parametrize(
    ("attempt", "attempts_before", "status", "counted", "due_at"),
    [
        (Attempt(Result.SENT), 0, D.SENT, Counted.SENT, None),
        (Attempt(Result.TRANSIENT, "451"), 0, D.PENDING, Counted.RETRIED, NOW + MINUTE),
        (Attempt(Result.TRANSIENT, "451"), 1, D.PENDING, Counted.RETRIED, NOW + 2 * MINUTE),
        (Attempt(Result.TRANSIENT, "451"), 2, D.FAILED, Counted.FAILED, None),
        (Attempt(Result.PERMANENT, "550"), 0, D.FAILED, Counted.FAILED, None),
        (Attempt(Result.SUPPRESSED, "unsubscribed", "unsubscribed"), 0, D.SUPPRESSED,
         Counted.SUPPRESSED, None),
        (Attempt(Result.ACCOUNT, "535"), 0, D.PENDING, Counted.RELEASED, None),
        (Attempt(Result.NOT_NOW, until=NOW + timedelta(hours=8)), 0, D.PENDING, Counted.RELEASED,
         NOW + timedelta(hours=8)),
    ],
)  # fmt: skip
def test_a_first_send(
    attempt: Attempt,
    attempts_before: int,
    status: rk.RequestStatus,
    counted: Counted,
    due_at: datetime | None,
) -> None:
    decision = decide(claimed(attempts=attempts_before), CAMPAIGN, attempt, NOW, RETRY)
    assert (decision.outcome.status, decision.counted) == (status, counted)
    assert decision.outcome.due_at == due_at
    if status is D.SENT:
        assert decision.outcome.remind_at == NOW + timedelta(days=3)  # 72 real hours
    if attempt.error and status is not D.SENT:
        assert attempt.error in (decision.outcome.error or "")


def test_a_reminder_never_fails_the_request() -> None:
    sent = claimed(sent_at=NOW - timedelta(days=3), reminders_sent=0)
    for result in Result:
        decision = decide(sent, CAMPAIGN, Attempt(result, "x"), NOW, RETRY)
        assert decision.outcome.status is D.SENT, result
    last = claimed(sent_at=NOW - timedelta(days=6), reminders_sent=1)
    decision = decide(last, CAMPAIGN, Attempt(Result.SENT), NOW, RETRY)
    assert (decision.counted, decision.outcome.remind_at, decision.outcome.reminded) == (
        Counted.REMINDED,
        None,
        True,
    )


def test_a_released_reminder_keeps_its_request_sent() -> None:
    sent = claimed(sent_at=NOW - timedelta(days=3), remind_at=NOW)
    outcome = released(sent, NOW, until=NOW + timedelta(hours=1))
    assert (outcome.status, outcome.remind_at, outcome.count_attempt) == (
        D.SENT,
        NOW + timedelta(hours=1),
        False,
    )


@given(
    result=st.sampled_from(Result),
    attempts=st.integers(0, 5),
    reminder=st.booleans(),
    reminders_sent=st.integers(0, 3),
    answered=st.booleans(),
)
def test_every_decision_is_a_transition_of_the_state_machine(
    result: Result, attempts: int, reminder: bool, reminders_sent: int, answered: bool
) -> None:
    request = claimed(
        attempts=attempts,
        sent_at=NOW - timedelta(days=3) if reminder else None,
        reminders_sent=reminders_sent if reminder else 0,
        answered_at=NOW if answered else None,
    )
    decision = decide(request, CAMPAIGN, Attempt(result, "why"), NOW, RETRY)
    assert decision.outcome.status in REQUEST_TRANSITIONS[D.CLAIMED]
    after = apply_outcome(request, decision.outcome, NOW)
    assert after.claimed_by is None
    assert after.attempts <= attempts + 1
    if answered:
        assert after.remind_at is None  # an answer ends the reminders, whatever happened
    if reminder:
        assert after.status is D.SENT
        assert after.sent_at == request.sent_at  # the first send time stays


@given(
    value=st.one_of(st.integers(-20, 20), st.text(max_size=4)), kind=st.sampled_from(rk.SurveyType)
)
def test_a_surveys_own_rules_decide_a_score(value: int | str, kind: rk.SurveyType) -> None:
    """The answer service and the chat webhook read scores with the survey's one rule."""
    survey = rk.Survey(type=kind, privacy_url="https://shop.example/p", comment=True)
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number not in survey.scale:
        with pytest.raises(rk.ValidationError):
            survey.checked_score(value)
    else:
        assert survey.checked_score(value) == number
    assert survey.closes_at(NOW) - NOW == timedelta(days=survey.expiry_days)
    assert survey.checked_comment("  ") is None
    with pytest.raises(rk.ValidationError, match="at most"):
        survey.checked_comment("x" * 401, chat=True)
