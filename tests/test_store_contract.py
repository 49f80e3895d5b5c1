"""The storage contract: every store adapter passes these tests (see the ``store`` fixture)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SCHEMA_VERSION, SQLiteStore
from reviewkit.adapters.sqlite.store import StorageError
from reviewkit.serialization import unstructure

D = rk.DeliveryStatus
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _campaign(store: rk.Store, name: str = "c") -> rk.Campaign:
    return store.add_campaign(rk.Campaign(name=name, created_at=NOW))


def _delivery(campaign: rk.Campaign, n: int, **kw: object) -> rk.Delivery:
    recipient = rk.Recipient(email=f"r{n}@example.com", transaction_id=f"T{n}")
    return rk.Delivery(
        campaign_id=campaign.id,
        recipient=recipient,
        channel=rk.Channel.EMAIL,
        address=recipient.email or "",
        **kw,  # type: ignore[arg-type]
    )


class TestCampaigns:
    def test_round_trip_keeps_every_setting(self, store: rk.Store) -> None:
        """What is stored is what comes back, window, zone, pacing and times included."""
        campaign = rk.Campaign(
            name="Grudzień",
            channel=rk.Channel.SMS,
            sender="Sklep",
            subject="s",
            body="Oceń zakup {{ recipient.transaction_id }}",
            html="<p>x</p>",
            timezone="Europe/Warsaw",
            window=rk.SendWindow(
                weekdays="mon-fri",
                hours="09:00-12:00,13:00-17:00",
                holidays=rk.HolidayCalendar("PL", extra_dates={datetime(2026, 1, 2).date()}),  # noqa: DTZ001
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

    def test_missing_campaign_is_not_found(self, store: rk.Store) -> None:
        """Looking up an unknown name raises NotFoundError naming it."""
        with pytest.raises(rk.NotFoundError, match="nope"):
            store.get_campaign("nope")

    def test_save_bumps_version_and_refuses_stale(self, store: rk.Store) -> None:
        """Each save increments the version; saving from a stale copy is a conflict."""
        first = _campaign(store)
        second = store.save_campaign(first.edit(subject="x"))
        assert second.version == first.version + 1
        assert store.get_campaign(first.id).subject == "x"
        with pytest.raises(rk.ConflictError):
            store.save_campaign(first.edit(subject="y"))
        assert store.get_campaign(first.id).subject == "x"

    def test_rename_onto_taken_name_is_a_conflict(self, store: rk.Store) -> None:
        """Two campaigns never share a name, also after a rename."""
        _campaign(store, "a")
        b = _campaign(store, "b")
        with pytest.raises(rk.ConflictError, match="'a'"):
            store.save_campaign(b.edit(name="a"))

    def test_delete_removes_deliveries(self, store: rk.Store) -> None:
        """Deleting a campaign deletes its deliveries; a second delete is not found."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, 1)])
        d = next(store.iter_deliveries(c.id))
        store.delete_campaign(c.id)
        with pytest.raises(rk.NotFoundError):
            store.get_delivery(d.id)
        with pytest.raises(rk.NotFoundError):
            store.delete_campaign(c.id)

    def test_list_filters_by_status(self, store: rk.Store) -> None:
        """list_campaigns returns all, or only the statuses asked for."""
        a = _campaign(store, "a")
        _campaign(store, "b")
        store.save_campaign(a.apply(rk.CampaignEvent.CANCEL))
        assert {c.name for c in store.list_campaigns()} == {"a", "b"}
        assert [c.name for c in store.list_campaigns({rk.CampaignStatus.CANCELLED})] == ["a"]


