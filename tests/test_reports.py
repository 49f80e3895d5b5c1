"""Scheduled personalised reports: the schedule on each recipient's calendar, figures equal to
those computed from the answers themselves, a rendered e-mail a mail client parses, and each
report sent exactly once per recipient and period."""

from __future__ import annotations

import base64
import csv
import email
import io
import itertools
import json
from datetime import UTC, date, datetime, time, timedelta
from email.message import Message
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.memory import InMemoryTransport
from reviewkit.adapters.mime import build_email_bytes
from reviewkit.domain.reports import (
    Recurrence,
    ReportDefinition,
    ReportRecipient,
    ReportRunStatus,
    Scope,
    covered_periods,
)
from reviewkit.domain.scoring import Period
from reviewkit.domain.window import HolidayCalendar, SendWindow
from reviewkit.serialization import structure, unstructure
from reviewkit.services.report_render import render_report
from reviewkit.services.reports import ReportChore, ReportService

WARSAW = ZoneInfo("Europe/Warsaw")
WORKDAYS_PL = SendWindow(weekdays="mon-fri", holidays=HolidayCalendar.parse("PL"))
# Monday 2026-11-30, 08:00 in Warsaw: the weekly report covering 2026-W48 goes out.
MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
JUST_BEFORE = MONDAY - timedelta(minutes=1)  # a report made then first goes out at MONDAY
_SERIAL = itertools.count()


# -- the schedule ---------------------------------------------------------------------------


def test_weekly_report_goes_out_monday_morning_local_time() -> None:
    """Weekly on Monday 08:00 in Warsaw is 07:00 UTC in winter and 06:00 UTC in summer."""
    rule = Recurrence(every="week", at=time(8, 0), weekday=0)
    winter = next(iter(rule.occurrences(WARSAW, WORKDAYS_PL, datetime(2026, 11, 25, tzinfo=UTC))))
    summer = next(iter(rule.occurrences(WARSAW, WORKDAYS_PL, datetime(2026, 6, 3, tzinfo=UTC))))
    assert winter == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert summer == datetime(2026, 6, 8, 6, 0, tzinfo=UTC)


def test_a_holiday_moves_the_report_to_the_next_working_day() -> None:
    """Easter Monday 2026-04-06 is a Polish public holiday: the report goes out on Tuesday."""
    rule = Recurrence(every="week", at=time(8, 0), weekday=0)
    first = next(iter(rule.occurrences(WARSAW, WORKDAYS_PL, datetime(2026, 4, 1, tzinfo=UTC))))
    assert first == datetime(2026, 4, 7, 6, 0, tzinfo=UTC)


def test_monthly_on_the_first_working_day() -> None:
    """1 January is a holiday and 2 January 2027 a Saturday: the January report waits for
    Monday the 4th; the periods it covers are December and, before it, November."""
    rule = Recurrence(every="month", at=time(9, 0), day=1)
    first = next(iter(rule.occurrences(WARSAW, WORKDAYS_PL, datetime(2026, 12, 15, tzinfo=UTC))))
    assert first == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    before, covered = covered_periods(Period.MONTH, WARSAW, first, 2)
    assert (before.label, covered.label) == ("2026-11", "2026-12")
    assert covered.start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert covered.end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


def test_covered_week_starts_at_local_midnight_across_dst() -> None:
    """The week of the spring DST change is 167 hours long, from local midnight to local
    midnight."""
    (week,) = covered_periods(Period.WEEK, WARSAW, datetime(2026, 3, 30, 6, 0, tzinfo=UTC), 1)
    assert week.label == "2026-W13"
    assert week.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert week.end - week.start == timedelta(hours=167)


