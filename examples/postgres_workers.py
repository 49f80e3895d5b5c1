"""Several dispatchers on one PostgreSQL database, as on several hosts.

A shop that sends from more than one machine keeps its campaigns in PostgreSQL. Each worker
(here a thread; in production a process per host) claims its own requests with row locks that
skip what another holds, so every message goes out once; an idle worker sleeps until the
database tells it a request arrived.

Run it: ``REVIEWKIT_PG=postgresql://user:password@host/database python
examples/postgres_workers.py [OUTPUT_DIR]`` (needs ``pip install 'reviewkit[postgres]'``;
the database's tables are created on first use).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import reviewkit as rk
from reviewkit.adapters.postgres import NotifiedClock, PostgresStore


def main(url: str, folder: Path) -> None:
    owner = rk.Actor.system(email="owner@shop.example")
    with PostgresStore(url) as store:
        campaigns = rk.CampaignService(store, rk.SystemClock())
        campaigns.create(
            owner,
            name="Orders from every warehouse",
            sender="Shop <reviews@shop.example>",
            subject="How was order {{ recipient.transaction_id }}?",
            body="Hello {{ recipient.name }}, how did we do?",
            start_at=datetime(2026, 1, 5, tzinfo=UTC),  # due at once: no window, no interval
        )
        campaigns.add_recipients(
            owner,
            "Orders from every warehouse",
            [
                rk.Recipient(email=f"c{n}@example.com", name=f"C{n}", transaction_id=f"W-{n}")
                for n in range(500)
            ],
        )
        campaigns.schedule(owner, "Orders from every warehouse")

    outbox = rk.MaildirTransport(folder / "outbox")
    sent_by: Counter[str] = Counter()

    def work(name: str) -> None:
        # One store per worker, as one per process: each has its own connections.
        with PostgresStore(url, pool_size=1) as own:
            dispatcher = rk.Dispatcher(
                own, outbox, NotifiedClock(own), worker_id=name, batch_size=25
            )
            sent_by[name] = dispatcher.run(until_idle=True).sent

    workers = [threading.Thread(target=work, args=(f"host-{n}",)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    with PostgresStore(url) as store:
        campaign = store.get_campaign("Orders from every warehouse")
        counts = store.count_requests(campaign.id)
    print(f"sent per worker: {dict(sorted(sent_by.items()))}")
    print(f"sent {counts[rk.RequestStatus.SENT]} of 500; campaign {campaign.status.value}")
    print(f"messages in {folder / 'outbox'}: {len(list((folder / 'outbox' / 'new').iterdir()))}")


if __name__ == "__main__":
    address = os.environ.get("REVIEWKIT_PG")
    if not address:
        sys.exit("set REVIEWKIT_PG to a PostgreSQL URL, e.g. postgresql://localhost/reviews")
    main(address, Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
