"""Plan and run a review campaign from plain Python.

A shop asks last week's customers for a review: Monday to Friday, 09:00-17:00 Warsaw time,
never on Polish public holidays, one message a minute. The campaign is stored in SQLite and
the messages land in a Maildir folder any mail client can open. A simulated clock jumps over
nights, the weekend and the holidays, so this finishes in a second.

Run it: ``python examples/plan_and_run_campaign.py [OUTPUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore


def main(folder: Path) -> None:
    warsaw = rk.load_zone("Europe/Warsaw")
    clock = rk.ManualClock(datetime(2026, 12, 23, 16, 50, tzinfo=warsaw))
    owner = rk.Actor.system(email="owner@shop.example")

    with SQLiteStore(folder / "shop.sqlite3") as store:
        campaigns = rk.CampaignService(store, clock)
        campaigns.create(
            owner,
            name="December orders",
            sender="Sklep <opinie@sklep.example>",
            subject="How was order {{ recipient.transaction_id }}?",
            body="Hello {{ recipient.name }},\n\nhow did we do with your order?\n",
            html="<p>Hello {{ recipient.name }}, how did we do?</p>",
            timezone="Europe/Warsaw",
            window=rk.SendWindow(
                weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL")
            ),
            interval=timedelta(minutes=1),
            start_at=clock.now(),
        )
        customers = [
            rk.Recipient(
                email=f"customer{n}@example.com", name=f"Customer {n}", transaction_id=f"ZAM-{n}"
            )
            for n in range(1, 21)
        ]
        added = campaigns.add_recipients(owner, "December orders", customers)
        print(f"added {added.added} recipients ({added.duplicates} duplicates)")

        # Check the message on yourself first (seed 001: a test send to the acting user).
        outbox = rk.MaildirTransport(folder / "outbox")
        campaigns.send_test(owner, "December orders", outbox)

        campaigns.schedule(owner, "December orders")
        report = rk.Dispatcher(store, outbox, clock).run()
        print(f"sent {report.sent}, failed {report.failed}")

        counts = campaigns.counts(owner, "December orders")
        print({status.value: n for status, n in counts.items() if n})
        sent = sorted(d.sent_at for d in campaigns.requests(owner, "December orders") if d.sent_at)
        print(
            f"first {sent[0].astimezone(warsaw):%a %d %b %H:%M}, "
            f"last {sent[-1].astimezone(warsaw):%a %d %b %H:%M}"
        )
        assert campaigns.get(owner, "December orders").status is rk.CampaignStatus.COMPLETED
        assert counts[rk.RequestStatus.SENT] == 20
    print(f"messages in {folder / 'outbox'}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
