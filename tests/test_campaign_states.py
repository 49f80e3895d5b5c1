"""The campaign state machine: every legal edge, every illegal one, read-only ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.campaign import TRANSITIONS, next_status

from .conftest import make_campaign

S, E = rk.CampaignStatus, rk.CampaignEvent

ALL_PAIRS = [(s, e) for s in S for e in E]


@pytest.mark.parametrize(("status", "event"), list(TRANSITIONS))
def test_legal_transition_goes_where_the_table_says(status: S, event: E) -> None:
    """Each edge of the table moves a campaign to the table's target."""
    campaign = rk.Campaign(name="c", status=status)
    assert campaign.apply(event).status is TRANSITIONS[(status, event)]


@pytest.mark.parametrize(("status", "event"), [p for p in ALL_PAIRS if p not in TRANSITIONS])
def test_illegal_transition_raises(status: S, event: E) -> None:
    """Any (status, event) outside the table raises IllegalTransitionError naming both."""
    campaign = rk.Campaign(name="c", status=status)
    with pytest.raises(rk.IllegalTransitionError, match=status.value):
        campaign.apply(event)


@given(st.lists(st.sampled_from(list(E)), max_size=40))
def test_any_event_sequence_stays_in_the_table(events: list[E]) -> None:
    """Random event sequences either follow an edge or raise; terminal states stay terminal."""
    status = S.DRAFT
    for event in events:
        try:
            after = next_status(status, event)
        except rk.IllegalTransitionError:
            assert (status, event) not in TRANSITIONS
            continue
        assert (status, event) in TRANSITIONS
        if status is S.CANCELLED:
            pytest.fail("a cancelled campaign moved")
        status = after


def test_completed_and_cancelled_are_read_only() -> None:
    """Editing a Completed or Cancelled campaign raises CampaignReadOnlyError."""
    for status in (S.COMPLETED, S.CANCELLED):
        with pytest.raises(rk.CampaignReadOnlyError, match="can no longer be edited"):
            rk.Campaign(name="c", status=status).edit(subject="new")


def test_failure_reason_kept_only_while_failed() -> None:
    """Fail records its reason; resuming clears it."""
    failed = rk.Campaign(name="c", status=S.SENDING).apply(E.FAIL, reason="535 auth")
    assert failed.failure_reason == "535 auth"
    assert failed.apply(E.RESUME).failure_reason is None


class TestScheduling:
    def test_draft_needs_recipients_start_and_sender(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """Scheduling an empty draft names everything that is missing."""
        service.create(actor, name="empty", subject="s", body="b")
        with pytest.raises(rk.CampaignStateError) as info:
            service.schedule(actor, "empty")
        message = str(info.value)
        assert "a start time" in message
        assert "a sender account" in message
        assert "at least one pending recipient" in message
        assert service.get(actor, "empty").status is S.DRAFT

    def test_schedule_validates_templates(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """A draft whose body is missing cannot be scheduled."""
        make_campaign(service, actor, schedule=False, body="")
        with pytest.raises(rk.ValidationError, match="no body"):
            service.schedule(actor, "reviews")

    def test_schedule_then_pause_resume_cancel(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """Operator actions follow the table and cancelling cancels pending requests."""
        make_campaign(service, actor)
        assert service.pause(actor, "reviews").status is S.PAUSED
        assert service.resume(actor, "reviews").status is S.SCHEDULED
        assert service.cancel(actor, "reviews").status is S.CANCELLED
        counts = service.counts(actor, "reviews")
        assert counts[rk.RequestStatus.CANCELLED] == 3
        assert counts[rk.RequestStatus.PENDING] == 0
        with pytest.raises(rk.IllegalTransitionError):
            service.resume(actor, "reviews")
        with pytest.raises(rk.CampaignReadOnlyError):
            service.add_recipients(actor, "reviews", [rk.Recipient(email="late@example.com")])

    def test_duplicate_name_is_a_conflict(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """Two campaigns cannot share a name."""
        service.create(actor, name="dup")
        with pytest.raises(rk.ConflictError, match="dup"):
            service.create(actor, name="dup")

    def test_stale_save_is_a_conflict(self, store: rk.Store) -> None:
        """Saving a campaign someone else changed meanwhile raises ConflictError."""
        stored = store.add_campaign(rk.Campaign(name="c"))
        store.save_campaign(stored.edit(subject="first"))
        with pytest.raises(rk.ConflictError, match="changed meanwhile"):
            store.save_campaign(stored.edit(subject="second"))

    def test_delete_only_when_not_active(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """An active campaign must be paused or cancelled before it is deleted."""
        make_campaign(service, actor)
        with pytest.raises(rk.CampaignStateError, match="pause or cancel"):
            service.delete(actor, "reviews")
        service.pause(actor, "reviews")
        service.delete(actor, "reviews")
        with pytest.raises(rk.NotFoundError):
            service.get(actor, "reviews")

    def test_edit_validates_values(self, service: rk.CampaignService, actor: rk.Actor) -> None:
        """Edits are validated like creation: a bad zone or interval is refused."""
        make_campaign(service, actor, schedule=False)
        with pytest.raises(rk.WindowError, match="Nowhere/City"):
            service.edit(actor, "reviews", timezone="Nowhere/City")
        with pytest.raises(rk.ValidationError, match="whole"):
            service.edit(actor, "reviews", interval=timedelta(seconds=0.5))
        with pytest.raises(rk.ValidationError, match="cannot be edited directly"):
            service.edit(actor, "reviews", status=S.COMPLETED)


def test_campaign_enums_may_be_given_as_their_values() -> None:
    """A campaign's status, channel and mode take their enum or its value ("scheduled"), and
    any other value is a ValidationError listing the choices."""
    campaign = rk.Campaign(name="c", status="scheduled", channel="sms", mode="always_on")
    assert (campaign.status, campaign.channel, campaign.mode) == (
        rk.CampaignStatus.SCHEDULED,
        rk.Channel.SMS,
        rk.CampaignMode.ALWAYS_ON,
    )
    with pytest.raises(rk.ValidationError, match="'later' is not a CampaignStatus"):
        rk.Campaign(name="c", status="later")
    with pytest.raises(rk.ValidationError, match="'fax' is not a Channel"):
        rk.Campaign(name="c", channel="fax")