@settings(max_examples=60, deadline=None)
@given(
    every=st.sampled_from(["day", "week", "month"]),
    at=st.times(),
    weekday=st.integers(0, 6),
    day=st.integers(1, 28),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),  # noqa: DTZ001
    zone=st.sampled_from(["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_occurrences_are_increasing_on_open_days_one_per_period(
    every: str, at: time, weekday: int, day: int, start: datetime, zone: str
) -> None:
    """Occurrences come strictly after the start, in order, each on a working day at the
    local time (unless DST skipped it), never two in one period."""
    tz = ZoneInfo(zone)
    rule = Recurrence(every=every, at=at.replace(microsecond=0), weekday=weekday, day=day)
    assume(every != "week" or weekday < 5)  # see test_weekly_report_on_a_closed_day_is_refused
    after = start.replace(tzinfo=UTC)
    found = list(itertools.islice(rule.occurrences(tz, WORKDAYS_PL, after), 6))
    assert found == sorted(found)
    assert len(set(found)) == len(found)
    assert all(instant > after for instant in found)
    periods = set()
    for instant in found:
        local = instant.astimezone(tz)
        assert WORKDAYS_PL.is_open_on(local.date())
        periods.add(covered_periods(Period(every), tz, instant, 1)[0].label)
        if local.replace(tzinfo=None).time() != rule.at:
            # Only a wall time that does not exist that day moves.
            assert datetime.combine(local.date(), rule.at, tzinfo=tz).astimezone(UTC) == instant
    assert len(periods) == len(found)


def test_weekly_report_on_a_closed_day_is_refused() -> None:
    """Saturday with a Monday-to-Friday window would never go out: refused when defined."""
    with pytest.raises(rk.ValidationError, match="on Saturday never goes out"):
        ReportDefinition(name="x", recurrence=Recurrence(weekday=5), window=WORKDAYS_PL)


# -- definitions ----------------------------------------------------------------------------


def _report(**changes: object) -> ReportDefinition:
    fields: dict[str, object] = {
        "name": "weekly",
        "metrics": ["nps", "funnel", "league", "comments"],
        "recipients": [
            ReportRecipient(
                address="anna@shop.example",
                name="Anna",
                scope=Scope(label="Kraków 1", segments=["krk-1"]),
                timezone="Europe/Warsaw",
                language="pl",
            ),
            ReportRecipient(
                address="piotr@shop.example",
                scope=Scope(label="South", segments=["krk-1", "krk-2"]),
                timezone="Europe/Warsaw",
            ),
            ReportRecipient(address="ceo@shop.example", timezone="America/New_York"),
            ReportRecipient(
                address="nobody@shop.example",
                scope=Scope(label="Gdańsk", segments=["gda-1"]),
                timezone="Europe/Warsaw",
            ),
        ],
        "recurrence": Recurrence(every="week", at=time(8, 0), weekday=0),
        "window": WORKDAYS_PL,
        "min_sample": 3,
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return ReportDefinition(**fields)  # type: ignore[arg-type]


def test_definition_round_trips_through_json() -> None:
    """A report definition written as JSON reads back equal."""
    report = _report()
    text = json.dumps(unstructure(report))
    assert structure(json.loads(text), ReportDefinition) == report


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metrics": ["nps", "mood"]}, "unknown report metric 'mood'"),
        ({"metrics": []}, "shows no metric"),
        (
            {"recipients": [ReportRecipient(address="a@x.pl")] * 2},
            "recipient listed twice: a@x.pl",
        ),
        ({"name": " "}, "needs a name"),
    ],
)
def test_bad_definitions_are_refused(changes: dict[str, object], message: str) -> None:
    """Unknown metrics, no metric, a recipient twice, no name: a specific error."""
    with pytest.raises(rk.ValidationError, match=message):
        _report(**changes)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("address", "not an address", "not an e-mail address"),
        ("timezone", "Mars/Base", "Mars/Base"),
        ("language", "de", "report language 'de'"),
    ],
)
def test_bad_recipients_are_refused(field: str, value: str, message: str) -> None:
    """A recipient with a bad address, zone or language is refused when made."""
    fields = {"address": "a@x.pl", field: value}
    with pytest.raises(rk.ValidationError, match=message):
        ReportRecipient(**fields)


# -- figures --------------------------------------------------------------------------------


def _campaign(store: rk.Store) -> rk.Campaign:
    found = store.list_campaigns()
    return found[0] if found else store.add_campaign(rk.Campaign(name="nps"))


