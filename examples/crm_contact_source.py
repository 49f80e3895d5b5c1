"""Recipients from the host's own CRM (seed 001): a contact source over its orders table.

A contact source is any object with ``contacts(since=...)`` yielding ``rk.Recipient``s
(``reviewkit.ports.ContactSource``). Here the "CRM" is a SQLite database with customers and
orders; the source yields one recipient per finished order, with the customer's segment and
publication consent. Reading it again after new orders adds only the new ones: requests are
unique per transaction.

Run it: ``python examples/crm_contact_source.py``
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import reviewkit as rk


class CrmOrders:
    """Finished orders of the CRM as review recipients."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def contacts(self, *, since: datetime | None = None) -> Iterator[rk.Recipient]:
        rows = self.db.execute(
            "SELECT c.email, c.phone, c.name, c.segment, c.publication_ok, c.consent_at, "
            "o.number FROM orders o JOIN customers c ON c.id = o.customer "
            "WHERE o.finished_at >= ? ORDER BY o.finished_at",
            ((since or datetime.min.replace(tzinfo=UTC)).isoformat(),),
        )
        for email, phone, name, segment, publication_ok, consent_at, number in rows:
            consent = rk.Consent(
                granted=bool(publication_ok),
                at=datetime.fromisoformat(consent_at),
                source="CRM customer record",
            )
            yield rk.Recipient(
                email=email,
                phone=phone,
                name=name,
                transaction_id=number,
                segment=segment,
                consents={rk.PUBLICATION: consent},
            )


def crm() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, name TEXT,
                                segment TEXT, publication_ok INTEGER, consent_at TEXT);
        CREATE TABLE orders (number TEXT PRIMARY KEY, customer INTEGER, finished_at TEXT);
        INSERT INTO customers VALUES
            (1, 'ala@example.com', '500 100 200', 'Ala', 'vip', 1, '2026-01-10T12:00:00+00:00'),
            (2, 'ola@example.com', NULL, 'Ola', 'regular', 0, '2026-03-02T08:30:00+00:00');
        INSERT INTO orders VALUES
            ('Z-101', 1, '2026-11-20T10:00:00+00:00'),
            ('Z-102', 2, '2026-11-21T15:00:00+00:00');
        """
    )
    return db


def main() -> None:
    clock = rk.ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    store = rk.InMemoryStore()
    service = rk.CampaignService(store, clock)
    me = rk.Actor.system()
    service.create(me, name="crm reviews", default_region="PL")
    db = crm()
    source = CrmOrders(db)
    assert isinstance(source, rk.ContactSource)

    first = service.add_from_source(me, "crm reviews", source)
    print(f"first read: {first.added} added, {first.duplicates} already there")

    db.execute("INSERT INTO orders VALUES ('Z-103', 1, '2026-11-23T08:00:00+00:00')")
    again = service.add_from_source(
        me, "crm reviews", source, since=clock.now() - timedelta(days=2)
    )
    print(f"second read: {again.added} added, {again.duplicates} already there")
    assert (first.added, again.added, again.duplicates) == (2, 1, 1)

    for d in service.requests(me, "crm reviews"):
        publication = d.recipient.consents[rk.PUBLICATION].granted
        print(
            f"  {d.recipient.transaction_id} {d.address:<16} {d.recipient.phone or '-':<13}"
            f" segment={d.recipient.segment} publication={'yes' if publication else 'no'}"
        )


if __name__ == "__main__":
    main()
