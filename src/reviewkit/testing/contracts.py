"""The contract suites every store and every transport must pass.

Subclass one in your own test module, give it the fixture it asks for, and pytest runs every
test of the contract against your adapter::

    import pytest
    from reviewkit.testing import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyStore(tmp_path / "data")
            yield store
            store.close()

reviewkit's own stores and transports run these same classes. A store that needs a server
(a database service) can skip in its fixture with the reason when the server is absent:
``pytest.skip("no PostgreSQL at $REVIEWKIT_PG")``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from reviewkit.domain.alerts import (
    Alert,
    AlertRule,
    AlertState,
    AnswerRule,
    BurstRule,
    DropRule,
    Evidence,
    LevelRule,
    TopicRule,
    Transition,
    TrendRule,
    fingerprint,
)
from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Campaign, CampaignEvent, CampaignStatus, Channel
from reviewkit.domain.collection import RequestQuery
from reviewkit.domain.consent import ConsentChange
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.notifications import (
    Notification,
    NotificationGroup,
    NotificationStatus,
    Silence,
)
from reviewkit.domain.publication import Moderation, ModerationState
from reviewkit.domain.reports import (
    Funnel,
    ReportDefinition,
    ReportRecipient,
    ReportRun,
    ReportRunStatus,
    Scope,
)
from reviewkit.domain.request import Engagement, Outcome, Recipient, Request, RequestStatus
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.domain.survey import Survey, SurveyType
from reviewkit.domain.tasks import Task, TaskStatus
from reviewkit.domain.triggers import Condition, Operator, TriggerRule
from reviewkit.domain.window import HolidayCalendar, SendWindow
from reviewkit.errors import (
    ConflictError,
    NotFoundError,
    PermanentSendError,
    StaleVersionError,
    ValidationError,
)
from reviewkit.ports import Store, Transport

__all__ = ["Received", "StoreContract", "TransportContract"]

D = RequestStatus
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=5)

Received = Callable[[], list[str]]
"""Returns the ``request_id`` of every message that has arrived at the far end, in order."""


def _campaign(store: Store, name: str = "c") -> Campaign:
    return store.add_campaign(Campaign(name=name, created_at=NOW))


def _request(campaign: Campaign, n: int, **kw: Any) -> Request:
    recipient = Recipient(email=f"r{n}@example.com", transaction_id=f"T{n}")
    return Request(
        campaign_id=campaign.id,
        recipient=recipient,
        channel=Channel.EMAIL,
        address=recipient.email or "",
        **kw,
    )


def _alert(rule: AlertRule, group: str | None) -> Alert:
    return Alert(
        fingerprint=fingerprint(rule.id, group),
        rule_id=rule.id,
        rule_name=rule.name,
        group=group,
        labels={"alertname": rule.name},
        state=AlertState.PENDING,
        started_at=NOW,
        updated_at=NOW,
        evidence=Evidence(summary="s"),
    )


def _claim(store: Store, campaign: Campaign, limit: int = 10, worker: str = "w") -> list[Request]:
    return store.claim_requests(
        campaign.id, now=NOW, limit=limit, worker_id=worker, lease_until=LEASE
    )


class StoreContract:
    """What every :class:`~reviewkit.ports.Store` does. Provide a ``store`` fixture that
    yields a new, empty store for each test."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("define a `store` fixture yielding a new, empty store")

    # -- campaigns ------------------------------------------------------------------------

    def test_a_campaign_comes_back_with_every_setting(self, store: Store) -> None:
        """What is stored is what comes back, window, zone, pacing and times included."""
        campaign = Campaign(
            name="Grudzień",
            channel=Channel.SMS,
            sender="Sklep",
            subject="s",
            body="Oceń zakup {{ recipient.transaction_id }}",
            html="<p>x</p>",
            timezone="Europe/Warsaw",
            window=SendWindow(
                weekdays="mon-fri",
                hours="09:00-12:00,13:00-17:00",
                holidays=HolidayCalendar(
                    "PL", extra_dates={datetime(2026, 1, 2, tzinfo=UTC).date()}
                ),
            ),
            interval=timedelta(seconds=45),
            start_at=NOW,
            respect_recipient_timezone=True,
            created_at=NOW,
        )
        stored = store.add_campaign(campaign)
        assert stored == attrs.evolve(campaign, version=1)
        assert store.get_campaign(campaign.id) == stored
        assert store.get_campaign("Grudzień") == stored

    def test_an_unknown_campaign_is_not_found(self, store: Store) -> None:
        """Looking up an unknown name raises NotFoundError naming it."""
        with pytest.raises(NotFoundError, match="nope"):
            store.get_campaign("nope")

    def test_a_save_bumps_the_version_and_a_stale_one_is_refused(self, store: Store) -> None:
        """Each save increments the version; saving from a stale copy is a conflict."""
        first = _campaign(store)
        second = store.save_campaign(first.edit(subject="x"))
        assert second.version == first.version + 1
        with pytest.raises(StaleVersionError):
            store.save_campaign(first.edit(subject="y"))
        assert store.get_campaign(first.id).subject == "x"

    def test_two_campaigns_never_share_a_name(self, store: Store) -> None:
        """A second campaign of one name, or a rename onto a taken one, is a conflict."""
        _campaign(store, "a")
        b = _campaign(store, "b")
        with pytest.raises(ConflictError, match="'a'"):
            store.save_campaign(b.edit(name="a"))
        with pytest.raises(ConflictError):
            _campaign(store, "a")

    def test_deleting_a_campaign_deletes_its_requests(self, store: Store) -> None:
        """Its requests go with it; a second delete is not found."""
        c = _campaign(store)
        store.add_requests([_request(c, 1)])
        d = next(store.iter_requests(c.id))
        store.delete_campaign(c.id)
        with pytest.raises(NotFoundError):
            store.get_request(d.id)
        with pytest.raises(NotFoundError):
            store.delete_campaign(c.id)

    def test_campaigns_are_listed_by_status(self, store: Store) -> None:
        """list_campaigns returns all, or only the statuses asked for."""
        a = _campaign(store, "a")
        _campaign(store, "b")
        store.save_campaign(a.apply(CampaignEvent.CANCEL))
        assert {c.name for c in store.list_campaigns()} == {"a", "b"}
        assert [c.name for c in store.list_campaigns({CampaignStatus.CANCELLED})] == ["a"]

    # -- requests -------------------------------------------------------------------------

    def test_a_request_key_is_stored_once(self, store: Store) -> None:
        """The same campaign, channel and request key (any case) is added once."""
        c = _campaign(store)
        assert store.add_requests([_request(c, 1), _request(c, 2)]) == 2
        twin = attrs.evolve(_request(c, 1), address="R1@EXAMPLE.COM")
        assert store.add_requests([twin, _request(c, 3)]) == 1
        assert store.count_requests(c.id)[D.PENDING] == 3

    def test_requests_come_back_equal_in_the_order_added(self, store: Store) -> None:
        """Every field comes back, and iteration is in insertion order."""
        c = _campaign(store)
        made = [_request(c, n, due_at=NOW + timedelta(minutes=n)) for n in range(5)]
        made.append(
            Request(
                campaign_id=c.id,
                recipient=Recipient(
                    email="z@example.com",
                    phone="+48500100200",
                    name="Zoë",
                    timezone="Asia/Tokyo",
                    fields={"store": "Kraków", "vip": True, "n": 3},
                ),
                channel=Channel.EMAIL,
                address="z@example.com",
                sender="complaints",
            )
        )
        store.add_requests(made)
        assert list(store.iter_requests(c.id)) == made
        assert store.get_request(made[-1].id) == made[-1]

    def test_field_values_that_compare_equal_keep_their_own_type(self, store: Store) -> None:
        """Recipients whose field values are equal but of different types (``1``, ``True``,
        ``1.0``, ``"1"``) each get their own back."""
        c = _campaign(store)
        values: list[Any] = [1, True, 1.0, "1", 1, "1"]
        made = [
            Request(
                campaign_id=c.id,
                recipient=Recipient(email=f"v{n}@example.com", fields={"n": value}),
                channel=Channel.EMAIL,
                address=f"v{n}@example.com",
            )
            for n, value in enumerate(values)
        ]
        store.add_requests(made)
        back = [store.get_request(request.id).recipient.fields["n"] for request in made]
        assert [(type(v), v) for v in back] == [(type(v), v) for v in values]

    def test_requests_of_an_unknown_campaign_are_refused_all(self, store: Store) -> None:
        """One request naming a campaign that does not exist refuses the whole batch."""
        c = _campaign(store)
        ghost = attrs.evolve(_request(c, 9), campaign_id="ghost")
        with pytest.raises(NotFoundError):
            store.add_requests([_request(c, 1), ghost])
        assert sum(store.count_requests(c.id).values()) == 0

    def test_statuses_change_in_bulk_only_where_they_match(self, store: Store) -> None:
        """Only matching requests change; the count says how many."""
        c = _campaign(store)
        ds = [_request(c, n) for n in range(4)]
        store.add_requests(ds)
        changed = store.set_request_status(
            c.id,
            ids=[ds[0].id, ds[1].id],
            from_statuses={D.PENDING},
            to_status=D.CANCELLED,
            error="removed",
        )
        assert changed == 2
        assert store.get_request(ds[0].id).last_error == "removed"
        assert store.set_request_status(c.id, from_statuses={D.SENT}, to_status=D.PENDING) == 0
        assert store.count_requests(c.id)[D.CANCELLED] == 2

    def test_back_to_pending_is_a_new_send(self, store: Store) -> None:
        """A sent request moved back to Pending (a recall) is due again as a first send: no
        send time, no attempts, no reminders; claimed at its new due time."""
        c = _campaign(store)
        r = _request(c, 1)
        store.add_requests([r])
        (held,) = _claim(store, c)
        store.finish_requests(
            [Outcome(request_id=held.id, status=D.SENT, remind_at=NOW + timedelta(days=3))],
            worker_id="w",
            now=NOW,
        )
        later = NOW + timedelta(hours=2)
        assert (
            store.set_request_status(
                c.id, ids=[r.id], from_statuses={D.SENT}, to_status=D.PENDING, due_at=later
            )
            == 1
        )
        again = store.get_request(r.id)
        assert (again.status, again.sent_at, again.attempts, again.due_at) == (
            D.PENDING,
            None,
            0,
            later,
        )
        assert store.claim_requests(c.id, now=NOW, limit=5, worker_id="w", lease_until=LEASE) == []
        assert [
            x.id
            for x in store.claim_requests(
                c.id, now=later, limit=5, worker_id="w", lease_until=later + timedelta(minutes=5)
            )
        ] == [r.id]

    def test_engagement_keeps_its_first_time(self, store: Store) -> None:
        """The first time of each event stays; an answer also counts as opened."""
        c = _campaign(store)
        d = _request(c, 1)
        store.add_requests([d])
        store.record_engagement(d.id, Engagement.ANSWERED, NOW)
        again = store.record_engagement(d.id, Engagement.ANSWERED, NOW + timedelta(hours=1))
        assert (again.answered_at, again.opened_at) == (NOW, NOW)
        with pytest.raises(NotFoundError):
            store.record_engagement("0" * 32, Engagement.OPENED, NOW)

    def test_a_query_pages_every_request_once(self, store: Store) -> None:
        """Pages of the collection view cover each matching request exactly once."""
        c = _campaign(store)
        store.add_requests([_request(c, n, due_at=NOW) for n in range(7)])
        query = RequestQuery(since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
        seen: list[str] = []
        after = None
        while True:
            page = store.query_requests(query, limit=3, after=after)
            seen += [d.id for d in page.items]
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert sorted(seen) == sorted(d.id for d in store.iter_requests(c.id))

    # -- the send queue -------------------------------------------------------------------

    def test_a_claim_takes_what_is_due_up_to_the_limit(self, store: Store) -> None:
        """Claims take due requests only, earliest due first, at most the limit."""
        c = _campaign(store)
        later = _request(c, 1, due_at=NOW + timedelta(hours=1))
        early = _request(c, 2, due_at=NOW - timedelta(hours=1))
        soon = _request(c, 3, due_at=NOW)
        store.add_requests([later, early, soon])
        got = _claim(store, c, limit=1)
        assert [d.id for d in got] == [early.id]
        assert (got[0].status, got[0].claimed_by) == (D.CLAIMED, "w")
        assert [d.id for d in _claim(store, c)] == [soon.id]
        assert store.next_due_at(c.id) == NOW + timedelta(minutes=5)

    def test_the_claim_order_is_due_time_then_insertion(self, store: Store) -> None:
        """Requests without a due time first, in the order added; then by due time, ties in
        the order added; an expired claim counts from its lease's end."""
        c = _campaign(store)
        store.add_requests([_request(c, 6, due_at=NOW - timedelta(hours=2))])
        store.claim_requests(
            c.id,
            now=NOW - timedelta(hours=1),
            limit=1,
            worker_id="gone",
            lease_until=NOW - timedelta(minutes=20),
        )
        store.add_requests(
            [
                _request(c, 1),
                _request(c, 2, due_at=NOW - timedelta(minutes=10)),
                _request(c, 3, due_at=NOW - timedelta(minutes=30)),
                _request(c, 4),
                _request(c, 5, due_at=NOW - timedelta(minutes=10)),
            ]
        )
        got = _claim(store, c)
        assert [d.recipient.transaction_id for d in got] == ["T1", "T4", "T3", "T6", "T2", "T5"]

    def test_renewal_extends_only_the_holders_claims(self, store: Store) -> None:
        """A worker renews what it still holds, also after its lease ran out unnoticed; a
        claim another worker took over is not renewed and stays theirs."""
        c = _campaign(store)
        store.add_requests([_request(c, n) for n in range(3)])
        mine = store.claim_requests(
            c.id, now=NOW, limit=3, worker_id="a", lease_until=NOW + timedelta(seconds=5)
        )
        later = NOW + timedelta(seconds=10)
        (taken,) = store.claim_requests(
            c.id, now=later, limit=1, worker_id="b", lease_until=later + timedelta(minutes=5)
        )
        ids = [d.id for d in mine]
        renewed = store.renew_leases(ids, worker_id="a", lease_until=later + timedelta(minutes=1))
        assert renewed == set(ids) - {taken.id}
        assert store.get_request(taken.id).claimed_by == "b"
        for request_id in renewed:
            assert store.get_request(request_id).lease_until == later + timedelta(minutes=1)
        assert store.renew_leases([], worker_id="a", lease_until=later) == set()

    def test_only_the_holder_records_an_outcome(self, store: Store) -> None:
        """Outcomes are recorded for held claims; others come back as lost, unchanged."""
        c = _campaign(store)
        store.add_requests([_request(c, n) for n in range(3)])
        a, b = _claim(store, c, limit=2, worker="w")
        (other,) = _claim(store, c, limit=2, worker="x")
        lost = store.finish_requests(
            [
                Outcome(request_id=a.id, status=D.SENT),
                Outcome(request_id=b.id, status=D.PENDING, error="451", due_at=LEASE),
                Outcome(request_id=other.id, status=D.SENT),
            ],
            worker_id="w",
            now=NOW,
        )
        assert lost == [other.id]
        sent = store.get_request(a.id)
        assert (sent.status, sent.attempts, sent.sent_at, sent.claimed_by) == (D.SENT, 1, NOW, None)
        assert store.get_request(other.id).claimed_by == "x"
        # A second outcome for the same claim is lost too: the claim was released.
        assert store.finish_requests(
            [Outcome(request_id=a.id, status=D.FAILED)], worker_id="w", now=NOW
        ) == [a.id]
        assert store.get_request(a.id).status is D.SENT

    def test_a_retry_is_due_again_at_its_backoff_time(self, store: Store) -> None:
        """Pending with a due time: not claimable before it, claimable from it."""
        c = _campaign(store)
        store.add_requests([_request(c, 1)])
        (d,) = _claim(store, c)
        again = NOW + timedelta(minutes=2)
        store.finish_requests(
            [Outcome(request_id=d.id, status=D.PENDING, error="451", due_at=again)],
            worker_id="w",
            now=NOW,
        )
        back = store.get_request(d.id)
        assert (back.status, back.attempts, back.due_at) == (D.PENDING, 1, again)
        assert store.next_due_at(c.id) == again
        assert _claim(store, c) == []
        got = store.claim_requests(c.id, now=again, limit=5, worker_id="w", lease_until=again)
        assert len(got) == 1

    def test_nothing_due_when_every_request_is_finished(self, store: Store) -> None:
        """next_due_at is None exactly when nothing is Pending or Claimed."""
        c = _campaign(store)
        store.add_requests([_request(c, 1)])
        (d,) = _claim(store, c)
        assert store.next_due_at(c.id) is not None
        store.finish_requests([Outcome(request_id=d.id, status=D.FAILED)], worker_id="w", now=NOW)
        assert store.next_due_at(c.id) is None

    def test_pacing_slots_are_taken_all_or_none(self, store: Store) -> None:
        """Reserving several keys takes all of them, or reports when the busiest frees."""
        gap = timedelta(seconds=30)
        assert store.reserve_slots({"campaign:a": gap, "account:x": gap * 2}, now=NOW) is None
        later = NOW + gap
        busy = store.reserve_slots({"campaign:b": gap, "account:x": gap}, now=later)
        assert busy == NOW + gap * 2
        assert store.reserve_slots({"campaign:b": gap}, now=later) is None
        assert store.reserve_slots({"campaign:a": gap}, now=later) is None
        assert store.reserve_slots({"campaign:a": gap}, now=later) == later + gap

    # -- answers, suppressions, triggers --------------------------------------------------

    def test_a_new_answer_replaces_the_current_one_and_keeps_history(self, store: Store) -> None:
        """One current answer per request; the replaced one stays, not current."""
        c = store.add_campaign(
            Campaign(
                name="s",
                created_at=NOW,
                survey=Survey(type="nps", privacy_url="https://shop.example/p"),
            )
        )
        d = _request(c, 1)
        store.add_requests([d])

        def answer(score: int, at: datetime) -> Answer:
            return Answer(
                request_id=d.id,
                campaign_id=c.id,
                kind=SurveyType.NPS,
                score=score,
                comment=None,
                at=at,
                channel=Channel.EMAIL,
                segment=None,
            )

        store.add_answer(answer(3, NOW))
        store.add_answer(answer(9, NOW + timedelta(minutes=1)))
        history = store.answers_for(d.id)
        assert [(a.score, a.current) for a in history] == [(3, False), (9, True)]
        stats = store.answer_stats(SurveyType.NPS)
        ((group, stat),) = stats.items()
        assert (group, stat.n) == ((None, None), 1)
        assert store.answer_span(SurveyType.NPS) == (
            NOW + timedelta(minutes=1),
            NOW + timedelta(minutes=1),
        )

    def test_current_answers_are_listed_in_recorded_order_a_page_at_a_time(
        self, store: Store
    ) -> None:
        """Every current answer once, in the order recorded, past the store's page size;
        by campaign and time range; replaced answers are not listed."""
        first, second = _campaign(store, "first"), _campaign(store, "second")
        requests = [_request(first if n % 3 else second, n) for n in range(1_200)]
        store.add_requests(requests)
        with store.transaction():
            for n, request in enumerate(requests):
                store.add_answer(
                    Answer(
                        request_id=request.id,
                        campaign_id=request.campaign_id,
                        kind=SurveyType.NPS,
                        score=n % 11,
                        at=NOW + timedelta(minutes=n),
                    )
                )
        replaced = store.add_answer(
            Answer(
                request_id=requests[5].id,
                campaign_id=requests[5].campaign_id,
                kind=SurveyType.NPS,
                score=10,
                at=NOW + timedelta(days=2),
            )
        )
        listed = list(store.iter_answers())
        assert len(listed) == 1_200
        assert [a.request_id for a in listed[:5]] == [r.id for r in requests[:5]]
        assert listed[-1] == replaced
        assert requests[5].id not in {a.request_id for a in listed[:-1]}
        of_second = list(store.iter_answers(campaign_id=second.id))
        assert {a.campaign_id for a in of_second} == {second.id}
        assert len(of_second) == 400
        window = list(
            store.iter_answers(since=NOW + timedelta(minutes=10), until=NOW + timedelta(minutes=20))
        )
        assert [a.score for a in window] == [n % 11 for n in range(10, 20)]

    def test_suppressions_match_any_letter_case_and_can_be_lifted(self, store: Store) -> None:
        """A suppression is found by its address in any case, replaced, and removed."""
        store.add_suppression(
            Suppression(
                channel=Channel.EMAIL,
                address="Ala@Example.com",
                reason=SuppressionReason.UNSUBSCRIBED,
                at=NOW,
            )
        )
        found = store.get_suppression(Channel.EMAIL, "ala@example.COM")
        assert found is not None
        assert found.reason is SuppressionReason.UNSUBSCRIBED
        assert store.get_suppression(Channel.SMS, "ala@example.com") is None
        assert store.remove_suppression(Channel.EMAIL, "ALA@example.com")
        assert not store.remove_suppression(Channel.EMAIL, "ala@example.com")

    def test_suppressions_are_listed_in_key_order_a_page_at_a_time(self, store: Store) -> None:
        """Every suppression comes back once, by channel and case-folded address, past the
        store's page size; a channel lists only its own."""
        addresses = [f"C{n:04d}@example.com" for n in range(2_100)]
        for n, address in enumerate(addresses):
            store.add_suppression(
                Suppression(
                    channel=Channel.EMAIL,
                    address=address,
                    reason=SuppressionReason.BLOCKLISTED
                    if n % 2
                    else SuppressionReason.HARD_BOUNCE,
                    at=NOW,
                    note=f"n{n}",
                )
            )
        store.add_suppression(
            Suppression(
                channel=Channel.SMS, address="+48500100200", reason=SuppressionReason.COMPLAINT,
                at=NOW,
            )
        )  # fmt: skip
        listed = list(store.iter_suppressions(Channel.EMAIL))
        assert [s.address for s in listed] == addresses
        assert listed[7].reason is SuppressionReason.BLOCKLISTED
        assert listed[7].note == "n7"
        everything = list(store.iter_suppressions())
        assert len(everything) == 2_101
        assert everything[-1].channel is Channel.SMS

    def test_a_trigger_fires_once_per_entity(self, store: Store) -> None:
        """record_firing is True the first time for a rule and entity, False after."""
        assert store.record_firing("rule", "order-1", NOW)
        assert not store.record_firing("rule", "order-1", NOW + timedelta(hours=1))
        assert store.record_firing("rule", "order-2", NOW)
        assert store.record_firing("other", "order-1", NOW)

    def test_trigger_rules_are_kept_in_order_and_removed(self, store: Store) -> None:
        """Stored trigger rules come back equal, oldest first; a second rule with an id is a
        conflict; removing one leaves the others and what it fired for."""
        vip = TriggerRule(
            id="vip-closed",
            event="task.closed",
            campaign="after tasks",
            conditions=(
                Condition("customer.vip", Operator.EQ, True),
                Condition("queue", Operator.IN, ["care", "sales"]),
            ),
            delay=timedelta(hours=2),
        )
        plain = TriggerRule(id="delivered", event="order.delivered", campaign="orders")
        assert store.add_trigger_rule(vip) == vip
        store.add_trigger_rule(plain)
        assert store.trigger_rules() == [vip, plain]
        with pytest.raises(ConflictError):
            store.add_trigger_rule(attrs.evolve(vip, event="other"))
        assert store.record_firing("vip-closed", "T-1", NOW)
        assert store.remove_trigger_rule("vip-closed") == vip
        assert store.trigger_rules() == [plain]
        with pytest.raises(NotFoundError):
            store.remove_trigger_rule("vip-closed")
        store.add_trigger_rule(vip)
        assert not store.record_firing("vip-closed", "T-1", NOW)  # fired before: kept

    # -- transactions ---------------------------------------------------------------------

    def test_a_failed_transaction_leaves_nothing_behind(self, store: Store) -> None:
        """A failure between two writes rolls both back."""
        c = _campaign(store)
        store.add_requests([_request(c, 1)])

        def interrupted() -> None:
            with store.transaction():
                store.save_campaign(c.edit(subject="changed"))
                store.add_requests([_request(c, 2)])
                raise RuntimeError("crash between writes")

        with pytest.raises(RuntimeError):
            interrupted()
        assert store.get_campaign(c.id).subject == ""
        assert store.get_campaign(c.id).version == c.version
        assert sum(store.count_requests(c.id).values()) == 1

    def test_nested_transactions_join_the_outer_one(self, store: Store) -> None:
        """An inner block's writes are rolled back with the outer block."""
        c = _campaign(store)

        def nested() -> None:
            with store.transaction():
                with store.transaction():
                    store.add_requests([_request(c, 1)])
                raise RuntimeError("outer fails")

        with pytest.raises(RuntimeError):
            nested()
        assert sum(store.count_requests(c.id).values()) == 0

    # -- alerts -------------------------------------------------------------------------------

    def test_alert_rules_are_kept_whole_and_named_once(self, store: Store) -> None:
        """Every kind of rule comes back equal; a second rule of one name conflicts; removing
        by name returns it and takes its alerts along."""
        rules: list[AlertRule] = [
            AnswerRule(name="a", survey=SurveyType.NPS, words=["late"], labels={"t": "x"}),
            BurstRule(name="b", survey=SurveyType.CSAT, by="field:store", count=2, among=4),
            LevelRule(name="l", survey=SurveyType.NPS, worse_than=10, window=timedelta(days=7)),
            DropRule(name="d", survey=SurveyType.CES, window=timedelta(days=7), by="segment"),
            TrendRule(name="t", survey=SurveyType.NPS, periods=6, timezone="Europe/Warsaw"),
            TopicRule(name="q", survey=SurveyType.CSAT, words=["kolejk"], topic="queues"),
        ]
        for rule in rules:
            store.add_alert_rule(rule)
        assert store.alert_rules() == rules
        with pytest.raises(ConflictError):
            store.add_alert_rule(AnswerRule(name="a", survey=SurveyType.NPS))
        store.save_alert(_alert(rules[0], "g"))
        assert store.remove_alert_rule("a") == rules[0]
        assert store.list_alerts() == []
        with pytest.raises(NotFoundError):
            store.remove_alert_rule("a")

    def test_alerts_are_saved_by_fingerprint_and_listed_by_state(self, store: Store) -> None:
        """Saving again replaces; listing filters by state and rule, the latest change first."""
        rule = AnswerRule(name="a", survey=SurveyType.NPS)
        first = _alert(rule, "g1")
        second = attrs.evolve(_alert(rule, "g2"), updated_at=NOW + timedelta(minutes=1))
        store.save_alert(first)
        store.save_alert(second)
        assert store.list_alerts() == [second, first]
        fired = attrs.evolve(first, state=AlertState.FIRING, updated_at=NOW + timedelta(hours=1))
        store.save_alert(fired)
        assert store.get_alert(first.fingerprint) == fired
        assert store.list_alerts([AlertState.FIRING]) == [fired]
        assert store.list_alerts(rule_id="other") == []
        store.delete_alert(first.fingerprint)
        assert store.get_alert(first.fingerprint) is None

    def test_recent_answers_of_a_group_newest_first(self, store: Store) -> None:
        """Only current answers of the kind and group (a field, or none), since a time."""
        c = _campaign(store)
        requests = [
            Request(
                campaign_id=c.id,
                recipient=Recipient(
                    email=f"r{n}@example.com", fields={"store": "K" if n % 2 else "G"}
                ),
                channel=Channel.EMAIL,
                address=f"r{n}@example.com",
            )
            for n in range(6)
        ]
        store.add_requests(requests)
        for n, r in enumerate(requests):
            store.add_answer(
                Answer(
                    request_id=r.id,
                    campaign_id=c.id,
                    kind=SurveyType.NPS,
                    score=n,
                    at=NOW + timedelta(minutes=n),
                )
            )
        found = store.recent_answers(
            SurveyType.NPS, by="field:store", group="K", since=None, limit=2
        )
        assert [a.score for a in found] == [5, 3]
        since = store.recent_answers(
            SurveyType.NPS, by="field:store", group="K", since=NOW + timedelta(minutes=2), limit=10
        )
        assert [a.score for a in since] == [5, 3]
        assert (
            store.recent_answers(SurveyType.NPS, by="segment", group=None, since=None, limit=10)[
                0
            ].score
            == 5
        )
        assert (
            store.recent_answers(SurveyType.CSAT, by="segment", group=None, since=None, limit=10)
            == []
        )
        since_four = store.answers_since(NOW + timedelta(minutes=4), limit=10)
        assert [a.score for a in since_four] == [4, 5]
        assert [a.score for a in store.answers_since(NOW, limit=2)] == [0, 1]

    def test_answer_comments_come_with_their_group_and_time(self, store: Store) -> None:
        """The comments of current answers of one kind in the range, grouped by a dimension
        or a field; empty comments, replaced answers, other kinds and campaigns are not."""
        c = _campaign(store)
        other = store.add_campaign(Campaign(name="other", created_at=NOW))
        rows = [
            (c, "K", SurveyType.NPS, "long queue", 0),
            (c, "G", SurveyType.NPS, "Kolejka!", 5),
            (c, "K", SurveyType.NPS, "", 6),
            (c, "K", SurveyType.NPS, None, 7),
            (c, "K", SurveyType.CSAT, "other kind", 8),
            (other, "K", SurveyType.NPS, "other campaign", 9),
            (c, "K", SurveyType.NPS, "too late", 60),
        ]
        for n, (campaign, shop, kind, comment, minutes) in enumerate(rows):
            request = Request(
                campaign_id=campaign.id,
                recipient=Recipient(
                    email=f"r{n}@example.com", segment=f"s{n % 2}", fields={"store": shop}
                ),
                channel=Channel.EMAIL,
                address=f"r{n}@example.com",
            )
            store.add_requests([request])
            store.add_answer(
                Answer(
                    request_id=request.id,
                    campaign_id=campaign.id,
                    kind=kind,
                    score=3,
                    comment=comment,
                    at=NOW + timedelta(minutes=minutes),
                    segment=f"s{n % 2}",
                )
            )
        changed = _request(c, 99)
        store.add_requests([changed])
        for comment in ("first thought", "second thought"):
            store.add_answer(
                Answer(
                    request_id=changed.id,
                    campaign_id=c.id,
                    kind=SurveyType.NPS,
                    score=3,
                    comment=comment,
                    at=NOW + timedelta(minutes=10),
                )
            )
        since, until = NOW, NOW + timedelta(minutes=30)
        found = store.answer_comments(
            SurveyType.NPS, by="field:store", campaign_id=c.id, since=since, until=until
        )
        assert sorted(found, key=str) == [
            ("G", NOW + timedelta(minutes=5), "Kolejka!"),
            ("K", NOW, "long queue"),
            (None, NOW + timedelta(minutes=10), "second thought"),
        ]
        by_segment = store.answer_comments(SurveyType.NPS, by="segment", since=since, until=until)
        assert sorted(by_segment, key=str) == [
            ("s0", NOW, "long queue"),
            ("s1", NOW + timedelta(minutes=5), "Kolejka!"),
            ("s1", NOW + timedelta(minutes=9), "other campaign"),
            (None, NOW + timedelta(minutes=10), "second thought"),
        ]
        assert {
            g
            for g, _, _ in store.answer_comments(SurveyType.NPS, by=None, since=since, until=until)
        } == {None}
        with pytest.raises(ValidationError):
            store.answer_comments(SurveyType.NPS, by="shoe size", since=since, until=until)

    def test_consent_changes_are_kept_per_address_oldest_first(self, store: Store) -> None:
        """Changes come back for their channel and address (any letter case of it), oldest
        by their time first; an erasure forgets them."""

        def change(
            address: str, granted: bool, minutes: int, channel: str = "email"
        ) -> ConsentChange:
            return ConsentChange(
                channel=channel,
                address=address,
                name="publication",
                granted=granted,
                at=NOW + timedelta(minutes=minutes),
                source="phone call",
                recorded_at=NOW + timedelta(hours=1),
            )

        later = change("Anna@example.com", False, 30)
        earlier = change("anna@example.com", True, 10)
        other = change("+48500100200", True, 0, channel="sms")
        for item in (later, earlier, other):
            store.add_consent_change(item)
        assert store.consent_changes(Channel.EMAIL, "ANNA@example.com") == [earlier, later]
        assert store.consent_changes(Channel.SMS, "+48500100200") == [other]
        assert store.consent_changes(Channel.SMS, "anna@example.com") == []
        store.erase_contact([], {(Channel.EMAIL, "anna@example.com"): "erased:x"})
        assert store.consent_changes(Channel.EMAIL, "anna@example.com") == []
        assert store.consent_changes(Channel.SMS, "+48500100200") == [other]

    def test_notification_groups_are_kept_per_receiver_and_key(self, store: Store) -> None:
        """A group comes back as saved; saving again replaces it; receivers and keys are
        apart."""
        assert store.get_notification_group("care", "store=K") is None
        first = NotificationGroup(receiver="care", key="store=K", due_at=NOW)
        store.save_notification_group(first)
        store.save_notification_group(NotificationGroup(receiver="care", key=""))
        assert store.get_notification_group("care", "store=K") == first
        sent = NotificationGroup(
            receiver="care", key="store=K", due_at=None, sent_at=NOW + timedelta(seconds=30)
        )
        store.save_notification_group(sent)
        assert store.get_notification_group("care", "store=K") == sent
        assert store.get_notification_group("care", "") == NotificationGroup(
            receiver="care", key=""
        )
        assert store.get_notification_group("ola", "store=K") is None

    def test_notifications_are_claimed_once_and_finished_by_the_holder(self, store: Store) -> None:
        """A due notification is claimed by one worker until its lease ends; only the holder
        records its outcome; a retry waits for its time; an expired lease frees it."""
        rule = AnswerRule(name="a", survey=SurveyType.NPS)
        due = Notification(
            receiver="r",
            transition=Transition.FIRED,
            alert=_alert(rule, "g"),
            created_at=NOW,
            due_at=NOW,
        )
        later = attrs.evolve(due, id="later", due_at=NOW + timedelta(hours=1))
        store.add_notifications([due, later])
        (held,) = store.claim_notifications(now=NOW, limit=10, worker_id="w1", lease_until=LEASE)
        assert held.id == due.id
        assert held.status is NotificationStatus.CLAIMED
        assert store.claim_notifications(now=NOW, limit=10, worker_id="w2", lease_until=LEASE) == []
        assert not store.finish_notification(due.id, worker_id="w2", status=NotificationStatus.SENT)
        assert store.finish_notification(
            due.id,
            worker_id="w1",
            status=NotificationStatus.PENDING,
            error="busy",
            retry_at=NOW + timedelta(minutes=30),
        )
        (retried,) = store.claim_notifications(
            now=NOW + timedelta(minutes=30),
            limit=10,
            worker_id="w2",
            lease_until=LEASE + timedelta(hours=1),
        )
        assert (retried.id, retried.attempts, retried.last_error) == (due.id, 1, "busy")
        # w2 dies; after its lease the notification is claimable again, with "later" now due.
        taken = store.claim_notifications(
            now=LEASE + timedelta(hours=1),
            limit=10,
            worker_id="w3",
            lease_until=LEASE + timedelta(hours=2),
        )
        assert sorted(n.id for n in taken) == sorted([due.id, "later"])
        for n in taken:
            assert store.finish_notification(n.id, worker_id="w3", status=NotificationStatus.SENT)
        assert {n.status for n in store.list_notifications()} == {NotificationStatus.SENT}
        assert (
            store.claim_notifications(
                now=NOW + timedelta(days=1),
                limit=10,
                worker_id="w4",
                lease_until=NOW + timedelta(days=2),
            )
            == []
        )

    # -- reports ------------------------------------------------------------------------------

    def test_reports_are_kept_whole_named_once_and_removed_with_their_runs(
        self, store: Store
    ) -> None:
        """A report definition comes back equal by id or name; a second one with its name is
        refused; a save replaces it; removing it removes its outbox."""
        report = ReportDefinition(
            name="weekly",
            recipients=[
                ReportRecipient(
                    address="anna@example.com",
                    scope=Scope(label="Kraków", segments=["krk"]),
                    timezone="Europe/Warsaw",
                    language="pl",
                )
            ],
            window=SendWindow(weekdays="mon-fri", holidays=HolidayCalendar(country="PL")),
            created_at=NOW,
        )
        assert store.add_report(report) == report
        assert store.get_report("weekly") == report
        assert store.get_report(report.id) == report
        with pytest.raises(ConflictError):
            store.add_report(attrs.evolve(report, id="other"))
        renamed = store.save_report(attrs.evolve(report, name="weekly-pl", comments=3))
        assert store.list_reports() == [renamed]
        with pytest.raises(NotFoundError):
            store.save_report(attrs.evolve(report, id="missing", name="x"))
        run = ReportRun(
            report_id=report.id,
            recipient="anna@example.com",
            period="2026-W48",
            start=NOW - timedelta(days=7),
            end=NOW,
            due_at=NOW,
        )
        assert store.add_report_runs([run]) == 1
        assert store.remove_report("weekly-pl") == renamed
        assert store.list_report_runs() == []
        with pytest.raises(NotFoundError):
            store.get_report("weekly-pl")

    def test_report_runs_are_unique_claimed_once_and_finished_by_the_holder(
        self, store: Store
    ) -> None:
        """One run per report, recipient (any letter case) and period; a due run is claimed by
        one worker until its lease ends; only the holder records its outcome; a retry waits
        for its time; an expired lease frees it; a sent run is never claimed again."""
        report = store.add_report(
            ReportDefinition(name="r", recipients=[ReportRecipient(address="a@example.com")])
        )
        run = ReportRun(
            report_id=report.id,
            recipient="a@example.com",
            period="2026-W48",
            start=NOW - timedelta(days=7),
            end=NOW,
            due_at=NOW,
        )
        twin = attrs.evolve(run, id="twin", recipient="A@Example.com")
        later = attrs.evolve(run, id="later", period="2026-W49", due_at=NOW + timedelta(hours=1))
        assert store.add_report_runs([run, twin, later]) == 2
        assert store.add_report_runs([twin]) == 0
        (held,) = store.claim_report_runs(now=NOW, limit=10, worker_id="w1", lease_until=LEASE)
        assert (held.id, held.status) == (run.id, ReportRunStatus.CLAIMED)
        assert store.claim_report_runs(now=NOW, limit=10, worker_id="w2", lease_until=LEASE) == []
        assert not store.finish_report_run(
            run.id, worker_id="w2", status=ReportRunStatus.SENT, at=NOW
        )
        retry_at = NOW + timedelta(minutes=30)
        assert store.finish_report_run(
            run.id,
            worker_id="w1",
            status=ReportRunStatus.PENDING,
            at=NOW,
            error="451 busy",
            retry_at=retry_at,
        )
        (retried,) = store.claim_report_runs(
            now=retry_at, limit=10, worker_id="w2", lease_until=LEASE + timedelta(hours=1)
        )
        assert (retried.id, retried.attempts, retried.last_error) == (run.id, 1, "451 busy")
        # w2 dies; after its lease the run is claimable again, with "later" now due.
        after = LEASE + timedelta(hours=1)
        taken = store.claim_report_runs(
            now=after, limit=10, worker_id="w3", lease_until=after + timedelta(hours=1)
        )
        assert sorted(r.id for r in taken) == sorted([run.id, "later"])
        for r in taken:
            assert store.finish_report_run(
                r.id, worker_id="w3", status=ReportRunStatus.SENT, at=after
            )
        done = store.list_report_runs(report.id, [ReportRunStatus.SENT])
        assert [(r.id, r.sent_at) for r in done] == [(run.id, after), ("later", after)]
        assert (
            store.claim_report_runs(
                now=NOW + timedelta(days=1),
                limit=10,
                worker_id="w4",
                lease_until=NOW + timedelta(days=2),
            )
            == []
        )

    def test_worst_comments_come_lowest_score_first_within_filters(self, store: Store) -> None:
        """Commented current answers in the range, lowest score first then newest, only of
        the segments and channels asked for; replaced answers and empty comments are not."""
        campaign = _campaign(store)
        rows = [
            (5, "a", Channel.EMAIL, "fine", 0),
            (1, "a", Channel.EMAIL, "bad", 1),
            (1, "b", Channel.SMS, "bad too", 2),
            (0, "a", Channel.EMAIL, "", 3),
            (2, "a", Channel.SMS, "meh", 4),
            (0, "a", Channel.EMAIL, "too early", -60),
        ]
        for n, (score, segment, channel, comment, minutes) in enumerate(rows):
            request = _request(campaign, n)
            store.add_requests([request])
            store.add_answer(
                Answer(
                    request_id=request.id,
                    campaign_id=campaign.id,
                    kind=SurveyType.NPS,
                    score=score,
                    comment=comment,
                    at=NOW + timedelta(minutes=minutes),
                    channel=channel,
                    segment=segment,
                )
            )
        replaced = _request(campaign, 99)
        store.add_requests([replaced])
        for score in (0, 9):
            store.add_answer(
                Answer(
                    request_id=replaced.id,
                    campaign_id=campaign.id,
                    kind=SurveyType.NPS,
                    score=score,
                    comment="changed my mind",
                    at=NOW,
                    segment="a",
                )
            )

        def comments(**filters: Any) -> list[str | None]:
            found = store.worst_comments(
                SurveyType.NPS,
                since=NOW,
                until=NOW + timedelta(hours=1),
                limit=filters.pop("limit", 10),
                **filters,
            )
            return [a.comment for a in found]

        assert comments() == ["bad too", "bad", "meh", "fine", "changed my mind"]
        assert comments(limit=2) == ["bad too", "bad"]
        assert comments(segments=["a"]) == ["bad", "meh", "fine", "changed my mind"]
        assert comments(segments=["a"], channels=[Channel.SMS]) == ["meh"]
        assert (
            store.worst_comments(
                SurveyType.CSAT, since=NOW, until=NOW + timedelta(hours=1), limit=10
            )
            == []
        )

    def test_an_erased_contact_keeps_counts_and_a_hashed_suppression(self, store: Store) -> None:
        """Erasing a request: its details, address and comments go, its segment, status and
        score stay; the address's suppression is replaced by the hashed one; another
        request is untouched."""
        campaign = _campaign(store)
        gone = attrs.evolve(
            _request(campaign, 1),
            recipient=Recipient(email="p1@example.com", name="Anna", segment="s"),
            status=RequestStatus.SENT,
        )
        kept = _request(campaign, 2)
        store.add_requests([gone, kept])
        store.add_answer(
            Answer(request_id=gone.id, campaign_id=campaign.id, kind=SurveyType.NPS, score=3,
                   comment="my order 42", at=NOW, segment="s")
        )  # fmt: skip
        store.add_suppression(
            Suppression(channel=Channel.EMAIL, address="p1@example.com",
                        reason=SuppressionReason.COMPLAINT, at=NOW, note="said so")
        )  # fmt: skip
        store.add_soft_bounce(Channel.EMAIL, "p1@example.com", NOW)
        hashed = "erased:0123456789abcdef"
        assert store.erase_contact([gone.id], {(Channel.EMAIL, "p1@example.com"): hashed}) == 1
        after = store.get_request(gone.id)
        assert (after.recipient.email, after.recipient.name, after.recipient.segment) == (
            None, None, "s",
        )  # fmt: skip
        assert (after.address, after.status) == (f"erased:{gone.id}", RequestStatus.SENT)
        assert [(a.score, a.comment) for a in store.answers_for(gone.id)] == [(3, None)]
        assert store.get_suppression(Channel.EMAIL, "p1@example.com") is None
        found = store.get_suppression(Channel.EMAIL, hashed)
        assert found is not None
        assert (found.reason, found.note) == (SuppressionReason.COMPLAINT, None)
        assert store.add_soft_bounce(Channel.EMAIL, "p1@example.com", NOW) == 1
        assert store.get_request(kept.id) == kept

    def test_moderations_replace_and_list_approved_current_answers(self, store: Store) -> None:
        """A decision replaces the earlier one; approved lists current answers only, newest
        first; a decision on no answer is refused; answers are found by id."""
        campaign = _campaign(store)
        requests = [_request(campaign, n) for n in range(3)]
        store.add_requests(requests)
        answers = [
            store.add_answer(
                Answer(
                    request_id=r.id,
                    campaign_id=campaign.id,
                    kind=SurveyType.NPS,
                    score=9,
                    comment="ok",
                    at=NOW + timedelta(minutes=n),
                )
            )
            for n, r in enumerate(requests)
        ]
        assert store.get_answer(answers[1].id) == answers[1]
        with pytest.raises(NotFoundError):
            store.get_answer("missing")
        for a in answers:
            store.save_moderation(
                Moderation(answer_id=a.id, state=ModerationState.APPROVED, by="m", at=NOW)
            )
        store.save_moderation(
            Moderation(answer_id=answers[0].id, state=ModerationState.HIDDEN, by="m", at=NOW,
                       reason="a name")
        )  # fmt: skip
        replaced = store.add_answer(attrs.evolve(answers[2], id="newer", score=3))
        assert replaced.current
        assert [a.id for a in store.approved_answers(limit=10)] == [answers[1].id]
        decisions = store.moderations_of([answers[0].id, "newer"])
        assert list(decisions) == [answers[0].id]
        assert decisions[answers[0].id].reason == "a name"
        with pytest.raises(NotFoundError):
            store.save_moderation(
                Moderation(answer_id="missing", state=ModerationState.APPROVED, by="m", at=NOW)
            )

    def test_retention_finds_and_clears_by_age_a_batch_at_a_time(self, store: Store) -> None:
        """Old requests are listed until erased; comments and engagement times before a
        time are cleared at most a batch at a time; newer ones stay."""
        campaign = _campaign(store)
        old = [
            attrs.evolve(
                _request(campaign, n),
                scheduled_at=NOW - timedelta(days=10),
                status=RequestStatus.SENT,
                sent_at=NOW - timedelta(days=10),
                opened_at=NOW - timedelta(days=9),
            )
            for n in range(3)
        ]
        new = attrs.evolve(
            _request(campaign, 9),
            scheduled_at=NOW,
            status=RequestStatus.SENT,
            sent_at=NOW,
            opened_at=NOW,
        )
        store.add_requests([*old, new])
        for r in [*old, new]:
            store.add_answer(
                Answer(request_id=r.id, campaign_id=campaign.id, kind=SurveyType.NPS, score=5,
                       comment="c", at=r.sent_at or NOW)
            )  # fmt: skip
        cutoff = NOW - timedelta(days=1)
        assert store.requests_made_before(cutoff, limit=2) == [r.id for r in old][:2]
        assert store.clear_comments(cutoff, limit=2) == 2
        assert store.clear_comments(cutoff, limit=2) == 1
        assert store.clear_comments(cutoff, limit=2) == 0
        store.erase_contact([r.id for r in old[:2]], {})
        assert store.requests_made_before(cutoff, limit=10) == [old[2].id]
        assert store.clear_engagement(cutoff, limit=5) == 3
        assert store.get_request(old[0].id).opened_at is None
        assert store.get_request(new.id).opened_at == NOW
        assert [a.comment for a in store.answers_for(new.id)] == ["c"]

    def test_a_suppression_is_found_among_several_addresses(self, store: Store) -> None:
        """One look-up finds a suppression of any of the addresses, the first in order."""
        for address, reason in (("b@example.com", SuppressionReason.COMPLAINT),
                                ("erased:abc", SuppressionReason.UNSUBSCRIBED)):  # fmt: skip
            store.add_suppression(
                Suppression(channel=Channel.EMAIL, address=address, reason=reason, at=NOW)
            )
        find = store.find_suppression
        assert find(Channel.EMAIL, []) is None
        assert find(Channel.EMAIL, ["a@example.com", "nope"]) is None
        found = find(Channel.EMAIL, ["a@example.com", "ERASED:ABC", "B@example.com"])
        assert found is not None
        assert found.reason is SuppressionReason.UNSUBSCRIBED
        assert find(Channel.SMS, ["b@example.com"]) is None

    def test_soft_bounces_count_per_address_in_any_letter_case(self, store: Store) -> None:
        """Each soft bounce of an address adds one, whatever the letter case; channels and
        addresses count apart."""
        assert store.add_soft_bounce(Channel.EMAIL, "Ewa@Example.com", NOW) == 1
        assert store.add_soft_bounce(Channel.EMAIL, "ewa@example.com", NOW) == 2
        assert store.add_soft_bounce(Channel.SMS, "ewa@example.com", NOW) == 1
        assert store.add_soft_bounce(Channel.EMAIL, "ola@example.com", NOW) == 1

    def test_the_funnel_counts_requests_by_their_first_send(self, store: Store) -> None:
        """Requests first sent in the range are counted per segment with how many were
        opened and answered; those sent outside it or never are not."""
        campaign = _campaign(store)
        rows = []
        for n, (segment, sent, opened, answered) in enumerate(
            [
                ("a", NOW, True, True),
                ("a", NOW + timedelta(hours=1), True, False),
                ("a", NOW + timedelta(hours=2), False, False),
                (None, NOW, False, False),
                ("b", NOW - timedelta(seconds=1), True, True),
                ("b", None, False, False),
            ]
        ):
            request = attrs.evolve(
                _request(campaign, n),
                recipient=Recipient(email=f"p{n}@example.com", segment=segment),
                status=RequestStatus.PENDING if sent is None else RequestStatus.SENT,
                sent_at=sent,
            )
            rows.append((request, opened, answered))
        store.add_requests([r for r, _, _ in rows])
        for request, opened, answered in rows:
            if opened:
                store.record_engagement(request.id, Engagement.OPENED, NOW + timedelta(days=1))
            if answered:
                store.record_engagement(request.id, Engagement.ANSWERED, NOW + timedelta(days=1))
        found = store.request_funnel(since=NOW, until=NOW + timedelta(hours=2))
        assert found == {"a": Funnel(2, 2, 1), None: Funnel(1, 0, 0)}

    # -- tasks --------------------------------------------------------------------------------

    def test_tasks_are_versioned_and_listed_by_deadline(self, store: Store) -> None:
        """Added at version 1; a save raises the version; a stale save conflicts; listing
        filters by status and assignee, by deadline with undated tasks last."""
        late = store.add_task(
            Task(title="late", assignee="ola", created_at=NOW, deadline=NOW + timedelta(hours=5))
        )
        soon = store.add_task(
            Task(title="soon", assignee="marta", created_at=NOW, deadline=NOW + timedelta(hours=1))
        )
        undated = store.add_task(Task(title="whenever", assignee="ola", created_at=NOW))
        assert late.version == 1
        with pytest.raises(ConflictError):
            store.add_task(late)
        assert [t.title for t in store.list_tasks()] == ["soon", "late", "whenever"]
        done = store.save_task(late.moved(TaskStatus.DONE, NOW))
        assert done.version == 2
        assert store.get_task(late.id) == done
        with pytest.raises(StaleVersionError):
            store.save_task(late.noted("x", "stale", NOW))
        assert store.list_tasks([TaskStatus.OPEN], assignee="ola") == [undated]
        assert store.list_tasks([TaskStatus.DONE]) == [done]
        assert soon in store.list_tasks(assignee="marta")
        with pytest.raises(NotFoundError):
            store.get_task("nope")

    def test_silences_are_listed_while_active_and_removed(self, store: Store) -> None:
        """A silence is active from its start to its end; removing it says whether it was."""
        silence = Silence(
            matchers={"store": "K"},
            starts_at=NOW,
            ends_at=NOW + timedelta(hours=1),
            comment="refit",
            created_by="ola",
        )
        store.add_silence(silence)
        assert store.list_silences() == [silence]
        assert store.list_silences(NOW + timedelta(minutes=30)) == [silence]
        assert store.list_silences(NOW + timedelta(hours=1)) == []
        assert store.remove_silence(silence.id)
        assert not store.remove_silence(silence.id)
        assert store.list_silences() == []


def _message(n: int, channel: Channel, **overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "message_id": f"d{n}.c1",
        "channel": channel,
        "sender": "shop@shop.example",
        "to": {
            Channel.EMAIL: f"c{n}@example.com",
            Channel.SMS: f"+4850010020{n}",
            Channel.CHAT: f"psid-{n}",
        }[channel],
        "subject": f"Zamówienie {n}" if channel is Channel.EMAIL else "",
        "text": "Dzień dobry",
        "html": "<p>Dzień dobry</p>" if channel is Channel.EMAIL else None,
        "created_at": datetime(2026, 1, 5, 9, 0, n, tzinfo=UTC),
        "campaign_id": "c1",
        "request_id": f"d{n}",
    }
    if channel is Channel.CHAT:
        fields["survey"] = Survey(
            type="nps", privacy_url="https://shop.example/p", title="How did we do?"
        )
    fields.update(overrides)
    return OutgoingMessage(**fields)


class TransportContract:
    """What every :class:`~reviewkit.ports.Transport` does. Set :attr:`channel` and provide a
    ``transport`` fixture yielding ``(transport, received)``, where ``received()`` returns
    the ``request_id`` of every message that arrived at the far end, in order."""

    channel = Channel.EMAIL
    """The channel of the messages the suite sends."""

    @pytest.fixture
    def transport(self) -> tuple[Transport, Received]:
        raise NotImplementedError("define a `transport` fixture yielding (transport, received)")

    def test_each_message_arrives_once(self, transport: tuple[Transport, Received]) -> None:
        """What is sent arrives, once each, in order."""
        sender, received = transport
        for n in range(3):
            sender.send(_message(n, self.channel))
        sender.close()
        assert received() == ["d0", "d1", "d2"]

    def test_a_send_after_close_works(self, transport: tuple[Transport, Received]) -> None:
        """close() releases connections; the next send opens them again."""
        sender, received = transport
        sender.send(_message(1, self.channel))
        sender.close()
        sender.send(_message(2, self.channel))
        sender.close()
        assert received() == ["d1", "d2"]

    def test_close_without_sending_is_harmless(self, transport: tuple[Transport, Received]) -> None:
        """A worker closes its transport on exit whether or not it sent anything."""
        sender, received = transport
        sender.close()
        sender.close()
        assert received() == []

    def test_a_header_injection_is_refused_and_nothing_arrives(
        self, transport: tuple[Transport, Received]
    ) -> None:
        """A line break in an e-mail header is a PermanentSendError (other channels have no
        headers: the message goes out with the text as given)."""
        sender, received = transport
        if self.channel is not Channel.EMAIL:
            sender.send(_message(1, self.channel, text="line one\r\nline two"))
            sender.close()
            assert received() == ["d1"]
            return
        with pytest.raises(PermanentSendError):
            sender.send(_message(1, self.channel, subject="Hi\r\nBcc: all@example.com"))
        sender.close()
        assert received() == []