def _answer(
    store: rk.Store,
    score: int,
    *,
    at: datetime,
    segment: str,
    comment: str | None = None,
    opened: bool = True,
    kind: rk.SurveyType = rk.SurveyType.NPS,
) -> None:
    campaign = _campaign(store)
    n = next(_SERIAL)
    request = rk.Request(
        campaign_id=campaign.id,
        recipient=rk.Recipient(email=f"c{n}@example.com", segment=segment),
        channel=rk.Channel.EMAIL,
        address=f"c{n}@example.com",
        status=rk.RequestStatus.SENT,
        sent_at=at - timedelta(hours=1),
    )
    store.add_requests([request])
    if opened:
        store.record_engagement(request.id, rk.Engagement.OPENED, at - timedelta(minutes=30))
    store.add_answer(
        rk.Answer(
            request_id=request.id,
            campaign_id=campaign.id,
            kind=kind,
            score=score,
            comment=comment,
            at=at,
            channel=rk.Channel.EMAIL,
            segment=segment,
        )
    )
    store.record_engagement(request.id, rk.Engagement.ANSWERED, at)


def _nps(scores: list[int]) -> float:
    return (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores) * 100


# Week 2026-W48 runs from Monday 2026-11-23 00:00 Warsaw (23:00 UTC the day before).
W48 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
W47 = W48 - timedelta(days=7)
DATA = {
    ("krk-1", W48): [10, 9, 9, 3, 8],
    ("krk-2", W48): [6, 5, 9, 10],
    ("waw-1", W48): [9, 9, 9, 9, 2, 7],
    ("krk-1", W47): [2, 3, 9],
}


def _seed(store: rk.Store) -> None:
    for (segment, when), scores in DATA.items():
        for i, score in enumerate(scores):
            comment = f"{segment} said {score}" if i % 2 == 0 else None
            _answer(store, score, at=when + timedelta(minutes=i), segment=segment, comment=comment)
    # Sent in W48 but never opened or answered: counted in the funnel only.
    campaign = _campaign(store)
    store.add_requests(
        [
            rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email="silent@example.com", segment="krk-1"),
                channel=rk.Channel.EMAIL,
                address="silent@example.com",
                status=rk.RequestStatus.SENT,
                sent_at=W48,
            )
        ]
    )


def test_each_scope_sees_its_own_figures(store: rk.Store) -> None:
    """A store manager sees her store, a region manager his stores together, the director
    the network: each NPS equals the one computed from the answers themselves, with the
    network beside it, the change against the week before, and the funnel."""
    _seed(store)
    service = ReportService(store, ManualClock(MONDAY))
    figures = service.figures(_report(), at=MONDAY)

    anna = figures["anna@shop.example"]
    assert anna.period.label == "2026-W48"
    assert anna.previous.label == "2026-W47"
    (nps,) = anna.kinds
    assert nps.current.value == pytest.approx(_nps(DATA[("krk-1", W48)]))
    assert nps.current.n == 5
    assert nps.previous.value == pytest.approx(_nps(DATA[("krk-1", W47)]))
    assert nps.change == pytest.approx(nps.current.value - nps.previous.value)
    everyone = [s for (_, when), scores in DATA.items() if when == W48 for s in scores]
    assert nps.network.value == pytest.approx(_nps(everyone))
    assert anna.funnel == rk.Funnel(sent=6, opened=5, answered=5)
    assert [a.segment for a in anna.comments] == ["krk-1"] * 3
    assert [a.score for a in anna.comments] == [8, 9, 10]  # worst first

    piotr = figures["piotr@shop.example"]
    (south,) = piotr.kinds
    region = DATA[("krk-1", W48)] + DATA[("krk-2", W48)]
    assert south.current.value == pytest.approx(_nps(region))
    assert [row.group for row in south.league] == ["krk-1", "krk-2"]
    assert south.league[1].versus_network == pytest.approx(
        _nps(DATA[("krk-2", W48)]) - _nps(everyone)
    )

    (network,) = figures["ceo@shop.example"].kinds
    assert network.current.value == pytest.approx(_nps(everyone))
    assert {row.group for row in network.league} == {"krk-1", "krk-2", "waw-1"}
    assert figures["nobody@shop.example"].empty


