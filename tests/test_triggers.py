"""Trigger rules: events from the host enqueue survey requests once per entity and rule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.serialization import structure, unstructure

SURVEY = rk.Survey(type="csat", privacy_url="https://shop.example/privacy")

DONE_FOR_VIP = rk.TriggerRule(
    id="vip-service-done",
    event="status.changed",
    conditions=(
        rk.Condition("new_status", "eq", "Completed"),
        rk.Condition("customer.vip", "eq", True),
    ),
    campaign="service csat",
    delay=timedelta(hours=2),
)
TASK_CLOSED = rk.TriggerRule(
    id="support-closed",
    event="task.closed",
    conditions=(rk.Condition("segment", "in", ["gold", "silver"]),),
    campaign="support nps",
)


@pytest.fixture
def triggers(service: rk.CampaignService, actor: rk.Actor) -> rk.TriggerService:
    for name in ("service csat", "support nps"):
        service.create(actor, name=name, answer_url="https://shop.example/a/{token}", survey=SURVEY)
    return rk.TriggerService(service, [DONE_FOR_VIP, TASK_CLOSED])


def _status_changed(entity: str, new: str, vip: bool) -> rk.HostEvent:
    return rk.HostEvent(
        type="status.changed",
        entity_id=entity,
        recipient=rk.Recipient(email=f"{entity.lower()}@example.com", name="Jan"),
        attributes={"old_status": "In progress", "new_status": new, "customer": {"vip": vip}},
    )


def test_a_matching_event_enqueues_one_request_after_the_delay(
    triggers: rk.TriggerService, actor: rk.Actor, reviewkit_clock: rk.ManualClock
) -> None:
    (made,) = triggers.report(actor, _status_changed("T-1", "Completed", vip=True))
    assert made.due_at == reviewkit_clock.now() + timedelta(hours=2)
    assert made.recipient.transaction_id == "T-1"  # the entity, when the host gives none
    # The same event again (a retried webhook), or a later one for the same task: nothing.
    assert triggers.report(actor, _status_changed("T-1", "Completed", vip=True)) == []
    reviewkit_clock.advance(timedelta(days=1))
    assert triggers.report(actor, _status_changed("T-1", "Completed", vip=True)) == []


@pytest.mark.parametrize(
    "event",
    [
        _status_changed("T-2", "Completed", vip=False),  # not a VIP
        _status_changed("T-3", "Waiting", vip=True),  # another status
        rk.HostEvent(
            type="task.closed",
            entity_id="T-4",
            recipient=rk.Recipient(email="t4@example.com"),
            attributes={"segment": "bronze"},
        ),
        rk.HostEvent(
            type="task.reopened",
            entity_id="T-5",
            recipient=rk.Recipient(email="t5@example.com"),
            attributes={"segment": "gold"},
        ),
    ],
)
def test_events_that_do_not_match_enqueue_nothing(
    triggers: rk.TriggerService, actor: rk.Actor, event: rk.HostEvent
) -> None:
    assert triggers.report(actor, event) == []


def test_each_rule_fires_once_per_entity_and_bad_events_leave_no_trace(
    triggers: rk.TriggerService, actor: rk.Actor, service: rk.CampaignService
) -> None:
    closed = rk.HostEvent(
        type="task.closed",
        entity_id="T-9",
        recipient=rk.Recipient(phone="+48500100200"),  # no e-mail for an e-mail campaign
        attributes={"segment": "gold"},
    )
    with pytest.raises(rk.ValidationError, match=r"trigger rule 'support-closed'.*no e-mail"):
        triggers.report(actor, closed)
    fixed = rk.HostEvent(
        type="task.closed",
        entity_id="T-9",
        recipient=rk.Recipient(email="t9@example.com"),
        attributes={"segment": "gold"},
    )
    (made,) = triggers.report(actor, fixed)  # the failed attempt did not use up the rule
    assert made.address == "t9@example.com"
    assert len(list(service.requests(actor, "support nps"))) == 1
    missing = rk.TriggerRule(id="gone", event="task.closed", campaign="nowhere")
    triggers.add_rule(missing)
    with pytest.raises(rk.NotFoundError, match="'gone' names campaign 'nowhere'"):
        triggers.report(actor, fixed)
    with pytest.raises(rk.ValidationError, match="already a trigger rule 'gone'"):
        triggers.add_rule(missing)


def test_rules_are_data_that_round_trip_through_json() -> None:
    for rule in (DONE_FOR_VIP, TASK_CLOSED):
        text = json.dumps(unstructure(rule))
        assert structure(json.loads(text), rk.TriggerRule) == rule
    with pytest.raises(rk.ValidationError):
        structure({"id": "x y", "event": "e", "campaign": "c"}, rk.TriggerRule)
    with pytest.raises(rk.ValidationError, match="needs a list"):
        rk.Condition("segment", "in", "gold")


@given(
    value=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()),
    target=st.one_of(st.integers(), st.text(max_size=5)),
)
def test_conditions_answer_consistently_on_any_attribute(value: object, target: object) -> None:
    """Whatever the host sends, a condition answers without raising: on a present attribute
    ne is not-eq and not_in is not-in; gte and lte both hold only for an equal value; a
    missing attribute (or a scalar where a mapping is expected) matches nothing."""

    def holds(op: str, attributes: dict[str, object]) -> bool:
        wanted = [target] if op in ("in", "not_in") else target
        return rk.Condition("a.b", op, wanted).holds(attributes)

    present = {"a": {"b": value}}
    assert holds("ne", present) is not holds("eq", present)
    assert holds("not_in", present) is not holds("in", present)
    assert holds("eq", present) is holds("in", present)
    if holds("gte", present) and holds("lte", present):
        assert value == target
    assert holds("exists", present) is (value not in (None, ""))
    for absent in ({}, {"a": value}):
        assert not any(holds(op, absent) for op in rk.Operator)


GATED = rk.TriggerRule(
    id="happy-to-google",
    event="survey.answered",
    conditions=(rk.Condition("answer.score", "gte", 9),),
    campaign="google reviews",
)


def test_review_gating_is_refused_when_the_rule_is_added(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """A rule that sends a public-review campaign only after a good score is refused with
    the reason; the same condition on a private survey campaign is fine."""
    service.create(actor, name="google reviews", public_review=True)
    with pytest.raises(rk.ValidationError, match="review gating") as refused:
        rk.TriggerService(service, [GATED])
    assert "answer.score gte 9" in str(refused.value)
    service.create(actor, name="private follow-up", answer_url="https://s.example/a/{token}",
                   survey=SURVEY)  # fmt: skip
    private = rk.TriggerRule(
        id="thank-promoters",
        event="survey.answered",
        conditions=(rk.Condition("nps", "gte", 9),),
        campaign="private follow-up",
    )
    assert rk.TriggerService(service, [private]).rules == [private]
    everyone = rk.TriggerRule(
        id="all-to-google", event="order.delivered", campaign="google reviews"
    )
    assert rk.TriggerService(service, [everyone]).rules == [everyone]


def test_review_gating_is_refused_when_a_campaign_becomes_public(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """A rule added before its campaign existed is checked when it fires: nothing is sent."""
    triggers = rk.TriggerService(service, [GATED])
    service.create(actor, name="google reviews", public_review=True)
    event = rk.HostEvent(
        type="survey.answered",
        entity_id="O-1",
        recipient=rk.Recipient(email="anna@example.com"),
        attributes={"answer": {"score": 10}},
    )
    with pytest.raises(rk.ValidationError, match="review gating"):
        triggers.report(actor, event)
    store = service.store
    assert list(store.iter_requests(store.get_campaign("google reviews").id)) == []


def test_stored_rules_fire_in_every_process_that_reports(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store
) -> None:
    """A rule saved through one service fires through another on the same store; ids stay
    unique across given and stored rules; a removed rule stops firing."""
    service.create(
        actor, name="service csat", answer_url="https://shop.example/a/{token}", survey=SURVEY
    )
    rk.TriggerService(service).save_rule(DONE_FOR_VIP)
    elsewhere = rk.TriggerService(service, [TASK_CLOSED])
    assert [r.id for r in elsewhere.all_rules()] == ["support-closed", "vip-service-done"]
    (made,) = elsewhere.report(actor, _status_changed("T-1", "Completed", vip=True))
    assert made.recipient.transaction_id == "T-1"
    with pytest.raises(rk.ConflictError):
        elsewhere.save_rule(DONE_FOR_VIP)
    with pytest.raises(rk.ValidationError, match="in code"):
        elsewhere.save_rule(TASK_CLOSED)
    assert elsewhere.remove_rule("vip-service-done") == DONE_FOR_VIP
    assert elsewhere.report(actor, _status_changed("T-2", "Completed", vip=True)) == []
    with pytest.raises(rk.NotFoundError):
        elsewhere.remove_rule("vip-service-done")


def test_a_stored_rule_cannot_gate_public_reviews(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store
) -> None:
    """Saving a rule that would invite only happy customers to a public review is refused,
    and nothing is stored."""
    service.create(actor, name="google", public_review=True)
    gating = rk.TriggerRule(
        id="happy-only",
        event="survey.answered",
        conditions=(rk.Condition("answer.score", "gte", 9),),
        campaign="google",
    )
    with pytest.raises(rk.ValidationError, match="gat"):
        rk.TriggerService(service).save_rule(gating)
    assert store.trigger_rules() == []
