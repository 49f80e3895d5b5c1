"""Routing alerts: digests at a local time on working days across DST and holidays, alerts
grouped into one message, repeats while firing, and silences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

import reviewkit as rk
from reviewkit.domain.notifications import Digest, Silence, render
from reviewkit.errors import ValidationError

WARSAW = rk.load_zone("Europe/Warsaw")
NPS = rk.SurveyType.NPS
WORKDAYS = rk.SendWindow(weekdays="mon-fri", hours="08:00-17:00", holidays=rk.HolidayCalendar("PL"))


def test_daily_digest_goes_out_at_local_time_across_the_dst_night() -> None:
    """08:00 Warsaw is 07:00 UTC in summer and 08:00 UTC in winter, the morning after the
    clocks go back (Sunday 2026-10-25) included."""
    digest = Digest(every="day", at=time(8), timezone="Europe/Warsaw")
    saturday_evening = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert digest.next_at(saturday_evening) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    sunday = datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert digest.next_at(sunday) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert digest.next_at(sunday).astimezone(WARSAW).hour == 8


def test_daily_digest_skips_weekends_and_holidays() -> None:
    """On a Mon-Fri window with Polish holidays, the digest after Wednesday 23 December 2026
    comes on Monday 28 December (24-26 are holidays, 27 a Sunday)."""
    digest = Digest(every="day", at=time(8, 30), timezone="Europe/Warsaw", window=WORKDAYS)
    after = datetime(2026, 12, 23, 9, 0, tzinfo=WARSAW)
    assert digest.next_at(after).astimezone(WARSAW) == datetime(2026, 12, 28, 8, 30, tzinfo=WARSAW)


def test_weekly_digest_moves_to_the_next_open_day_of_its_week() -> None:
    """A Monday digest in the week of Easter Monday (2027-03-29, a Polish holiday) comes on
    Tuesday; the week after, on Monday again."""
    digest = Digest(every="week", weekday=0, at=time(9), timezone="Europe/Warsaw", window=WORKDAYS)
    first = digest.next_at(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    assert first.astimezone(WARSAW) == datetime(2027, 3, 30, 9, 0, tzinfo=WARSAW)
    assert digest.next_at(first).astimezone(WARSAW) == datetime(2027, 4, 5, 9, 0, tzinfo=WARSAW)


_NAIVE_BOUNDS = (datetime(2026, 1, 1), datetime(2030, 12, 31))  # noqa: DTZ001 - hypothesis wants naive


@given(st.datetimes(*_NAIVE_BOUNDS, timezones=st.just(UTC)))
def test_a_digest_is_always_later_at_its_local_time_on_an_open_day(after: datetime) -> None:
    """Whatever the moment, the next digest is after it, at 08:30 local on an open working
    day, and no open day's 08:30 lies between."""
    digest = Digest(every="day", at=time(8, 30), timezone="Europe/Warsaw", window=WORKDAYS)
    nxt = digest.next_at(after)
    local = nxt.astimezone(WARSAW)
    assert nxt > after
    assert (local.hour, local.minute) == (8, 30)
    assert WORKDAYS.is_open_on(local.date())
    day = after.astimezone(WARSAW).date()
    while day < local.date():
        candidate = datetime.combine(day, time(8, 30), tzinfo=WARSAW)
        assert not (WORKDAYS.is_open_on(day) and candidate > after)
        day += timedelta(days=1)


def test_digest_outside_working_hours_is_refused() -> None:
    """A digest at 06:00 for someone working 08:00-17:00 is a mistake, said so."""
    with pytest.raises(ValidationError, match="outside the working hours"):
        Digest(at=time(6), window=WORKDAYS)


class Outbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[rk.Notification]]] = []

    def notify(self, receiver: str, notifications: Sequence[rk.Notification]) -> None:
        self.messages.append((receiver, list(notifications)))


def _store_with_answers(
    scores: list[int], at: datetime
) -> tuple[rk.InMemoryStore, list[tuple[rk.Answer, rk.Request]]]:
    store = rk.InMemoryStore()
    campaign = store.add_campaign(rk.Campaign(name="c", created_at=at))
    made = []
    for n, score in enumerate(scores):
        request = rk.Request(
            campaign_id=campaign.id,
            recipient=rk.Recipient(email=f"c{n}@example.com", fields={"store": f"S{n % 2}"}),
            channel=rk.Channel.EMAIL,
            address=f"c{n}@example.com",
        )
        store.add_requests([request])
        answer = store.add_answer(
            rk.Answer(request_id=request.id, campaign_id=campaign.id, kind=NPS, score=score, at=at)
        )
        made.append((answer, request))
    return store, made


