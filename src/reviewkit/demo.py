"""The demo: the whole loop of a survey campaign on a simulated clock, into a Maildir.

Planned and sent inside its window across a night, Christmas and a weekend; simulated
customers answer a share of the messages through the real answer page (the WSGI
application), some after a reminder, a few unsubscribe; an alert rule tells customer care of
angry customers; the scores by store and week close it. ``reviewkit demo`` runs
:func:`run_demo`; it is also a worked example of the API.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mailbox
import random
import re
import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from wsgiref.util import setup_testing_defaults

import attrs

from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.maildir import MaildirTransport
from reviewkit.adapters.notifier import TransportNotifier
from reviewkit.adapters.qr import write_qr
from reviewkit.domain.alerts import Alert, AnswerRule
from reviewkit.domain.campaign import Campaign, Reminder
from reviewkit.domain.consent import PUBLICATION, Consent
from reviewkit.domain.instants import as_utc
from reviewkit.domain.notifications import Route
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Recipient, RequestStatus
from reviewkit.domain.secret import Secret
from reviewkit.domain.survey import Survey, SurveyType
from reviewkit.domain.tokens import LinkSigner
from reviewkit.domain.window import HolidayCalendar, SendWindow, load_zone
from reviewkit.errors import NotFoundError, ReviewkitError
from reviewkit.ports import Store
from reviewkit.services.alerts import AlertChore, AlertService
from reviewkit.services.answers import AnswerService
from reviewkit.services.campaigns import CampaignService
from reviewkit.services.dispatch import Dispatcher
from reviewkit.services.scores import ScoreRow, ScoreService
from reviewkit.web import WSGIApp, make_app

__all__ = [
    "DEMO_ANSWER_BASE",
    "DEMO_CAMPAIGN",
    "DEMO_CARE",
    "DEMO_TILL",
    "ContinuedClock",
    "DemoResult",
    "demo_answer_app",
    "run_demo",
]

DEMO_CAMPAIGN = "demo"
DEMO_TILL = "demo-till"
DEMO_ZONE = "Europe/Warsaw"
DEMO_ANSWER_BASE = "http://127.0.0.1:8025"
"""Where the links in the demo's messages lead: ``reviewkit demo --serve`` serves there."""
DEMO_CARE = "opieka@sklep.example"
DEMO_RULE = "demo: angry customer"
# Wednesday 23 December 2026, 16:00: an hour of sending, then Christmas Eve, Christmas and
# Boxing Day (public holidays in Poland), a weekend, and Monday morning.
DEMO_START = datetime(2026, 12, 23, 16, 0, tzinfo=load_zone(DEMO_ZONE))