def test_figures_equal_the_score_service(store: rk.Store) -> None:
    """The league's per-store scores are the score service's for the same week."""
    _seed(store)
    figures = ReportService(store, ManualClock(MONDAY)).figures(_report(), at=MONDAY)
    (network,) = figures["ceo@shop.example"].kinds
    week = figures["ceo@shop.example"].period
    rows = rk.ScoreService(store).scores(
        rk.SurveyType.NPS, by="segment", since=week.start, until=week.end, min_sample=3
    )
    assert {row.group: row.score for row in rows} == {r.group: r.score for r in network.league}


def test_a_scope_function_decides_at_send_time() -> None:
    """With the host's scope function, a recipient sees what it says now, not the stored
    scope."""
    store = rk.InMemoryStore()
    _seed(store)

    def scopes(recipient: ReportRecipient) -> Scope:
        return Scope(label="Warsaw", segments=["waw-1"])

    service = ReportService(store, ManualClock(MONDAY), scopes=scopes)
    figures = service.figures(_report(), at=MONDAY, recipients=["anna@shop.example"])
    anna = figures["anna@shop.example"]
    assert anna.recipient.scope.label == "Warsaw"
    assert anna.kinds[0].current.n == len(DATA[("waw-1", W48)])


def test_a_significant_change_is_marked() -> None:
    """Two large samples far apart are a significant change; two tiny ones are not."""
    store = rk.InMemoryStore()
    for i in range(60):
        _answer(store, 10 if i % 4 else 9, at=W48 + timedelta(minutes=i), segment="a")
        _answer(store, 2 if i % 4 else 9, at=W47 + timedelta(minutes=i), segment="a")
    _answer(store, 10, at=W48, segment="b")
    _answer(store, 0, at=W47, segment="b")
    report = _report(
        recipients=[
            ReportRecipient(address="a@x.pl", scope=Scope(segments=["a"])),
            ReportRecipient(address="b@x.pl", scope=Scope(segments=["b"])),
        ],
        min_sample=30,
    )
    figures = ReportService(store, ManualClock(MONDAY)).figures(report, at=MONDAY)
    (big,) = figures["a@x.pl"].kinds
    (tiny,) = figures["b@x.pl"].kinds
    assert big.significant
    assert big.p_value is not None
    assert big.p_value < 0.001
    assert not tiny.significant


# -- rendering ------------------------------------------------------------------------------


def _parts(raw: bytes) -> Message:
    return email.message_from_bytes(raw)


def test_rendered_email_has_inline_charts_text_and_csv() -> None:
    """The e-mail parses: a text part, HTML whose images are referenced by cid and present as
    inline PNG parts, and a CSV attachment whose figures are the report's."""
    from reviewkit.adapters.charts import MatplotlibCharts

    store = rk.InMemoryStore()
    _seed(store)
    report = _report()
    figures = ReportService(store, ManualClock(MONDAY)).figures(report, at=MONDAY)
    piotr = figures["piotr@shop.example"]
    rendered = render_report(piotr, charts=MatplotlibCharts())
    message = rendered.message(
        to="piotr@shop.example",
        sender="reports@shop.example",
        message_id="report-1",
        created_at=MONDAY,
        report_id=report.id,
    )
    parsed = _parts(build_email_bytes(message))
    assert parsed.get_content_type() == "multipart/mixed"
    html_part = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    text_part = next(p for p in parsed.walk() if p.get_content_type() == "text/plain")
    html = html_part.get_payload(decode=True).decode("utf-8")
    assert "<script" not in html.lower()
    images = {
        p["Content-ID"].strip("<>"): p.get_payload(decode=True)
        for p in parsed.walk()
        if p.get_content_type() == "image/png"
    }
    assert set(images) == {"trend-nps@reviewkit", "league-nps@reviewkit"}
    for cid, data in images.items():
        assert f'src="cid:{cid}"' in html
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "South" in text_part.get_payload(decode=True).decode("utf-8")
    attachment = next(p for p in parsed.walk() if p.get_filename() == "weekly-2026-W48.csv")
    rows = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8"))))
    (nps,) = piotr.kinds
    current = next(
        r for r in rows if r["metric"] == "nps" and r["group"] == "" and r["period"] == "2026-W48"
    )
    assert float(current["value"]) == pytest.approx(nps.current.value, abs=0.01)
    assert int(current["n"]) == nps.current.n
    league = {r["group"]: float(r["value"]) for r in rows if r["group"] in ("krk-1", "krk-2")}
    assert league == {row.group: pytest.approx(row.score.value, abs=0.01) for row in nps.league}
    sent = next(r for r in rows if r["metric"] == "sent")
    assert int(sent["value"]) == piotr.funnel.sent  # type: ignore[union-attr]


