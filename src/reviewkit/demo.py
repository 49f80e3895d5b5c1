"""The demo: a whole campaign, planned and sent, on a simulated clock, into a Maildir.

``reviewkit demo`` runs :func:`run_demo`; it is also a worked example of the API.
"""

from __future__ import annotations

import contextlib
import mailbox
import random
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import attrs

from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.maildir import MaildirTransport
from reviewkit.adapters.qr import write_qr
from reviewkit.domain.campaign import Campaign
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Recipient, RequestStatus
from reviewkit.domain.secret import Secret
from reviewkit.domain.survey import Survey
from reviewkit.domain.tokens import LinkSigner
from reviewkit.domain.window import HolidayCalendar, SendWindow, load_zone
from reviewkit.errors import NotFoundError
from reviewkit.ports import Store
from reviewkit.services.answers import AnswerService
from reviewkit.services.campaigns import CampaignService
from reviewkit.services.dispatch import Dispatcher

__all__ = ["DEMO_CAMPAIGN", "DEMO_TILL", "DemoResult", "run_demo"]

DEMO_CAMPAIGN = "demo"
DEMO_TILL = "demo-till"
DEMO_ZONE = "Europe/Warsaw"
# Wednesday 23 December 2026, 16:00: an hour of sending, then Christmas Eve, Christmas and
# Boxing Day (public holidays in Poland), a weekend, and Monday morning.
DEMO_START = datetime(2026, 12, 23, 16, 0, tzinfo=load_zone(DEMO_ZONE))

_FIRST = ["Anna", "Piotr", "Zofia", "Jakub", "Łucja", "Mikołaj", "Ewa", "Paweł", "Hanna", "Żaneta"]
_LAST = ["Nowak", "Kowalska", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zieliński"]

SUBJECT = "Jak oceniasz zamówienie {{ recipient.transaction_id }}?"
BODY = """Dzień dobry {{ recipient.name }},

dziękujemy za zakupy w naszym sklepie. Jak oceniasz zamówienie {{ recipient.transaction_id }}?
Twoja opinia pomoże innym klientom.

Zespół Sklepu
"""
HTML = """<p>Dzień dobry {{ recipient.name }},</p>
<p>dziękujemy za zakupy w naszym sklepie. Jak oceniasz zamówienie
<strong>{{ recipient.transaction_id }}</strong>?</p>
<p>Zespół Sklepu</p>
"""


@attrs.frozen
class DemoResult:
    """What the demo did."""

    campaign: Campaign
    counts: dict[RequestStatus, int]
    first_sent: datetime | None
    last_sent: datetime | None
    outbox: Path
    messages: int
    outside_window: int
    survey_link: str
    """An open survey link for the Kraków till (answered by a few customers in the demo)."""
    qr: Path
    """The link as a QR code (PNG) beside the outbox."""
    till_answers: int


def demo_recipients(count: int, seed: int = 2026) -> Iterator[Recipient]:
    """Yield *count* made-up customers with Polish names and order numbers."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        yield Recipient(
            email=f"klient{n:05d}@example.com",
            name=f"{first} {last}",
            transaction_id=f"ZAM-2026-{n:05d}",
            fields={"store": rng.choice(["Kraków", "Gdańsk", "Poznań", "online"])},
        )


def run_demo(
    store: Store,
    outbox: str | Path,
    recipients: int = 300,
    *,
    links: LinkSigner | None = None,
) -> DemoResult:
    """Plan and send the demo campaign to completion on a simulated clock, then open an NPS
    survey link for a till and answer it as a few customers would.

    Campaigns named ``demo`` and ``demo-till`` left by an earlier run are replaced, and
    their messages are removed from the outbox.

    :param links: the keys that sign the till's link (a one-off key when ``None``: the link
        then works only in this run).
    """
    outbox = Path(outbox)
    zone = load_zone(DEMO_ZONE)
    clock = ManualClock(DEMO_START)
    actor = Actor.system(email="owner@shop.example")
    service = CampaignService(store, clock)
    _forget_previous_demo(store, outbox)

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
    )
    service.add_recipients(actor, DEMO_CAMPAIGN, demo_recipients(recipients))
    service.schedule(actor, DEMO_CAMPAIGN)

    transport = MaildirTransport(outbox)
    Dispatcher(store, transport, clock, worker_id="demo").run(until_idle=True)

    link, qr, answered = _till(store, clock, outbox, links)
    campaign = service.get(actor, DEMO_CAMPAIGN)
    sent = [d.sent_at for d in store.iter_requests(campaign.id, {RequestStatus.SENT})]
    times = sorted(t for t in sent if t is not None)
    return DemoResult(
        campaign=campaign,
        counts=store.count_requests(campaign.id),
        first_sent=times[0].astimezone(zone) if times else None,
        last_sent=times[-1].astimezone(zone) if times else None,
        outbox=outbox,
        messages=_count_messages(outbox, campaign.id),
        outside_window=sum(1 for t in times if not window.contains(t, zone)),
        survey_link=link,
        qr=qr,
        till_answers=answered,
    )


def _till(
    store: Store, clock: ManualClock, outbox: Path, links: LinkSigner | None
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
    signer = links or LinkSigner({"demo": Secret(secrets.token_urlsafe(32))})
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
            if message_from_bytes(box.get_bytes(key))["X-Reviewkit-Campaign"] == old.id:
                box.remove(key)


def _count_messages(outbox: Path, campaign_id: str) -> int:
    box = mailbox.Maildir(outbox, create=False)
    return sum(
        1
        for key in box.iterkeys()
        if message_from_bytes(box.get_bytes(key))["X-Reviewkit-Campaign"] == campaign_id
    )