def test_digest_route_collects_a_days_alerts_into_one_message() -> None:
    """Three answer alerts during Tuesday reach the digest receiver once, on Wednesday 08:00
    Warsaw, in one message; the immediate receiver got three."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=WARSAW)
    clock = rk.ManualClock(now)
    store, made = _store_with_answers([1, 2, 3], now)
    alerts = rk.AlertService(
        store,
        clock,
        routes=[
            rk.Route(receiver="agent"),
            rk.Route(
                receiver="manager",
                transitions=["fired"],
                digest=Digest(at=time(8), timezone="Europe/Warsaw", window=WORKDAYS),
            ),
        ],
    )
    alerts.add_rule(rk.AnswerRule(name="bad", survey=NPS))
    for answer, request in made:
        alerts.on_answer(answer, request)
    outbox = Outbox()
    assert alerts.deliver(outbox) == 3
    assert [(r, len(ns)) for r, ns in outbox.messages] == [("agent", 3)]
    clock.set(datetime(2026, 12, 2, 7, 59, tzinfo=WARSAW))
    assert alerts.deliver(outbox) == 0
    clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=WARSAW))
    assert alerts.deliver(outbox) == 3
    receiver, batch = outbox.messages[-1]
    assert (receiver, len(batch)) == ("manager", 3)
    subject, text = render(batch)
    assert subject == "3 alerts: 3 firing, 0 resolved"
    assert text.count("[FIRING] bad") == 3


def test_group_wait_sends_alerts_that_fire_together_in_one_message() -> None:
    """With a 30 s group wait, two alerts a few seconds apart go out as one message."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(now)
    store, made = _store_with_answers([1, 2], now)
    alerts = rk.AlertService(
        store, clock, routes=[rk.Route(receiver="team", group_wait=timedelta(seconds=30))]
    )
    alerts.add_rule(rk.AnswerRule(name="bad", survey=NPS))
    alerts.on_answer(*made[0])
    clock.advance(timedelta(seconds=5))
    alerts.on_answer(*made[1])
    outbox = Outbox()
    assert alerts.deliver(outbox) == 0  # waiting for more to group
    clock.advance(timedelta(seconds=30))
    assert alerts.deliver(outbox) == 2
    assert [len(ns) for _, ns in outbox.messages] == [2]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_group_by_and_group_interval_as_in_alertmanager(kind: str, tmp_path: Path) -> None:
    """Alerts are grouped by their team label: each team's alerts reach the receiver as one
    message; a group waits group_wait before its first message (later alerts join it), then
    at least group_interval between messages; once the interval has passed, group_wait
    again."""
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(t0)
    memory, made = _store_with_answers([1, 2, 3, 4], t0)
    store: rk.Store = memory
    if kind == "sqlite":
        store = rk.SQLiteStore(tmp_path / "groups.sqlite3")
        store.add_campaign(memory.campaigns[0])
        store.add_requests([request for _, request in made])
        made = [(store.add_answer(answer), request) for answer, request in made]
    route = rk.Route(
        receiver="care",
        group_by=["team"],
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(minutes=5),
    )
    alerts = rk.AlertService(store, clock, routes=[route])
    for team in ("north", "south"):
        alerts.add_rule(rk.AnswerRule(name=f"bad {team}", survey=NPS, labels={"team": team}))
    outbox = Outbox()

    def messages() -> list[tuple[str, int]]:
        got = sorted((ns[0].group, len(ns)) for _, ns in outbox.messages)
        outbox.messages.clear()
        return got

    alerts.on_answer(*made[0])
    clock.advance(timedelta(seconds=10))
    alerts.on_answer(*made[1])  # joins the messages still waiting
    assert alerts.deliver(outbox) == 0
    clock.set(t0 + timedelta(seconds=30))
    assert alerts.deliver(outbox) == 4
    assert messages() == [("team=north", 2), ("team=south", 2)]
    clock.set(t0 + timedelta(minutes=1))
    alerts.on_answer(*made[2])  # within group_interval of the last message
    clock.set(t0 + timedelta(minutes=5))
    assert alerts.deliver(outbox) == 0
    clock.set(t0 + timedelta(minutes=5, seconds=30))
    assert alerts.deliver(outbox) == 2
    assert messages() == [("team=north", 1), ("team=south", 1)]
    clock.set(t0 + timedelta(minutes=20))
    alerts.on_answer(*made[3])  # the interval is over: group_wait again
    clock.set(t0 + timedelta(minutes=20, seconds=29))
    assert alerts.deliver(outbox) == 0
    clock.set(t0 + timedelta(minutes=20, seconds=30))
    assert alerts.deliver(outbox) == 2
    assert messages() == [("team=north", 1), ("team=south", 1)]
    if isinstance(store, rk.SQLiteStore):
        store.close()