def test_report_in_polish_and_standalone_html() -> None:
    """Anna's report is in Polish; the standalone file carries its images as data URIs."""
    store = rk.InMemoryStore()
    _seed(store)
    figures = ReportService(store, ManualClock(MONDAY)).figures(_report(), at=MONDAY)
    rendered = render_report(figures["anna@shop.example"], charts=_Charts())
    assert "Dzień dobry Anna" in rendered.text
    assert 'lang="pl"' in rendered.html
    page = rendered.standalone_html()
    assert "cid:" not in page
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page


class _Charts:
    """A chart renderer that draws a tiny valid PNG (for tests that need no matplotlib)."""

    PNG = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )

    def trend(self, title: str, trend: object) -> bytes:
        return self.PNG

    def league(self, title: str, rows: object, network: object) -> bytes:
        return self.PNG


def test_a_scope_without_data_says_so() -> None:
    """A store with no answers and nothing sent gets a sentence, not empty charts."""
    store = rk.InMemoryStore()
    _seed(store)
    figures = ReportService(store, ManualClock(MONDAY)).figures(_report(), at=MONDAY)
    rendered = render_report(figures["nobody@shop.example"], charts=_Charts())
    assert "no answers and no requests sent for Gdańsk in 2026-W48" in rendered.text
    assert rendered.images == ()


def test_names_from_data_are_escaped_and_neutralised() -> None:
    """A store named like markup or a formula is shown as text in HTML and in the CSV."""
    store = rk.InMemoryStore()
    _answer(store, 9, at=W48, segment="<b>=HYPERLINK()</b>", comment="<script>x</script>")
    report = _report(recipients=[ReportRecipient(address="a@x.pl")], min_sample=1)
    figures = ReportService(store, ManualClock(MONDAY)).figures(report, at=MONDAY)
    rendered = render_report(figures["a@x.pl"])
    assert "<script>x" not in rendered.html
    assert "&lt;b&gt;=HYPERLINK()&lt;/b&gt;" in rendered.html
    rows = list(csv.reader(io.StringIO(rendered.csv)))
    assert all(not cell.startswith("=") for row in rows for cell in row)


# -- planning and sending -------------------------------------------------------------------


def test_plan_and_send_once_per_recipient_and_period(store: rk.Store) -> None:
    """At Monday 08:00 each recipient gets one e-mail for W48; planning and sending again,
    from a second worker too, sends nothing more; the next Monday brings W49."""
    _seed(store)
    transport = InMemoryTransport()
    clock = ManualClock(MONDAY - timedelta(minutes=1))
    one = ReportService(store, clock, transport, worker_id="one")
    two = ReportService(store, clock, transport, worker_id="two")
    one.add(_report(created_at=None))
    assert one.plan(MONDAY - timedelta(minutes=1)) == 0  # created after last Monday's run
    assert one.plan(MONDAY) == 3  # the three Warsaw recipients; New York's 08:00 is later
    assert two.plan(MONDAY) == 0
    assert one.send_due(MONDAY).sent == 3
    assert two.send_due(MONDAY).sent == 0
    new_york = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert two.plan(new_york) == 1
    assert two.send_due(new_york).sent == 1
    assert sorted(m.to for m in transport.sent) == [
        "anna@shop.example",
        "ceo@shop.example",
        "nobody@shop.example",
        "piotr@shop.example",
    ]
    assert {m.subject.rsplit(" ", 1)[-1] for m in transport.sent} == {"2026-W48"}
    next_monday = MONDAY + timedelta(days=7)
    assert one.plan(next_monday) == 3
    assert one.send_due(next_monday).sent == 3
    assert len(transport.sent) == 7
    runs = one.runs("weekly")
    assert {(r.recipient, r.period) for r in runs} >= {("anna@shop.example", "2026-W49")}
    assert all(r.status is ReportRunStatus.SENT for r in runs)