class TestDeliveries:
    def test_duplicates_by_key_are_skipped(self, store: rk.Store) -> None:
        """The same campaign, channel and address (any case) is added once."""
        c = _campaign(store)
        assert store.add_deliveries([_delivery(c, 1), _delivery(c, 2)]) == 2
        twin = attrs.evolve(_delivery(c, 1), address="R1@EXAMPLE.COM")
        assert store.add_deliveries([twin, _delivery(c, 3)]) == 1
        assert store.count_deliveries(c.id)[D.PENDING] == 3

    def test_round_trip_and_insertion_order(self, store: rk.Store) -> None:
        """Deliveries come back equal, in the order they were added."""
        c = _campaign(store)
        made = [_delivery(c, n, due_at=NOW + timedelta(minutes=n)) for n in range(5)] + [
            rk.Delivery(
                campaign_id=c.id,
                recipient=rk.Recipient(
                    email="z@example.com",
                    phone="+48500100200",
                    name="Zoë",
                    timezone="Asia/Tokyo",
                    fields={"store": "Kraków", "vip": True, "n": 3},
                ),
                channel=rk.Channel.EMAIL,
                address="z@example.com",
                sender="complaints",
            )
        ]
        store.add_deliveries(made)
        assert list(store.iter_deliveries(c.id)) == made
        assert store.get_delivery(made[-1].id) == made[-1]

    def test_unknown_campaign_is_refused_and_nothing_added(self, store: rk.Store) -> None:
        """Deliveries for a campaign that does not exist are refused, none kept."""
        c = _campaign(store)
        ghost = attrs.evolve(_delivery(c, 9), campaign_id="ghost")
        with pytest.raises(rk.NotFoundError):
            store.add_deliveries([_delivery(c, 1), ghost])
        assert sum(store.count_deliveries(c.id).values()) == 0

    def test_set_status_by_ids_and_from_statuses(self, store: rk.Store) -> None:
        """Only matching deliveries change; the count says how many."""
        c = _campaign(store)
        ds = [_delivery(c, n) for n in range(4)]
        store.add_deliveries(ds)
        changed = store.set_delivery_status(
            c.id,
            ids=[ds[0].id, ds[1].id],
            from_statuses={D.PENDING},
            to_status=D.CANCELLED,
            error="removed",
        )
        assert changed == 2
        assert store.get_delivery(ds[0].id).last_error == "removed"
        assert store.set_delivery_status(c.id, from_statuses={D.SENT}, to_status=D.PENDING) == 0
        assert store.count_deliveries(c.id)[D.CANCELLED] == 2