def test_notifications_carry_the_hosts_link_to_the_answer() -> None:
    """With a link template, every notification links to the host's page about the alert's
    answer (values URL-quoted); a template naming an unknown field is refused."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    store, made = _store_with_answers([1], now)
    alerts = rk.AlertService(
        store,
        rk.ManualClock(now),
        routes=[rk.Route(receiver="care")],
        link="https://shop.example/admin/answers/{answer_id}?alert={rule}",
    )
    alerts.add_rule(rk.AnswerRule(name="bad answer", survey=NPS))
    answer, request = made[0]
    alerts.on_answer(answer, request)
    outbox = Outbox()
    alerts.deliver(outbox)
    ((_, (told,)),) = outbox.messages
    link = f"https://shop.example/admin/answers/{answer.id}?alert=bad%20answer"
    assert told.link == link
    assert f"Open: {link}" in told.text()
    with pytest.raises(ValidationError, match="no field 'order'"):
        rk.AlertService(store, rk.ManualClock(now), link="https://x.example/{order}")


def test_route_grouping_settings_are_checked() -> None:
    """group_by takes label names (one name or a list); negative waits are refused."""
    assert rk.Route(receiver="a", group_by="store").group_by == ("store",)
    assert rk.Route(receiver="a", group_by=["store", "team"]).group_key(
        {"store": "K", "alertname": "x"}
    ) == ("store=K,team=")
    with pytest.raises(ValidationError, match="label name"):
        rk.Route(receiver="a", group_by=["1st"])
    with pytest.raises(ValidationError, match="must not be negative"):
        rk.Route(receiver="a", group_interval=timedelta(seconds=-1))


def test_repeat_interval_reminds_while_an_alert_fires() -> None:
    """A route with a 4 h repeat hears again after 4 h of firing, not before; a route without
    one hears once."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(now)
    store, made = _store_with_answers([1], now)
    alerts = rk.AlertService(
        store,
        clock,
        routes=[
            rk.Route(receiver="pager", repeat_interval=timedelta(hours=4)),
            rk.Route(receiver="mail"),
        ],
    )
    alerts.add_rule(rk.AnswerRule(name="bad", survey=NPS))
    alerts.on_answer(*made[0])
    clock.advance(timedelta(hours=3))
    alerts.evaluate()
    clock.advance(timedelta(hours=1))
    alerts.evaluate()
    clock.advance(timedelta(hours=1))
    alerts.evaluate()
    outbox = Outbox()
    alerts.deliver(outbox)
    assert sorted(n.receiver for _, ns in outbox.messages for n in ns) == [
        "mail",
        "pager",
        "pager",
    ]