_FIRST = ["Anna", "Piotr", "Zofia", "Jakub", "Łucja", "Mikołaj", "Ewa", "Paweł", "Hanna", "Żaneta"]
_LAST = ["Nowak", "Kowalska", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zieliński"]
_STORES = ["Kraków", "Gdańsk", "Poznań", "online"]

SUBJECT = "Jak oceniasz zamówienie {{ recipient.transaction_id }}?"
REMINDER_SUBJECT = "Przypomnienie: " + SUBJECT
BODY = """Dzień dobry {{ recipient.name }},

dziękujemy za zakupy w naszym sklepie. Jak oceniasz zamówienie {{ recipient.transaction_id }}?
{{ survey.question }}

Odpowiedz tutaj: {{ links.answer }}

Zespół Sklepu

Nie chcesz takich wiadomości? {{ links.unsubscribe }}
"""
HTML = """<p>Dzień dobry {{ recipient.name }},</p>
<p>dziękujemy za zakupy w naszym sklepie. Jak oceniasz zamówienie
<strong>{{ recipient.transaction_id }}</strong>?</p>
<p>{{ survey.question }}</p>
<p>{% for option in survey.options %}<a href="{{ option.url }}">{{ option.score }}</a>
{% endfor %}</p>
<p>{{ survey.low_label }} … {{ survey.high_label }}</p>
<p>Zespół Sklepu</p>
<p><small><a href="{{ links.unsubscribe }}">Nie chcę takich wiadomości</a></small></p>
"""

# How customers of each store score (weights of 0 to 10), and what the unhappy ones write.
_SCORE_WEIGHTS = {
    "Kraków": [0, 0, 0, 0, 1, 1, 2, 3, 6, 12, 14],
    "Gdańsk": [1, 0, 1, 1, 1, 2, 3, 5, 6, 6, 5],
    "Poznań": [3, 2, 3, 3, 3, 3, 3, 4, 3, 3, 2],
    "online": [0, 0, 1, 1, 1, 1, 2, 4, 6, 8, 7],
}
_COMPLAINTS = [
    "Paczka przyszła uszkodzona.",
    "Długo czekałam na kuriera.",
    "Nikt nie odpowiedział na mojego maila.",
    "Długa kolejka do kasy.",
    "Produkt niezgodny z opisem.",
]
_PRAISE = ["Szybka dostawa, dziękuję!", "Miła obsługa.", "Wszystko w porządku.", "Polecam."]


@attrs.frozen
class DemoResult:
    """What the demo did."""

    campaign: Campaign
    counts: dict[RequestStatus, int]
    first_sent: datetime | None
    last_sent: datetime | None
    outbox: Path
    messages: int
    """Review requests and reminders in the outbox."""
    reminders: int
    outside_window: int
    answers: int
    """Answers the simulated customers gave through the answer page."""
    after_reminder: int
    """Of which after a reminder."""
    unsubscribed: int
    alerts: tuple[Alert, ...]
    """Alerts that fired (each told to customer care in a message in the outbox)."""
    scores: tuple[ScoreRow, ...]
    """NPS by store and ISO week, in the campaign's time zone (from 10 answers)."""
    survey_link: str
    """An open survey link for the Kraków till (answered by a few customers in the demo)."""
    qr: Path
    """The link as a QR code (PNG) beside the outbox."""
    till_answers: int
    answer_base: str
    """Where the links in the messages lead."""
    ended_at: datetime
    """The simulated clock's time when the demo ended."""


def demo_recipients(count: int, seed: int = 2026) -> Iterator[Recipient]:
    """Yield *count* made-up customers with Polish names and order numbers."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        store = rng.choice(_STORES)
        # About half agreed at checkout that their review may be published.
        consent = Consent(granted=rng.random() < 0.5, source="checkout")
        yield Recipient(
            email=f"klient{n:05d}@example.com",
            name=f"{first} {last}",
            transaction_id=f"ZAM-2026-{n:05d}",
            segment=store,
            fields={"store": store},
            consents={PUBLICATION: consent},
        )


def demo_answer_app(store: Store, clock: Any, links: LinkSigner) -> WSGIApp:
    """The answer page for the demo's links (what ``reviewkit demo --serve`` serves)."""
    return make_app(AnswerService(store, clock, links), language="pl")


def run_demo(
    store: Store,
    outbox: str | Path,
    recipients: int = 300,
    *,
    links: LinkSigner | None = None,
    answer_base: str = DEMO_ANSWER_BASE,
    seed: int = 2026,
) -> DemoResult:
    """Run the demo campaign's whole loop to completion on a simulated clock, then open an
    NPS survey link for a till and answer it as a few customers would.

    Campaigns named ``demo`` and ``demo-till`` left by an earlier run are replaced, and
    their messages are removed from the outbox.

    :param links: the keys that sign the links (a one-off key when ``None``: the links then
        work only in this run).
    :param answer_base: where the links in the messages lead (``http://host:port``).
    :param seed: the simulated customers' choices.
    """
    outbox = Path(outbox)
    zone = load_zone(DEMO_ZONE)
    clock = ManualClock(DEMO_START)
    actor = Actor.system(email="owner@shop.example")
    signer = links or LinkSigner({"demo": Secret(secrets.token_urlsafe(32))})
    service = CampaignService(store, clock)
    _forget_previous_demo(store, outbox)

    base = answer_base.rstrip("/")
    window = SendWindow(weekdays="mon-fri", hours="09:00-17:00", holidays=HolidayCalendar("PL"))
    service.create(
        actor,
        name=DEMO_CAMPAIGN,
        sender="Sklep Przykładowy <opinie@sklep.example>",
        subject=SUBJECT,
        body=BODY,
        html=HTML,
        timezone=DEMO_ZONE,
        window=window,
        interval=timedelta(seconds=30),
        start_at=DEMO_START,
        survey=Survey(
            type=SurveyType.NPS,
            language="pl",
            privacy_url="https://sklep.example/prywatnosc",
            expiry_days=14,
        ),
        answer_url=f"{base}/a/{{token}}",
        unsubscribe_url=f"{base}/u/{{token}}",
        reminder=Reminder(after=timedelta(days=3), count=1, subject=REMINDER_SUBJECT),
    )
    service.add_recipients(actor, DEMO_CAMPAIGN, demo_recipients(recipients, seed))
    service.schedule(actor, DEMO_CAMPAIGN)

    transport = MaildirTransport(outbox)
    alerts = AlertService(store, clock, routes=[Route(receiver="care")])
    with contextlib.suppress(NotFoundError):
        alerts.remove_rule(DEMO_RULE)
    rule = alerts.add_rule(AnswerRule(name=DEMO_RULE, survey=SurveyType.NPS, threshold=3))
    answers = AnswerService(store, clock, signer)
    answers.on_answer(alerts.on_answer)
    customers = _Customers(store, make_app(answers, language="pl"), outbox, base, seed)
    notifier = TransportNotifier(
        transport, addresses={"care": DEMO_CARE}, sender="reviewkit <alerty@sklep.example>"
    )
    care = AlertChore(alerts, notifier, every=timedelta(hours=1))
    Dispatcher(store, transport, clock, links=signer, chores=[customers, care]).run()
    customers.finish(clock)  # the last reminders' answers come after the last send
    alerts.deliver(notifier)

    link, qr, till_answers = _till(store, clock, outbox, signer)
    campaign = service.get(actor, DEMO_CAMPAIGN)
    sent = [d.sent_at for d in store.iter_requests(campaign.id, {RequestStatus.SENT})]
    times = sorted(t for t in sent if t is not None)
    scores = ScoreService(store).scores(
        SurveyType.NPS,
        by="segment",
        period="week",
        timezone=DEMO_ZONE,
        campaign_id=campaign.id,
        min_sample=10,
    )
    return DemoResult(
        campaign=campaign,
        counts=store.count_requests(campaign.id),
        first_sent=times[0].astimezone(zone) if times else None,
        last_sent=times[-1].astimezone(zone) if times else None,
        outbox=outbox,
        messages=_count_messages(outbox, campaign.id),
        reminders=customers.reminders,
        outside_window=sum(1 for t in times if not window.contains(t, zone)),
        answers=customers.answered,
        after_reminder=customers.after_reminder,
        unsubscribed=customers.unsubscribed,
        alerts=tuple(store.list_alerts(rule_id=rule.id)),
        scores=tuple(scores),
        survey_link=link,
        qr=qr,
        till_answers=till_answers,
        answer_base=base,
        ended_at=clock.now(),
    )


class ContinuedClock:
    """A clock that starts at *start* and runs on in real time (``reviewkit demo --serve``:
    the answer page carries on from where the simulated clock stopped)."""

    def __init__(self, start: datetime) -> None:
        self._start = as_utc(start)
        self._began = time.monotonic()

    def now(self) -> datetime:
        """*start* plus the real time elapsed since this clock was made."""
        return self._start + timedelta(seconds=time.monotonic() - self._began)

    def sleep_until(self, instant: datetime) -> None:
        """Sleep in real time until *instant* on this clock."""
        time.sleep(max(0.0, (as_utc(instant) - self.now()).total_seconds()))


@attrs.define
class _Plan:
    at: datetime
    path: str
    action: str  # "answer" or "unsubscribe"
    score: int = 0
    comment: str | None = None
    reminder: bool = False


class _Customers:
    """Simulated customers: each reads the messages that reach them in the outbox and acts
    on some of them at their own pace, through the real answer page.

    A :class:`~reviewkit.ports.Chore` of the demo's dispatcher, so answers come between the
    sends on the simulated clock and reminders go only to those who stayed silent.
    """

    name = "simulated customers"

    def __init__(self, store: Store, app: WSGIApp, outbox: Path, base: str, seed: int) -> None:
        self.store = store
        self.app = app
        self.outbox = outbox
        self.prefix = urlsplit(base).path.rstrip("/")
        self.seed = seed
        self.seen: set[str] = set()
        self.plans: list[_Plan] = []
        self.answered = self.after_reminder = self.unsubscribed = self.reminders = 0

    def run(self, now: datetime) -> datetime:
        """Read new messages, act on what is due; return when the next customer acts."""
        now = as_utc(now)
        self._read(now)
        due = [p for p in self.plans if p.at <= now]
        self.plans = [p for p in self.plans if p.at > now]
        for plan in due:
            self._act(plan)
        return min((p.at for p in self.plans), default=now + timedelta(days=1))

    def finish(self, clock: ManualClock) -> None:
        """Let every customer who meant to act do so."""
        self._read(as_utc(clock.now()))
        while self.plans:
            clock.set(max(as_utc(clock.now()), min(p.at for p in self.plans)))
            self.run(clock.now())

    def _read(self, now: datetime) -> None:
        if not self.outbox.exists():
            return
        box = mailbox.Maildir(self.outbox, create=False)
        for key in box.iterkeys():
            if key in self.seen:
                continue
            self.seen.add(key)
            message = message_from_bytes(box.get_bytes(key), policy=policy.default)
            if not isinstance(message, EmailMessage) or not message["X-Reviewkit-Request"]:
                continue
            plan = self._decide(message, now)
            if plan is not None:
                self.plans.append(plan)

    def _decide(self, message: EmailMessage, now: datetime) -> _Plan | None:
        address = str(message["To"])
        reminder = str(message["Subject"]).startswith("Przypomnienie")
        self.reminders += reminder
        # One person decides the same way about the same message, whatever the run.
        digest = hashlib.sha256(f"{self.seed}|{address}|{reminder}".encode()).digest()
        rng = random.Random(digest)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        answer = re.search(r"https?://\S+/a/(\S+)", text)
        leave = re.search(r"https?://\S+/u/(\S+)", text)
        if answer is None or leave is None:
            return None
        roll = rng.random()
        if not reminder and roll < 0.02:
            delay = timedelta(minutes=rng.randint(5, 600))
            return _Plan(now + delay, f"/u/{leave.group(1)}", "unsubscribe")
        if roll > (0.25 if reminder else 0.45):
            return None  # stays silent
        where = self.store.get_request(str(message["X-Reviewkit-Request"])).recipient.segment
        weights = _SCORE_WEIGHTS.get(where or "", _SCORE_WEIGHTS["online"])
        score = rng.choices(range(11), weights=weights)[0]
        comment = None
        if rng.random() < 0.4:
            comment = rng.choice(_COMPLAINTS if score <= 6 else _PRAISE)
        delay = timedelta(minutes=rng.randint(10, 36 * 60))
        return _Plan(now + delay, f"/a/{answer.group(1)}", "answer", score, comment, reminder)

    def _act(self, plan: _Plan) -> None:
        if plan.action == "unsubscribe":
            status = self._call("POST", plan.path, {"List-Unsubscribe": "One-Click"})
            self.unsubscribed += status.startswith("200")
            return
        # The customer clicks a score in the e-mail, looks at the page, then submits it.
        self._call("GET", plan.path, None, query=f"score={plan.score}")
        form: dict[str, str] = {"score": str(plan.score)}
        if plan.comment:
            form["comment"] = plan.comment
        status = self._call("POST", plan.path, form)
        if status.startswith("303"):  # recorded: the thank-you page follows
            self.answered += 1
            self.after_reminder += plan.reminder
        elif not status.startswith("410"):  # a closed survey is the customer's bad luck
            raise ReviewkitError(f"the demo's answer page said {status} to {plan.path}")

    def _call(self, method: str, path: str, form: dict[str, str] | None, query: str = "") -> str:
        body = urlencode(form or {}).encode("utf-8")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": self.prefix,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
        }
        setup_testing_defaults(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        seen: dict[str, str] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            seen["status"] = status

        b"".join(self.app(environ, start_response))
        return seen["status"]


def _till(
    store: Store, clock: ManualClock, outbox: Path, signer: LinkSigner
) -> tuple[str, Path, int]:
    """An NPS survey at the Kraków till: its open link, a QR code, and six answers."""
    store.add_campaign(
        Campaign(
            name=DEMO_TILL,
            survey=Survey(
                type="nps", language="pl", privacy_url="https://sklep.example/prywatnosc"
            ),
            timezone=DEMO_ZONE,
        )
    )
    answers = AnswerService(store, clock, signer)
    token = answers.open_link(DEMO_TILL, "Kraków")
    url = f"https://sklep.example/opinie/s/{token}"
    qr = write_qr(url, outbox.parent / f"{outbox.name}-till-qr.png")
    for score, comment in [(10, "Miła obsługa"), (9, None), (9, None), (7, None),
                           (3, "Długa kolejka do kasy"), (10, None)]:  # fmt: skip
        clock.advance(timedelta(minutes=7))
        answers.answer_open(answers.open_page(token), score=score, comment=comment)
    return url, qr, 6


def _forget_previous_demo(store: Store, outbox: Path) -> None:
    with contextlib.suppress(NotFoundError):
        store.delete_campaign(store.get_campaign(DEMO_TILL).id)
    try:
        old = store.get_campaign(DEMO_CAMPAIGN)
    except NotFoundError:
        return
    store.delete_campaign(old.id)
    if outbox.exists():
        box = mailbox.Maildir(outbox, create=False)
        for key in list(box.iterkeys()):
            message = message_from_bytes(box.get_bytes(key))
            if message["X-Reviewkit-Campaign"] == old.id or message["To"] == DEMO_CARE:
                box.remove(key)


def _count_messages(outbox: Path, campaign_id: str) -> int:
    box = mailbox.Maildir(outbox, create=False)
    return sum(
        1
        for key in box.iterkeys()
        if message_from_bytes(box.get_bytes(key))["X-Reviewkit-Campaign"] == campaign_id
    )
