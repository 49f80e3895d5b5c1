"""The storage contract (:class:`reviewkit.testing.StoreContract`) run on every store
reviewkit ships, and what only SQLite has."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SCHEMA_VERSION, SQLiteStore
from reviewkit.adapters.sqlite.store import StorageError
from reviewkit.serialization import unstructure
from reviewkit.testing import StoreContract

D = rk.RequestStatus
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _campaign(store: rk.Store, name: str = "c") -> rk.Campaign:
    return store.add_campaign(rk.Campaign(name=name, created_at=NOW))


def _request(campaign: rk.Campaign, n: int, **kw: object) -> rk.Request:
    recipient = rk.Recipient(email=f"r{n}@example.com", transaction_id=f"T{n}")
    return rk.Request(
        campaign_id=campaign.id,
        recipient=recipient,
        channel=rk.Channel.EMAIL,
        address=recipient.email or "",
        **kw,  # type: ignore[arg-type]
    )


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> rk.Store:
        return rk.InMemoryStore()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[rk.Store]:
        with SQLiteStore(tmp_path / "contract.sqlite3") as store:
            yield store


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[rk.Store]:
        from reviewkit.adapters.postgres import PostgresStore

        with PostgresStore(postgres_url, pool_size=2) as store:
            yield store


def test_service_call_interrupted_leaves_nothing_half_written(
    store: rk.Store,
    service: rk.CampaignService,
    actor: rk.Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancel changes the campaign and its requests together or not at all."""
    from .conftest import make_campaign

    make_campaign(service, actor)

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "set_request_status", boom)
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
        st.none(), st.text(max_size=30).filter(lambda s: not any(c in s for c in "\r\n\x00"))
    ),
)
def test_sqlite_round_trips_any_recipient_data(
    tmp_path_factory: pytest.TempPathFactory, fields: dict[str, object], name: str | None
) -> None:
    """Whatever text and numbers a recipient carries come back unchanged from SQLite."""
    with SQLiteStore(tmp_path_factory.mktemp("db") / "r.sqlite3") as store:
        c = _campaign(store)
        d = rk.Request(
            campaign_id=c.id,
            recipient=rk.Recipient(email="a@example.com", name=name, fields=fields),
            channel=rk.Channel.EMAIL,
            address="a@example.com",
        )
        store.add_requests([d])
        assert store.get_request(d.id) == d


class TestSQLiteSpecifics:
    """What only a file database has: persistence, a schema version, WAL."""

    def test_a_transaction_a_signal_left_open_does_not_block_the_next_call(
        self, tmp_path: Path
    ) -> None:
        """A signal between BEGIN and the code that would roll it back (SIGTERM mid-batch)
        leaves a transaction open; the next call rolls it back and goes on."""
        with SQLiteStore(tmp_path / "r.sqlite3") as store:
            c = _campaign(store)
            store._db.execute("BEGIN IMMEDIATE")  # what the interrupted call left behind
            store._db.execute("DELETE FROM campaigns")  # half of something, never committed
            store.add_requests([_request(c, 1)])
            assert store.count_requests(c.id)[D.PENDING] == 1
            # A write of one statement (an outcome) outside a transaction commits too.
            store._db.execute("BEGIN IMMEDIATE")
            (claimed,) = store.claim_requests(
                c.id, now=NOW, limit=1, worker_id="w", lease_until=NOW.replace(year=2027)
            )
            store._db.execute("BEGIN IMMEDIATE")
            outcome = rk.Outcome(request_id=claimed.id, status=D.SENT)
            assert store.finish_requests([outcome], worker_id="w", now=NOW) == []
        with SQLiteStore(tmp_path / "r.sqlite3") as again:
            assert again.get_campaign("c").id == c.id
            assert again.count_requests(c.id)[D.SENT] == 1

    def test_data_survives_reopening(self, tmp_path: Path) -> None:
        """A second store on the same file sees what the first wrote."""
        path = tmp_path / "db.sqlite3"
        with SQLiteStore(path) as first:
            c = _campaign(first)
            first.add_requests([_request(c, 1)])
        with SQLiteStore(path) as second:
            assert second.get_campaign("c").id == c.id
            assert second.count_requests(c.id)[D.PENDING] == 1
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
            kept = {d.id: d for d in store.iter_requests("c1")}
            assert sorted(kept) == ["d1", "d2", "d3", "d4"]
            assert kept["d1"].sent_at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
            assert kept["d1"].scheduled_at == kept["d1"].sent_at
            assert kept["d4"].category is rk.RequestCategory.UNDELIVERED
            # O-2 was unique: importing it again adds nothing; O-1 was split, keyed by address.
            again = rk.Request(
                campaign_id="c1",
                recipient=rk.Recipient(email="z@example.com", transaction_id="O-2"),
                channel=rk.Channel.EMAIL,
                address="z@example.com",
            )
            assert store.add_requests([again]) == 0

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
                "EXPLAIN QUERY PLAN " + queries.CLAIM_REQUESTS,
                {"worker": "w", "lease": 0, "seqs": "[1, 2]"},
            ).fetchall()
            assert not any(row[-1].startswith("SCAN deliveries") for row in plan), plan


class TestQueriesFile:
    """Every statement of the SQLite store lives in queries.sql: named, described, used."""

    def test_every_block_is_described_and_used(self) -> None:
        from reviewkit.adapters import relational
        from reviewkit.adapters.sqlite import queries, store

        source = Path(store.__file__).read_text(encoding="utf-8")
        source += Path(relational.__file__).read_text(encoding="utf-8")
        used = {name.lower() for name in re.findall(r"\b_?q\.([A-Z_]+)\b", source)}
        assert used <= set(queries.STATEMENTS), used - set(queries.STATEMENTS)
        assert set(queries.STATEMENTS) <= used, set(queries.STATEMENTS) - used
        for name, description in queries.DESCRIPTIONS.items():
            assert len(description) > 10, name
        # No statement text is written in the store's code itself.
        assert not re.search(r'"(SELECT|UPDATE|INSERT|DELETE) ', source)

    def test_every_statement_is_valid_sql_for_the_schema(self, tmp_path: Path) -> None:
        from reviewkit.adapters.sqlite import queries

        fills = {
            "marks": "?",
            "column": "opened_at",
            "opened": "",
            "time": "scheduled_at",
            "where": "1",
            "filters": "",
            "group": "a.channel",
            "group_match": "a.channel IS :group",
            "join": "",
        }
        SQLiteStore(tmp_path / "r.sqlite3").close()
        with sqlite3.connect(tmp_path / "r.sqlite3") as raw:
            for sql in queries.STATEMENTS.values():
                filled = sql.format(**fills)
                raw.execute("EXPLAIN " + filled, _no_params(filled))


def _no_params(sql: str) -> dict[str, None] | list[None]:
    named = re.findall(r":(\w+)", sql)
    if named:
        return dict.fromkeys(named)
    return [None] * sql.count("?")