def test_a_silence_mutes_matching_alerts_only_while_it_lasts() -> None:
    """Alerts of store S0 are muted for an hour; S1's are told; after the hour S0's are told
    again."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(now)
    store, made = _store_with_answers([1, 2, 3, 4], now)
    alerts = rk.AlertService(store, clock, routes=[rk.Route(receiver="ops")])
    alerts.add_rule(rk.BurstRule(name="burst", survey=NPS, by="field:store", count=1, among=1))
    silence = alerts.silence(
        {"store": "S0"}, until=now + timedelta(hours=1), comment="refit", created_by="ola"
    )
    assert alerts.silences(active=True) == [silence]
    alerts.on_answer(*made[0])  # S0
    alerts.on_answer(*made[1])  # S1
    outbox = Outbox()
    alerts.deliver(outbox)
    assert [n.alert.labels["store"] for _, ns in outbox.messages for n in ns] == ["S1"]
    assert {a.group for a in alerts.alerts([rk.AlertState.FIRING])} == {"S0", "S1"}
    clock.advance(timedelta(hours=2))
    alerts.resolve(next(a.fingerprint for a in alerts.alerts() if a.group == "S0"))
    alerts.on_answer(*made[2])  # S0 again, no silence now
    alerts.deliver(outbox)
    assert "S0" in [n.alert.labels["store"] for _, ns in outbox.messages for n in ns]
    alerts.unsilence(silence.id)
    assert alerts.silences() == []


def test_silences_need_matchers_and_a_span() -> None:
    """A silence without matchers would mute everything; one ending before it starts is
    meaningless: both refused."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="at least one matcher"):
        Silence(matchers={}, starts_at=at, ends_at=at + timedelta(hours=1))
    with pytest.raises(ValidationError, match="end after"):
        Silence(matchers={"a": "b"}, starts_at=at, ends_at=at)


def test_day_of_week_labels_are_the_receivers_local_days() -> None:
    """A weekly Monday digest for a receiver in Auckland goes out on Monday in Auckland,
    which is still Sunday in UTC."""
    digest = Digest(every="week", weekday=0, at=time(9), timezone="Pacific/Auckland")
    nxt = digest.next_at(datetime(2026, 12, 4, tzinfo=UTC))
    assert nxt.astimezone(rk.load_zone("Pacific/Auckland")).date() == date(2026, 12, 7)
    assert nxt.date() == date(2026, 12, 6)


def test_a_dispatcher_evaluates_alerts_and_delivers_them_between_passes() -> None:
    """With an AlertChore, a dispatcher that has nothing to send still evaluates the rules
    (answers recorded by another process, without the hook) and delivers the notification
    once; the next run waits for the chore's interval."""
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(now)
    store, _ = _store_with_answers([2], now - timedelta(minutes=5))
    alerts = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    alerts.add_rule(rk.AnswerRule(name="bad", survey=NPS))
    outbox = Outbox()
    chore = rk.AlertChore(alerts, outbox, every=timedelta(minutes=2))
    dispatcher = rk.Dispatcher(store, rk.InMemoryTransport(), clock, chores=[chore])
    dispatcher.run(until_idle=True)
    assert [(r, [n.transition for n in ns]) for r, ns in outbox.messages] == [("care", ["fired"])]
    assert chore.delivered == 1
    assert chore.last is not None
    assert len(chore.last.fired) == 1
    assert dispatcher.run_chores(now + timedelta(minutes=1)) == now + timedelta(minutes=2)
    dispatcher.run(until_idle=True)  # not due yet: nothing evaluated or sent again
    assert len(outbox.messages) == 1


def test_a_failing_chore_is_logged_and_does_not_stop_sending(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A chore that raises is logged with its reason and tried again a minute later; the
    requests are still sent."""

    class Broken:
        name = "broken chore"
        calls = 0

        def run(self, now: datetime) -> datetime:
            self.calls += 1
            raise rk.StorageError("disk on fire")

    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = rk.ManualClock(now)
    store = rk.InMemoryStore()
    service = rk.CampaignService(store, clock)
    actor = rk.Actor.system(email="owner@shop.example")
    service.create(
        actor, name="c", sender="s@shop.example", subject="Hi", body="Hello", start_at=now
    )
    service.add_recipients(actor, "c", [rk.Recipient(email="a@example.com")])
    service.schedule(actor, "c")
    broken = Broken()
    transport = rk.InMemoryTransport()
    dispatcher = rk.Dispatcher(store, transport, clock, chores=[broken])
    with caplog.at_level("ERROR", logger="reviewkit.dispatch"):
        report = dispatcher.run(until_idle=True)
    assert report.sent == 1
    assert len(transport.sent) == 1
    assert "broken chore failed, trying again in a minute: disk on fire" in caplog.text
    assert dispatcher.run_chores(now) == now + timedelta(minutes=1)
    assert broken.calls == 1


def test_an_alert_chore_needs_a_positive_interval() -> None:
    """every=0 would spin: refused."""
    alerts = rk.AlertService(rk.InMemoryStore(), rk.ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(ValidationError, match="positive"):
        rk.AlertChore(alerts, every=timedelta(0))