def test_a_dead_workers_runs_are_sent_after_its_lease(store: rk.Store) -> None:
    """A worker that claimed runs and died sends nothing; after the lease another worker
    sends them, and the dead one's late outcome is refused."""
    _seed(store)
    transport = InMemoryTransport()
    clock = ManualClock(MONDAY)
    service = ReportService(store, clock, transport, worker_id="alive")
    service.add(_report(created_at=JUST_BEFORE))
    service.plan(MONDAY)
    dead = store.claim_report_runs(
        now=MONDAY, limit=10, worker_id="dead", lease_until=MONDAY + timedelta(minutes=5)
    )
    assert len(dead) == 3
    assert service.send_due(MONDAY).sent == 0
    later = MONDAY + timedelta(minutes=6)
    clock.set(later)
    assert service.send_due(later).sent == 3
    assert not store.finish_report_run(
        dead[0].id, worker_id="dead", status=ReportRunStatus.SENT, at=later
    )
    assert len(transport.sent) == 3


def test_transient_failures_retry_and_a_refusal_fails_alone(store: rk.Store) -> None:
    """A 451 puts the report back with backoff; a 550 fails that report only, with the
    server's reason kept; the others go out."""
    _seed(store)
    transport = InMemoryTransport()
    clock = ManualClock(MONDAY)
    service = ReportService(store, clock, transport)
    service.add(_report(created_at=JUST_BEFORE))
    service.plan(MONDAY)
    transport.fail_next(1)
    transport.fail_next(1, kind=rk.PermanentSendError, message="550 no such user")
    summary = service.send_due(MONDAY)
    assert (summary.sent, summary.failed, summary.retried) == (1, 1, 1)
    failed = service.runs(statuses=[ReportRunStatus.FAILED])
    assert [r.last_error for r in failed] == ["550 no such user"]
    waiting = service.runs(statuses=[ReportRunStatus.PENDING])
    assert len(waiting) == 1
    assert waiting[0].due_at == MONDAY + timedelta(minutes=5)
    assert service.send_due(MONDAY + timedelta(minutes=5)).sent == 1


def test_a_report_that_cannot_be_rendered_fails_alone(
    store: rk.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception while rendering one recipient's report fails that run with the reason;
    the others are sent."""
    _seed(store)
    transport = InMemoryTransport()
    service = ReportService(store, ManualClock(MONDAY), transport)
    service.add(_report(created_at=JUST_BEFORE))
    service.plan(MONDAY)
    real = service.render

    def render(figures: rk.ReportFigures) -> object:
        if figures.recipient.address == "piotr@shop.example":
            raise ZeroDivisionError("broken chart")
        return real(figures)

    monkeypatch.setattr(service, "render", render)
    summary = service.send_due(MONDAY)
    assert (summary.sent, summary.failed) == (2, 1)
    (failed,) = service.runs(statuses=[ReportRunStatus.FAILED])
    assert failed.last_error == "cannot render: ZeroDivisionError: broken chart"


def test_report_chore_sends_from_a_dispatcher(store: rk.Store) -> None:
    """A dispatcher with the report chore sends due reports between its passes."""
    _seed(store)
    transport = InMemoryTransport()
    clock = ManualClock(MONDAY)
    service = ReportService(store, clock, transport)
    service.add(_report(created_at=JUST_BEFORE))
    chore = ReportChore(service)
    dispatcher = rk.Dispatcher(store, transport, clock, chores=[chore])
    dispatcher.run_chores(MONDAY)
    assert chore.sent == 3
    assert len(transport.sent) == 3


def test_report_dates_are_local_days() -> None:
    """The intro names the period's first and last local day."""
    store = rk.InMemoryStore()
    _seed(store)
    figures = ReportService(store, ManualClock(MONDAY)).figures(_report(), at=MONDAY)
    rendered = render_report(figures["piotr@shop.example"])
    assert (
        f"({date(2026, 11, 23).isoformat()} to {date(2026, 11, 29).isoformat()})" in rendered.text
    )
