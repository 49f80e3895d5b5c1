"""Weekly personalised reports from a SQLite database into a Maildir.

A chain of shops collects NPS answers in three stores. Every Monday at 08:00 (Warsaw time,
moved to Tuesday after a public holiday) each store manager gets her store's report, the
regional manager his region's, with the network average beside it. The e-mails land in a
Maildir here (SMTP in production); the script opens one as a mail client would and saves
the same report as a standalone HTML file.

Run it: ``python examples/weekly_reports.py`` (charts need ``pip install 'reviewkit[reports]'``)
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import random
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import reviewkit as rk
from reviewkit.adapters.charts import MatplotlibCharts, charts_available
from reviewkit.domain.window import HolidayCalendar, SendWindow

STORES = {"krk-1": "Kraków Rynek", "krk-2": "Kraków Kazimierz", "kat-1": "Katowice"}


def fill(store: rk.Store, until: datetime) -> None:
    """Eight weeks of answers, a request sent an hour before each."""
    rng = random.Random(5)
    campaign = store.add_campaign(rk.Campaign(name="after purchase", survey=None))
    for n in range(1200):
        at = until - timedelta(minutes=rng.randrange(8 * 7 * 24 * 60))
        segment = rng.choice(list(STORES))
        request = rk.Request(
            campaign_id=campaign.id,
            recipient=rk.Recipient(email=f"c{n}@example.com", segment=segment),
            channel=rk.Channel.EMAIL,
            address=f"c{n}@example.com",
            status=rk.RequestStatus.SENT,
            sent_at=at - timedelta(hours=1),
        )
        store.add_requests([request])
        score = rng.choice([2, 5, 7, 8, 9, 10, 10]) if segment != "kat-1" else rng.randint(0, 9)
        store.add_answer(
            rk.Answer(
                request_id=request.id,
                campaign_id=campaign.id,
                kind=rk.SurveyType.NPS,
                score=score,
                comment="Queue at the till was long" if score < 4 and n % 3 == 0 else None,
                at=at,
                segment=segment,
            )
        )
        store.record_engagement(request.id, rk.Engagement.ANSWERED, at)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="reviewkit-reports-"))
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Warsaw
    clock = rk.ManualClock(monday - timedelta(days=1))
    outbox = rk.MaildirTransport(work / "outbox")
    with rk.SQLiteStore(work / "shop.sqlite3") as store:
        fill(store, monday)
        managers = [
            rk.ReportRecipient(
                address=f"{segment}@shop.example",
                name=f"Manager of {label}",
                scope=rk.Scope(label=label, segments=[segment]),
                timezone="Europe/Warsaw",
                language="pl" if segment.startswith("krk") else "en",
            )
            for segment, label in STORES.items()
        ]
        region = rk.ReportRecipient(
            address="south@shop.example",
            scope=rk.Scope(label="South", segments=list(STORES)),
            timezone="Europe/Warsaw",
        )
        charts = MatplotlibCharts() if charts_available() else None
        reports = rk.ReportService(store, clock, outbox, charts=charts)
        reports.add(
            rk.ReportDefinition(
                name="weekly",
                title="Customer feedback",
                recipients=[*managers, region],
                recurrence=rk.Recurrence(every="week", weekday=0, at=time(8, 0)),
                window=SendWindow(weekdays="mon-fri", holidays=HolidayCalendar.parse("PL")),
            )
        )
        clock.set(monday)
        planned = reports.plan()
        summary = reports.send_due()
        print(f"planned {planned}, sent {summary.sent}, failed {summary.failed}")
        assert summary.sent == 4

        # What the regional manager's mail program shows.
        (raw,) = [m for m in mailbox.Maildir(work / "outbox") if m["To"] == region.address]
        message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
        print(message["Subject"])
        for part in message.walk():
            if not part.is_multipart():
                print(f"  {part.get_content_type():12} {part.get_filename() or ''}")
        figures = reports.figures("weekly", at=monday, recipients=[region.address])
        (nps,) = figures[region.address].kinds
        print(f"  NPS {nps.current.value:+.0f} from {nps.current.n} answers; by store:")
        for row in nps.league:
            print(f"    {STORES[row.group or '']:17} {row.score.value:+5.0f}")
        page = work / "south.html"
        page.write_text(reports.render(figures[region.address]).standalone_html(), "utf-8")
        print(f"the same report as one HTML file: {page}")


if __name__ == "__main__":
    main()