class TestClaims:
    def test_claim_takes_due_oldest_first_up_to_limit(self, store: rk.Store) -> None:
        """Claims take due deliveries only, earliest due first, at most the limit."""
        c = _campaign(store)
        later = _delivery(c, 1, due_at=NOW + timedelta(hours=1))
        early = _delivery(c, 2, due_at=NOW - timedelta(hours=1))
        soon = _delivery(c, 3, due_at=NOW)
        store.add_deliveries([later, early, soon])
        got = store.claim_deliveries(
            c.id, now=NOW, limit=1, worker_id="w", lease_until=NOW + timedelta(minutes=5)
        )
        assert [d.id for d in got] == [early.id]
        assert got[0].status is D.CLAIMED
        assert got[0].claimed_by == "w"
        got = store.claim_deliveries(
            c.id, now=NOW, limit=10, worker_id="w", lease_until=NOW + timedelta(minutes=5)
        )
        assert [d.id for d in got] == [soon.id]
        assert store.next_due_at(c.id) == NOW + timedelta(minutes=5)

    def test_claim_order_is_due_time_then_insertion(self, store: rk.Store) -> None:
        """Requests without a due time come first, in the order added; then by due time,
        ties in the order added; an expired claim counts from its lease's end."""
        c = _campaign(store)
        # 6 is claimed by a worker whose lease ran out 20 minutes ago.
        store.add_deliveries([_delivery(c, 6, due_at=NOW - timedelta(hours=2))])
        store.claim_deliveries(
            c.id, now=NOW - timedelta(hours=1), limit=1, worker_id="gone",
            lease_until=NOW - timedelta(minutes=20),
        )  # fmt: skip
        store.add_deliveries(
            [
                _delivery(c, 1),
                _delivery(c, 2, due_at=NOW - timedelta(minutes=10)),
                _delivery(c, 3, due_at=NOW - timedelta(minutes=30)),
                _delivery(c, 4),
                _delivery(c, 5, due_at=NOW - timedelta(minutes=10)),
            ]
        )
        got = store.claim_deliveries(
            c.id, now=NOW, limit=10, worker_id="w", lease_until=NOW + timedelta(minutes=5)
        )
        numbers = [d.recipient.transaction_id for d in got]
        assert numbers == ["T1", "T4", "T3", "T6", "T2", "T5"]

    def test_renewal_extends_only_the_holders_claims(self, store: rk.Store) -> None:
        """A worker renews what it still holds, also after its lease ran out unnoticed;
        a claim another worker took over is not renewed and stays theirs."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, n) for n in range(3)])
        mine = store.claim_deliveries(
            c.id, now=NOW, limit=3, worker_id="a", lease_until=NOW + timedelta(seconds=5)
        )
        later = NOW + timedelta(seconds=10)  # a's lease ran out; b takes one over
        (taken,) = store.claim_deliveries(
            c.id, now=later, limit=1, worker_id="b", lease_until=later + timedelta(minutes=5)
        )
        ids = [d.id for d in mine]
        renewed = store.renew_leases(ids, worker_id="a", lease_until=later + timedelta(minutes=1))
        assert renewed == set(ids) - {taken.id}
        assert store.get_delivery(taken.id).claimed_by == "b"
        for delivery_id in renewed:
            assert store.get_delivery(delivery_id).lease_until == later + timedelta(minutes=1)
        assert (
            store.claim_deliveries(
                c.id, now=later, limit=3, worker_id="c", lease_until=later + timedelta(minutes=5)
            )
            == []
        )  # renewed claims are not due to anyone else
        assert store.renew_leases([], worker_id="a", lease_until=later) == set()

    def test_finish_records_outcome_once(self, store: rk.Store) -> None:
        """The holder records the outcome; a second finish is a lost lease."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, 1)])
        (d,) = store.claim_deliveries(
            c.id, now=NOW, limit=5, worker_id="w", lease_until=NOW + timedelta(minutes=5)
        )
        sent = store.finish_delivery(d.id, worker_id="w", status=D.SENT, now=NOW)
        assert (sent.status, sent.attempts, sent.sent_at, sent.claimed_by) == (D.SENT, 1, NOW, None)
        with pytest.raises(rk.LeaseLostError):
            store.finish_delivery(d.id, worker_id="w", status=D.FAILED, now=NOW)
        assert store.next_due_at(c.id) is None

    def test_released_delivery_is_due_again_at_its_new_time(self, store: rk.Store) -> None:
        """A retry puts the delivery back to pending, due at the backoff time."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, 1)])
        (d,) = store.claim_deliveries(
            c.id, now=NOW, limit=5, worker_id="w", lease_until=NOW + timedelta(minutes=5)
        )
        again = NOW + timedelta(minutes=2)
        back = store.finish_delivery(
            d.id, worker_id="w", status=D.PENDING, now=NOW, error="451", due_at=again
        )
        assert (back.status, back.attempts, back.due_at) == (D.PENDING, 1, again)
        assert store.next_due_at(c.id) == again
        assert (
            store.claim_deliveries(c.id, now=NOW, limit=5, worker_id="w", lease_until=again) == []
        )
        assert (
            len(store.claim_deliveries(c.id, now=again, limit=5, worker_id="w", lease_until=again))
            == 1
        )

    def test_finish_many_records_held_and_reports_lost(self, store: rk.Store) -> None:
        """Batch outcomes are recorded for held claims; others come back as lost."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, n) for n in range(3)])
        lease = NOW + timedelta(minutes=5)
        a, b = store.claim_deliveries(c.id, now=NOW, limit=2, worker_id="w", lease_until=lease)
        (other,) = store.claim_deliveries(c.id, now=NOW, limit=2, worker_id="x", lease_until=lease)
        lost = store.finish_deliveries(
            [
                rk.Outcome(delivery_id=a.id, status=D.SENT),
                rk.Outcome(delivery_id=b.id, status=D.PENDING, error="451", due_at=lease),
                rk.Outcome(delivery_id=other.id, status=D.SENT),
            ],
            worker_id="w",
            now=NOW,
        )
        assert lost == [other.id]
        assert store.get_delivery(a.id).status is D.SENT
        assert store.get_delivery(b.id).due_at == lease
        assert store.get_delivery(other.id).claimed_by == "x"


class TestPacing:
    def test_slots_are_taken_all_or_nothing(self, store: rk.Store) -> None:
        """Reserving several keys takes all of them, or reports when the busiest frees."""
        gap = timedelta(seconds=30)
        assert store.reserve_slots({"campaign:a": gap, "account:x": gap * 2}, now=NOW) is None
        later = NOW + gap
        # account:x is still busy: campaign:b must not be taken either.
        assert (
            store.reserve_slots({"campaign:b": gap, "account:x": gap}, now=later) == NOW + gap * 2
        )
        assert store.reserve_slots({"campaign:b": gap}, now=later) is None
        assert store.reserve_slots({"campaign:a": gap}, now=later) is None
        assert store.reserve_slots({"campaign:a": gap}, now=later) == later + gap


class TestTransactions:
    def test_exception_between_two_writes_rolls_both_back(self, store: rk.Store) -> None:
        """A failure inside a transaction leaves the store as it was before it."""
        c = _campaign(store)
        store.add_deliveries([_delivery(c, 1)])

        def interrupted() -> None:
            with store.transaction():
                store.save_campaign(c.edit(subject="changed"))
                store.add_deliveries([_delivery(c, 2)])
                raise RuntimeError("crash between writes")

        with pytest.raises(RuntimeError):
            interrupted()
        assert store.get_campaign(c.id).subject == ""
        assert store.get_campaign(c.id).version == c.version
        assert sum(store.count_deliveries(c.id).values()) == 1

    def test_service_call_interrupted_leaves_nothing_half_written(
        self,
        store: rk.Store,
        service: rk.CampaignService,
        actor: rk.Actor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Cancel changes the campaign and its deliveries together or not at all."""
        from .conftest import make_campaign

        make_campaign(service, actor)

        def boom(*args: object, **kwargs: object) -> int:
            raise RuntimeError("disk full")

        monkeypatch.setattr(store, "set_delivery_status", boom)
        with pytest.raises(RuntimeError):
            service.cancel(actor, "reviews")
        monkeypatch.undo()
        assert store.get_campaign("reviews").status is rk.CampaignStatus.SCHEDULED
        assert service.counts(actor, "reviews")[D.PENDING] == 3


@settings(max_examples=40)
@given(
    fields=st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.text(), st.integers(-(10**6), 10**6), st.booleans()),
        max_size=4,
    ),
    name=st.one_of(
        st.none(), st.text(max_size=30).filter(lambda s: "\r" not in s and "\n" not in s)
    ),
)
def test_sqlite_round_trips_any_recipient_data(
    tmp_path_factory: pytest.TempPathFactory, fields: dict[str, object], name: str | None
) -> None:
    """Whatever text and numbers a recipient carries come back unchanged from SQLite."""
    with SQLiteStore(tmp_path_factory.mktemp("db") / "r.sqlite3") as store:
        c = _campaign(store)
        d = rk.Delivery(
            campaign_id=c.id,
            recipient=rk.Recipient(email="a@example.com", name=name, fields=fields),
            channel=rk.Channel.EMAIL,
            address="a@example.com",
        )
        store.add_deliveries([d])
        assert store.get_delivery(d.id) == d


class TestSQLiteSpecifics:
    """What only a file database has: persistence, a schema version, WAL."""

    def test_data_survives_reopening(self, tmp_path: Path) -> None:
        """A second store on the same file sees what the first wrote."""
        path = tmp_path / "db.sqlite3"
        with SQLiteStore(path) as first:
            c = _campaign(first)
            first.add_deliveries([_delivery(c, 1)])
        with SQLiteStore(path) as second:
            assert second.get_campaign("c").id == c.id
            assert second.count_deliveries(c.id)[D.PENDING] == 1
            assert second.schema_version == SCHEMA_VERSION

    def test_older_schema_is_upgraded_keeping_its_data(self, tmp_path: Path) -> None:
        """A file at schema 1 is migrated to the current version with its rows intact."""
        from reviewkit.adapters.sqlite.store import _migrations, _statements

        path = tmp_path / "old.sqlite3"
        with sqlite3.connect(path) as raw:
            for statement in _statements(_migrations()[0][1]):
                raw.execute(statement)
            raw.execute("PRAGMA user_version = 1")
            raw.execute(
                "INSERT INTO campaigns (id, name, status, version, data) VALUES (?, ?, ?, ?, ?)",
                (
                    "c1",
                    "old",
                    "draft",
                    1,
                    json.dumps(unstructure(rk.Campaign(id="c1", name="old"))),
                ),
            )
            # Schema 1 was unique per address: two orders of one customer, and one order
            # sent to two addresses, could both be stored. Schema 5 must keep all four rows.
            rows = [
                ("d1", "a@example.com", "O-1", "sent", 1_000_000),
                ("d2", "b@example.com", "O-1", "pending", None),
                ("d3", "c@example.com", "O-2", "pending", None),
                ("d4", "d@example.com", None, "failed", None),
            ]
            for id_, address, order, status, sent in rows:
                raw.execute(
                    "INSERT INTO deliveries (id, campaign_id, channel, address, address_key, "
                    "status, email, transaction_id, sent_at) "
                    "VALUES (?, 'c1', 'email', ?, ?, ?, ?, ?, ?)",
                    (id_, address, address, status, address, order, sent),
                )
        with SQLiteStore(path) as store:
            assert store.schema_version == SCHEMA_VERSION >= 5
            assert store.get_campaign("old").id == "c1"
            assert store.get_suppression(rk.Channel.EMAIL, "x@example.com") is None
            kept = {d.id: d for d in store.iter_deliveries("c1")}
            assert sorted(kept) == ["d1", "d2", "d3", "d4"]
            assert kept["d1"].sent_at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
            assert kept["d1"].scheduled_at == kept["d1"].sent_at
            assert kept["d4"].category is rk.RequestCategory.UNDELIVERED
            # O-2 was unique: importing it again adds nothing; O-1 was split, keyed by address.
            again = rk.Delivery(
                campaign_id="c1",
                recipient=rk.Recipient(email="z@example.com", transaction_id="O-2"),
                channel=rk.Channel.EMAIL,
                address="z@example.com",
            )
            assert store.add_deliveries([again]) == 0

    def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        """A database from a newer reviewkit is an error, never silently downgraded."""
        path = tmp_path / "db.sqlite3"
        SQLiteStore(path).close()
        with sqlite3.connect(path) as raw:
            raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        with pytest.raises(StorageError, match="newer than this reviewkit"):
            SQLiteStore(path)

    def test_not_a_database_is_a_clear_error(self, tmp_path: Path) -> None:
        """A file that is not SQLite is refused with its path."""
        path = tmp_path / "notes.txt"
        path.write_text("hello" * 100)
        with pytest.raises(StorageError, match=r"notes\.txt"):
            SQLiteStore(path)

    def test_wal_and_foreign_keys_are_on(self, tmp_path: Path) -> None:
        """The file is in WAL mode and enforces foreign keys."""
        with SQLiteStore(tmp_path / "db.sqlite3") as store:
            assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1

    def test_due_query_uses_the_index(self, tmp_path: Path) -> None:
        """Claiming reads the partial due index, not the whole table."""
        from reviewkit.adapters.sqlite import queries

        with SQLiteStore(tmp_path / "db.sqlite3") as store:
            plan = store._db.execute(
                "EXPLAIN QUERY PLAN " + queries.DUE_FOR_CLAIM,
                {"campaign": "c", "now": 0, "limit": 10},
            ).fetchall()
            assert any("deliveries_due" in row[-1] for row in plan), plan
            assert not any("TEMP B-TREE" in row[-1] for row in plan), plan
            plan = store._db.execute(
                "EXPLAIN QUERY PLAN " + queries.CLAIM_DELIVERIES,
                {"worker": "w", "lease": 0, "seqs": "[1, 2]"},
            ).fetchall()
            assert not any(row[-1].startswith("SCAN deliveries") for row in plan), plan
